/*
 * Deadlines due when armed fire within the turn (src/internal/timer-heap.ts), and a gevent pass
 * serves waiters through switches (src/internal/scheduler.ts): neither may keep Node's loop from
 * its I/O and immediates. A program that re-arms a zero timer from its own callback, or two
 * greenlets that ping-pong through queues forever, still let a socket's data in.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { getRunningLoop, run } from '../../src/asyncio/index.js';
import { Queue, sleep, spawn, Timeout } from '../../src/gevent/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** Runs `body` while one byte is on its way over a local socket; `arrived()` says if it has. */
async function withByteInFlight(body: (arrived: () => boolean) => Promise<void>): Promise<void> {
  let arrived = false;
  const server = net.createServer((s) => {
    s.on('data', () => {
      arrived = true;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => client.on('connect', resolve));
  client.write('x');
  try {
    await body(() => arrived);
  } finally {
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('callLater(0) re-armed from its own callback 10,000 times lets socket data and setImmediate through', async () => {
  await run(async () => {
    await withByteInFlight(async (arrived) => {
      const loop = getRunningLoop();
      let n = 0;
      let immediateAt = -1;
      let dataAt = -1;
      setImmediate(() => {
        immediateAt = n;
      });
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          n++;
          if (dataAt < 0 && arrived()) dataAt = n;
          if (n < 10_000) loop.callLater(0, tick);
          else resolve();
        };
        loop.callLater(0, tick);
      });
      assert.ok(immediateAt >= 0 && immediateAt < 10_000, `setImmediate ran at ${immediateAt}`);
      assert.ok(dataAt >= 0 && dataAt < 10_000, `the data arrived at ${dataAt}`);
    });
  });
});

test('two greenlets ping-ponging through queues let socket data through', async () => {
  await withByteInFlight(async (arrived) => {
    const ping = new Queue<number>();
    const pong = new Queue<number>();
    let dataAt = -1;
    const a = spawn(async () => {
      for (;;) {
        const x = await ping.get();
        if (dataAt < 0 && arrived()) dataAt = x;
        if (x >= 20_000) return;
        await pong.put(x + 1);
      }
    });
    const b = spawn(async () => {
      for (;;) await ping.put((await pong.get()) + 1);
    });
    await ping.put(0);
    await a.join();
    await b.kill();
    assert.ok(dataAt >= 0 && dataAt < 20_000, `the data arrived at ${dataAt}`);
  });
});

test('a Timeout(0) armed again after each expiry lets socket data through', async () => {
  await withByteInFlight(async (arrived) => {
    let dataAt = -1;
    let expired = 0;
    const g = spawn(async () => {
      for (let i = 0; i < 2000; i++) {
        try {
          using _t = new Timeout(0).start();
          await sleep(5);
        } catch (e) {
          if (!(e instanceof Timeout)) throw e;
          expired++;
        }
        if (dataAt < 0 && arrived()) dataAt = i;
      }
    });
    await g.get();
    assert.equal(expired, 2000);
    assert.ok(dataAt >= 0 && dataAt < 2000, `the data arrived at ${dataAt}`);
  });
});
