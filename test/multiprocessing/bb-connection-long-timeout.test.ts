/**
 * A timeout past Node's longest timer (2^31 − 1 ms, some 24.8 days) waits, as Python's does and
 * as docs/multiprocessing.md says of every timeout. A Listener/Client Connection's `poll(t)` and
 * `wait(objects, { timeout: t })` armed a plain setTimeout, which Node fires after 1 ms with a
 * TimeoutOverflowWarning: `poll(3e9)` answered false at once, and `wait` gave [] at once. (A Pipe
 * end's poll times out in the broker, which had long timers already.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client, Listener, wait } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { pendingAfter } from '../support/settles.js';

checkLeaks({ graceMs: 3000 });

const LONG = 3_000_000_000;

/** Runs `body` and asserts that no process warning (TimeoutOverflowWarning) was emitted. */
async function noWarning(body: () => Promise<void>): Promise<void> {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };
  process.on('warning', onWarning);
  try {
    await body();
    // A warning is emitted on the next tick after the timer is armed.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
}

async function connected(): Promise<{
  listener: Listener;
  client: Awaited<ReturnType<typeof Client>>;
  server: Awaited<ReturnType<Listener['accept']>>;
}> {
  const listener = new Listener(['127.0.0.1', 0]);
  const client = await Client(listener.address);
  const server = await listener.accept();
  return { listener, client, server };
}

describe('Listener/Client timeouts past 2^31 − 1 ms', () => {
  test('poll(3e9) waits for the message, not 1 ms, and warns of nothing', async () => {
    const { listener, client, server } = await connected();
    try {
      await noWarning(async () => {
        const polled = server.poll(LONG);
        assert.equal(await pendingAfter(polled, 200), true, 'poll(3e9) answered at once');
        client.send('now');
        assert.equal(await polled, true);
        assert.equal(await server.recv(), 'now');
      });
    } finally {
      client.close();
      server.close();
      listener.close();
    }
  });

  test('wait([conn], { timeout: 3e9 }) waits for the message, not 1 ms', async () => {
    const { listener, client, server } = await connected();
    try {
      await noWarning(async () => {
        const waited = wait([server], { timeout: LONG });
        assert.equal(await pendingAfter(waited, 200), true, 'wait gave [] at once');
        client.send(1);
        assert.deepEqual(await waited, [server]);
      });
    } finally {
      client.close();
      server.close();
      listener.close();
    }
  });

  test('wait([], { timeout: 3e9 }) sleeps until its signal aborts it', async () => {
    await noWarning(async () => {
      const ac = new AbortController();
      const waited = wait([], { timeout: LONG, signal: ac.signal });
      assert.equal(await pendingAfter(waited, 200), true, 'wait([]) ended at once');
      const reason = new Error('enough');
      ac.abort(reason);
      await assert.rejects(waited, (e) => e === reason);
    });
  });
});
