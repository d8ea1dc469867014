import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ThreadPoolExecutor } from '../../src/futures/index.js';
import {
  Lock,
  MAX_STACK_SIZE,
  MIN_STACK_SIZE,
  stackSize,
  Thread,
  TIMEOUT_MAX,
  Timer,
  Value,
} from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';
import { depthInto, recursionDepth, releaseLock, setStackSize } from './fixtures/stack-targets.js';

checkLeaks();

const MiB = 1024 * 1024;

// The setting is process-wide: every test leaves Node's default behind it.
afterEach(() => {
  stackSize(0);
});

async function threadDepth(): Promise<number> {
  const out = Value('i', 0);
  const t = new Thread({ target: depthInto, args: [out] });
  t.start();
  await t.join();
  return out.value;
}

describe('threading.stackSize', () => {
  test('reads 0 (Node default) at first; a set returns the size it replaces, as Python', () => {
    assert.equal(stackSize(), 0);
    assert.equal(stackSize(MiB), 0);
    assert.equal(stackSize(), MiB);
    assert.equal(stackSize(MIN_STACK_SIZE), MiB);
    assert.equal(stackSize(0), MIN_STACK_SIZE);
    assert.equal(stackSize(), 0);
  });

  test('bad sizes are refused with typed errors and change nothing', () => {
    stackSize(2 * MiB);
    for (const bad of [1.5, Number.NaN, '1048576', null, 10n]) {
      assert.throws(() => stackSize(bad as unknown as number), TypeError, String(bad));
    }
    assert.throws(() => stackSize(-1), {
      name: 'RangeError',
      message: /0 \(Node's default\) or a positive number of bytes: received -1/,
    });
    // Python's own minimum, 32 KiB, is too small for a Node worker's start-up.
    for (const bad of [1000, 32768, MIN_STACK_SIZE - 1, MAX_STACK_SIZE + 1, 8 * 1024 * MiB]) {
      assert.throws(() => stackSize(bad), { name: 'RangeError', message: /size not valid/ });
    }
    assert.equal(stackSize(), 2 * MiB);
  });

  test('the threads started afterwards get that stack: a smaller one recurses less deep', async () => {
    stackSize(MIN_STACK_SIZE);
    const small = await threadDepth();
    stackSize(8 * MiB);
    const large = await threadDepth();
    stackSize(0);
    const byDefault = await threadDepth();
    assert.ok(small > 0, 'a thread with the smallest stack starts and runs');
    assert.ok(small * 4 < large, `512 KiB: ${small} frames, 8 MiB: ${large}`);
    // Node's default is 4 MiB: between the two.
    assert.ok(small < byDefault && byDefault < large, `default: ${byDefault}`);
  });

  test("a thread pool's workers take it too, unless the executor names its own stack", async () => {
    stackSize(MIN_STACK_SIZE);
    let small: number;
    let own: number;
    {
      await using ex = new ThreadPoolExecutor({ maxWorkers: 1 });
      small = await ex.submit(recursionDepth).result();
    }
    {
      await using ex = new ThreadPoolExecutor({
        maxWorkers: 1,
        resourceLimits: { stackSizeMb: 8 },
      });
      own = await ex.submit(recursionDepth).result();
    }
    assert.ok(small * 4 < own, `stackSize 512 KiB: ${small} frames, executor's 8 MiB: ${own}`);
  });

  test('one setting for the process: a thread that sets it changes the later starts of every thread', async () => {
    stackSize(3 * MiB);
    const out = Value('i', -1);
    const t = new Thread({ target: setStackSize, args: [MiB, out] });
    t.start();
    await t.join();
    assert.equal(out.value, 3 * MiB, 'the thread read the main thread’s setting');
    assert.equal(stackSize(), MiB, 'the main thread reads the thread’s setting');
  });
});

describe('threading.TIMEOUT_MAX', () => {
  test('a wait given TIMEOUT_MAX waits as long as it takes', async () => {
    assert.equal(TIMEOUT_MAX, Number.POSITIVE_INFINITY);
    const lock = new Lock();
    lock.acquireSync();
    // Released from a timer thread a little later: a timeout that had overflowed (a number past
    // Node's 2^31 − 1 ms timer limit fires at once) would give up first.
    const t = new Timer(50, releaseLock, [lock]);
    t.start();
    assert.equal(await lock.acquire({ timeout: TIMEOUT_MAX }), true);
    lock.release();
    await t.join();
  });
});
