import { describe, expect, it } from 'vitest';
import { Scope, ScopeCloseError } from '../../harness/host/scope.ts';

describe('cleanup scope', () => {
  it('disposes in reverse order, goes on past failures, and reports every failure', async () => {
    const order: string[] = [];
    const scope = new Scope('t');
    scope.defer('first', () => void order.push('first'));
    scope.defer('broken', () => {
      order.push('broken');
      throw new Error('boom');
    });
    const child = scope.child('inner');
    child.defer('inner', async () => {
      order.push('inner');
      throw new Error('inner boom');
    });
    scope.defer('last', () => void order.push('last'));
    const err = await scope.close().catch((e: unknown) => e);
    expect(order).toEqual(['last', 'inner', 'broken', 'first']);
    expect(err).toBeInstanceOf(ScopeCloseError);
    expect((err as ScopeCloseError).errors.map((e) => e.label)).toEqual(['inner', 'broken']);
  });

  it('runs once, however often it is closed', async () => {
    let n = 0;
    const scope = new Scope('once');
    scope.defer('count', () => void n++);
    await Promise.all([scope.close(), scope.close()]);
    await scope.close();
    expect(n).toBe(1);
  });

  it('releases a resource registered after closing began instead of leaking it', async () => {
    const scope = new Scope('late');
    await scope.close();
    let released = false;
    scope.defer('late', () => {
      released = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(released).toBe(true);
  });
});
