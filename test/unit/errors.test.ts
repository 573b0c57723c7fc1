// The one error hierarchy: every failure maps to its exit code (a guest, a tool or a budget is not
// "a bug in iopath"), and what a user reads is a message, never a stack trace.

import { describe, expect, it } from 'vitest';
import { CommandError, describeError, errorDetail, ExitCode, exitCodeOf, GuestError, HostError, InternalError, IopathError, ParseError, TimeoutError, ToolError, UsageError } from '../../harness/errors.ts';
import { ScopeCloseError } from '../../harness/host/scope.ts';
import { MemoryTableError } from '../../harness/vhost-user/memory.ts';
import { ProtocolViolation } from '../../harness/vhost-user/protocol/codec.ts';
import { RingBroken } from '../../harness/vhost-user/ring-abi.ts';

describe('exit codes by class', () => {
  it.each([
    [new UsageError('x'), ExitCode.usage],
    [new HostError('x'), ExitCode.host],
    [new GuestError('guest a did not become ready'), ExitCode.guest],
    [new ToolError('testpmd exited'), ExitCode.tool],
    [new CommandError(['perf', 'stat'], 1, null, 'oops'), ExitCode.tool],
    [new ParseError('iperf3 JSON', 'no end', '{'), ExitCode.tool],
    [new TimeoutError('boot of guest a', 20_000), ExitCode.timeout],
    [new ScopeCloseError('run r', [{ label: 'qemu a', error: new Error('survived') }]), ExitCode.host],
    [new ProtocolViolation('bad header'), ExitCode.guest],
    [new MemoryTableError('overlap'), ExitCode.guest],
    [new RingBroken('loop'), ExitCode.guest],
    [new InternalError('stop() without start()'), ExitCode.internal],
    [new TypeError('x is undefined'), ExitCode.internal],
  ] as const)('%s -> %i', (err, code) => {
    expect(exitCodeOf(err)).toBe(code);
    if (code !== ExitCode.internal || err instanceof InternalError) expect(err).toBeInstanceOf(IopathError);
  });
});

describe('messages and detail', () => {
  it('a message with its fix for the user; an unexpected error named by its class; never a stack', () => {
    expect(describeError(new HostError('no /dev/net/tun', 'modprobe tun'))).toBe('no /dev/net/tun\n  fix: modprobe tun');
    const plain = new TypeError("Cannot read properties of undefined (reading 'p50')");
    expect(describeError(plain)).toBe("TypeError: Cannot read properties of undefined (reading 'p50')");
    expect(describeError(new Error('boom'))).toBe('unexpected error: boom');
    expect(describeError(plain)).not.toMatch(/\n\s+at /);
  });

  it('the detail for a log has the stack and every cause', () => {
    const err = new TimeoutError('tcp-stream-rep0', 34_000, new GuestError('guest b: control channel closed'));
    const text = errorDetail(err);
    expect(text).toMatch(/^TimeoutError: tcp-stream-rep0 did not finish within 34\.0 s\n\s+at /);
    expect(text).toMatch(/caused by:\nGuestError: guest b: control channel closed\n\s+at /);
  });
});
