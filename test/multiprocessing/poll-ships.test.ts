/**
 * A thread that puts items and then polls shared memory in a synchronous loop (no turn of its
 * event loop ends) still sends those items: the process it waits for may be waiting for them, as
 * Python's feeder thread sends them meanwhile. Each kind of read a program polls is covered: a
 * Value's `.value` and `get()`, an Array's items, a Semaphore's value and a try-acquire, a Lock's
 * try-acquire, a ShareableList's item, a SharedMemory's `buf`. Before the reads shipped what
 * was queued, each of these loops ran to its deadline with the child still waiting for the second
 * item. The runner runs this file again with WEFT_LOCK_SLAB=0.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Lock,
  Process,
  Queue,
  RawArray,
  RawValue,
  Semaphore,
  ShareableList,
  Array as SharedArray,
  SharedMemory,
  Value,
} from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { shmExpected } from '../support/slab.js';
import { type Mark, takeOneThenSet, takeTwoThenMark } from './fixtures/poll-ships-targets.js';

checkLeaks({ graceMs: 3000 });

/** A ShareableList lives in a SharedMemory block, and SharedMemory cannot exist without these. */
const noShm = !shmExpected && 'no shm addon or /dev/shm (SharedMemory needs them)';

const PATIENCE = 30_000;
/** How long a poll may wait for the child before it counts as held back. */
const POLL_MS = 20_000;

/**
 * Starts the child, waits for its 'ready', then, within one turn, puts two items and polls with
 * `poll` (`spin` or `spinAwaits`) until the child's mark shows or POLL_MS pass; the poll must see
 * the mark.
 */
async function putsThenPoll(
  mark: Mark,
  poll: (until: number) => boolean | Promise<boolean>,
  after: () => void = () => {},
): Promise<void> {
  const q = new Queue<string>();
  const out = new Queue<string>();
  const p = new Process({ target: takeTwoThenMark, args: [q, out, mark] });
  p.start();
  try {
    assert.equal(await out.get({ timeout: PATIENCE }), 'ready');
    q.put('a');
    q.put('b');
    const saw = await poll(Date.now() + POLL_MS);
    assert.equal(saw, true, 'the poll saw the child’s change (it had both items)');
    after();
  } finally {
    await p.join({ timeout: PATIENCE });
  }
  assert.equal(p.exitcode, 0);
}

/** A synchronous loop over `seen`: no turn of the event loop ends while it runs. */
const spin =
  (seen: () => boolean) =>
  (until: number): boolean => {
    let saw = false;
    while (!saw && Date.now() < until) saw = seen();
    return saw;
  };

/** A loop of awaits of an async read, which never ends a turn either. */
const spinAwaits =
  (seen: () => Promise<boolean>) =>
  async (until: number): Promise<boolean> => {
    let saw = false;
    while (!saw && Date.now() < until) saw = await seen();
    return saw;
  };

describe('a poll of shared memory sends what this thread queued', () => {
  test('Value.value', async () => {
    const v = Value('i', 0);
    await putsThenPoll(
      { kind: 'value', v },
      spin(() => v.value !== 0),
    );
  });

  test('RawValue.value', async () => {
    const v = RawValue('d', 0);
    await putsThenPoll(
      { kind: 'value', v },
      spin(() => v.value !== 0),
    );
  });

  test('Value.get() awaited in a loop', async () => {
    const v = Value('i', 0);
    await putsThenPoll(
      { kind: 'value', v },
      spinAwaits(async () => (await v.get()) !== 0),
    );
  });

  test('Array.getSync', async () => {
    const a = SharedArray('i', 4);
    await putsThenPoll(
      { kind: 'array', a },
      spin(() => a.getSync(2) !== 0),
    );
  });

  test('RawArray.sliceSync and toArraySync', async () => {
    const a = RawArray('q', 4);
    let k = 0;
    await putsThenPoll(
      { kind: 'array', a },
      spin(() => (k++ % 2 === 0 ? a.sliceSync(2, 3)[0] !== 0 : a.toArraySync()[2] !== 0)),
    );
  });

  test('Array.get() awaited in a loop', async () => {
    const a = SharedArray('i', 4);
    await putsThenPoll(
      { kind: 'array', a },
      spinAwaits(async () => (await a.get(2)) !== 0),
    );
  });

  test('Semaphore.getValue', async () => {
    const s = new Semaphore(0);
    await putsThenPoll(
      { kind: 'sem', s },
      spin(() => s.getValue() !== 0),
    );
  });

  test('Semaphore.acquireSync({ blocking: false })', async () => {
    const s = new Semaphore(0);
    await putsThenPoll(
      { kind: 'sem', s },
      spin(() => s.acquireSync({ blocking: false })),
    );
    assert.equal(s.getValue(), 0, 'the poll took the permit');
  });

  test('Lock.acquireSync({ blocking: false })', async () => {
    const l = new Lock();
    await putsThenPoll(
      { kind: 'lock', l },
      spin(() => l.acquireSync({ blocking: false })),
      () => l.release(),
    );
  });

  test('Lock.acquire({ blocking: false }) awaited in a loop', async () => {
    const l = new Lock();
    await putsThenPoll(
      { kind: 'lock', l },
      spinAwaits(async () => {
        const got = await l.acquire({ blocking: false });
        if (got) l.release();
        return got;
      }),
    );
  });

  test('ShareableList.get', { skip: noShm }, async () => {
    const sl = new ShareableList([0, 0]);
    try {
      await putsThenPoll(
        { kind: 'list', sl },
        spin(() => sl.get(0) !== 0),
      );
    } finally {
      sl.shm.close();
      sl.shm.unlink();
    }
  });

  test('SharedMemory.buf', { skip: noShm }, async () => {
    const m = new SharedMemory({ create: true, size: 8 });
    try {
      await putsThenPoll(
        { kind: 'shm', m },
        spin(() => m.buf[3] !== 0),
      );
    } finally {
      m.close();
      m.unlink();
    }
  });

  test('an item larger than the socket takes at once, then a poll of Value.value', async () => {
    const q = new Queue<Uint8Array>();
    const v = Value('i', 0);
    const out = new Queue<string>();
    const p = new Process({ target: takeOneThenSet, args: [q, v, out] });
    p.start();
    try {
      assert.equal(await out.get({ timeout: PATIENCE }), 'ready');
      // Several MB: the kernel takes part of the frame, the rest waits in the socket's buffer.
      q.put(new Uint8Array(8 << 20));
      const until = Date.now() + POLL_MS;
      while (v.value === 0 && Date.now() < until) {}
      assert.equal(v.value, 8 << 20, 'the child had the item');
    } finally {
      await p.join({ timeout: PATIENCE });
    }
    assert.equal(p.exitcode, 0);
  });
});
