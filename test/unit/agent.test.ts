// The guest agent client against a scripted peer on a real UNIX socket: the peer plays the guest,
// including the noise and hostile replies a guest could send.
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Scope } from '../../harness/host/scope.ts';
import { listenForAgent, type GuestAgent } from '../../harness/vm/agent.ts';
import { GuestError, TimeoutError } from '../../harness/errors.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
let scope: Scope;

async function pair(): Promise<{ agent: GuestAgent; guest: Socket; requests: string[] }> {
  scope = new Scope('agent-test');
  const path = join(mkdtempSync(join(tmpdir(), 'iopath-agent-')), 'a.sock');
  const listener = listenForAgent(scope, path, 'a');
  const guest = connect(path);
  const agent = await listener.accept(scope);
  const requests: string[] = [];
  let buf = '';
  guest.setEncoding('utf8');
  guest.on('data', (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      requests.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      guest.emit('request', requests.at(-1));
    }
  });
  return { agent, guest, requests };
}

afterEach(async () => {
  await scope?.close();
});

describe('guest agent client', () => {
  it('waits for ready, ignores console noise and decodes both output streams', async () => {
    const { agent, guest } = await pair();
    guest.write('garbage before the agent started\r\n@@iopath ready 6.1.0-test\n');
    expect(await agent.ready(1000)).toBe('6.1.0-test');
    guest.on('request', (line: string) => {
      const [id] = line.split(' ');
      guest.write(`noise\n@@iopath ${id} out\n${b64('hello\n')}\n@@iopath ${id} err\n${b64('warn')}\n@@iopath ${id} end 3\n`);
    });
    const r = await agent.exec(['echo', 'hello'], 5);
    expect(r).toEqual({ stdout: 'hello\n', stderr: 'warn', status: 3 });
    expect(agent.noise).toContain('garbage before the agent started');
  });

  it('sends one request at a time and numbers them', async () => {
    const { agent, guest, requests } = await pair();
    guest.on('request', (line: string) => {
      const [id] = line.split(' ');
      setTimeout(() => guest.write(`@@iopath ${id} out\n${b64(id!)}\n@@iopath ${id} end 0\n`), 5);
    });
    const [first, second, pid] = await Promise.all([agent.exec(['true'], 5), agent.exec(['true'], 5), agent.spawn(['iperf3', '--server'])]);
    expect([first.stdout, second.stdout]).toEqual(['1', '2']);
    expect(pid).toBe(3);
    expect(requests).toEqual(['1 exec 5 true', '2 exec 5 true', '3 spawn iperf3 --server']);
  });

  it('refuses arguments that the agent could misread', async () => {
    const { agent } = await pair();
    await expect(agent.exec(['sh', '-c', 'rm -rf /'], 5)).rejects.toThrow(/cannot be sent to the guest agent/);
    await expect(agent.exec(['echo', 'a;b'], 5)).rejects.toThrow(GuestError);
  });

  it('fails a reply that is not base64, and the channel with it', async () => {
    const { agent, guest } = await pair();
    guest.on('request', (line: string) => {
      const [id] = line.split(' ');
      guest.write(`@@iopath ${id} out\n<script>\n@@iopath ${id} end 0\n`);
    });
    await expect(agent.exec(['true'], 5)).rejects.toThrow(/not base64/);
  });

  it('marks the channel broken when the guest never answers', async () => {
    const { agent } = await pair();
    // The request gives up after its time limit and 15 s of grace for the channel. The clock is
    // faked from here so the test need not sit through the grace in real time: 60 s of it pass,
    // and the request must have failed within them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const started = Date.now();
      let failedAt: number | undefined;
      const request = agent.exec(['sleep', '1'], 0.001).then(
        () => undefined,
        (e: unknown) => {
          failedAt = Date.now();
          return e;
        },
      );
      await vi.advanceTimersByTimeAsync(60_000);
      expect(failedAt, 'the request had not failed after 60 s').toBeDefined();
      await expect(request).resolves.toBeDefined();
      expect(agent.broken).toBeInstanceOf(Error);
      expect(failedAt! - started).toBeLessThan(60_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails waiting callers when the guest goes away', async () => {
    const { agent, guest } = await pair();
    const ready = agent.ready(10_000);
    guest.destroy();
    await expect(ready).rejects.toThrow(/control channel closed/);
    await expect(agent.exec(['true'], 1)).rejects.toThrow(/control channel closed/);
  });

  it('times out ready with a TimeoutError', async () => {
    const { agent } = await pair();
    await expect(agent.ready(50)).rejects.toBeInstanceOf(TimeoutError);
  });
});
