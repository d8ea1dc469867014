/**
 * What a child process loads before its target runs (src/internal/process/bootstrap.ts, with
 * the modules `processModules` of src/internal/serialize.ts names): the modules of every kind and
 * error class it may decode — in its args, or later in a queue item — and not weft/threading's
 * and weft/queue's primitives, which no carrier takes to another process.
 *
 * The children here run inline targets: those import no module of their own, so a child knows
 * only what it preloaded (a task module importing weft/multiprocessing would load its kinds
 * anyway, hiding a kind the preload forgot).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  IN_PROCESS_KINDS,
  NotCloneableError,
  processModules,
  revivable,
  sharedModules,
} from '../../src/internal/serialize.js';
import { Event, Lock, Process, Queue, SimpleQueue } from '../../src/multiprocessing/index.js';
// Error classes only: weft/threading's primitives are imported by the first test, later.
import { OwnerDiedError } from '../../src/threading/errors.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks({ graceMs: 3000 });

interface Known {
  kinds: string[];
  errors: string[];
}

type Registry = { revivers: Map<string, unknown> };
type ErrorRegistry = { byName: Map<string, unknown> };

/** Inline target: what the child can revive, read from weft's registries (globalThis). */
async function report(out: { put(x: unknown): Promise<void> }): Promise<void> {
  const g = globalThis as unknown as Record<symbol, unknown>;
  const k = g[Symbol.for('weft.sharedKinds')] as Registry | undefined;
  const e = g[Symbol.for('weft.errorClasses')] as ErrorRegistry | undefined;
  await out.put({ kinds: [...(k?.revivers.keys() ?? [])], errors: [...(e?.byName.keys() ?? [])] });
}

async function childKnows(): Promise<Known> {
  const out = new SimpleQueue<Known>();
  const p = new Process({ target: report, args: [out] });
  p.start();
  const got = await out.get();
  await p.join();
  out.close();
  assert.equal(p.exitcode, 0);
  return got;
}

const missing = (want: Iterable<string>, have: string[]): string[] =>
  [...want].filter((x) => !have.includes(x));

// Loaded by the first test, after a child of a parent that knew only multiprocessing started.
let threading: typeof import('../../src/threading/index.js');
let queue: typeof import('../../src/queue/index.js');

describe('what a child process loads before its target', () => {
  test('every kind and error class it may decode, and none of threading’s or queue’s primitives', async () => {
    const before = await childKnows();
    const parentBefore = revivable();
    assert.deepEqual(missing(parentBefore.kinds, before.kinds), []);
    threading = await import('../../src/threading/index.js');
    queue = await import('../../src/queue/index.js');
    const parent = revivable();
    // The parent can revive threading's and queue's primitives now: a child that preloaded
    // everything its parent knows loaded 18 modules more for them (112 against 94 in a child
    // running the process-start bench's target).
    assert.ok(parent.kinds.includes('threading.Lock') && parent.kinds.includes('queue.Queue'));
    const after = await childKnows();
    // Not preloaded: the modules that register those primitives only.
    const left = sharedModules().filter((u) => !processModules().includes(u));
    for (const m of [
      'threading/lock',
      'threading/semaphore',
      'threading/timer',
      'queue/queue',
      'queue/simple-queue',
    ])
      assert.ok(
        left.some((u) => u.includes(`/src/${m}.`)),
        `${m} is preloaded in a child process`,
      );
    const inProcess = after.kinds.filter((k) => IN_PROCESS_KINDS.has(k));
    assert.deepEqual(inProcess, [], 'a child loaded primitives that never reach another process');
    // Every other kind the parent knows is known before the target runs (threading's Thread and
    // local handles cross), and no error class was lost with the modules left out:
    // one would decode, silently, as its nearest known class.
    assert.deepEqual(
      missing(
        parent.kinds.filter((k) => !IN_PROCESS_KINDS.has(k)),
        after.kinds,
      ),
      [],
    );
    assert.deepEqual(
      missing(parent.errors, after.errors).filter((e) => !parentBefore.errors.includes(e)),
      [],
    );
    assert.deepEqual(missing(before.errors, after.errors), []);
  });

  test('the primitives left out cannot be sent to another process, and all others are classified', async () => {
    const make: Record<string, () => object> = {
      'threading.Lock': () => new threading.Lock(),
      'threading.RLock': () => new threading.RLock(),
      'threading.Semaphore': () => new threading.Semaphore(1),
      'threading.BoundedSemaphore': () => new threading.BoundedSemaphore(1),
      'threading.Condition': () => new threading.Condition(),
      'threading.Event': () => new threading.Event(),
      'threading.Barrier': () => new threading.Barrier(1),
      'threading.Value': () => threading.Value('i', 1),
      'threading.Array': () => threading.Array('i', 3),
      'queue.Queue': () => new queue.Queue(),
      'queue.LifoQueue': () => new queue.LifoQueue(),
      'queue.PriorityQueue': () => new queue.PriorityQueue(),
      'queue.SimpleQueue': () => new queue.SimpleQueue(),
      'queue.JoinableQueue': () => new queue.JoinableQueue(),
      // Started: an unstarted Timer is refused for another reason.
      'threading.Timer': () => {
        const t = new threading.Timer(60_000, () => {});
        t.start();
        timers.push(t);
        return t;
      },
    };
    const timers: InstanceType<typeof threading.Timer>[] = [];
    assert.deepEqual(Object.keys(make).sort(), [...IN_PROCESS_KINDS].sort());
    const q = new Queue<unknown>();
    for (const [kind, f] of Object.entries(make)) {
      const x = f();
      assert.throws(
        () => new Process({ target: () => {}, args: [x] }).start(),
        TypeError,
        `${kind} reached a child's start-up data`,
      );
      await assert.rejects(q.put(x), NotCloneableError, `${kind} was put on a process queue`);
    }
    q.close();
    for (const t of timers) {
      t.cancel();
      await t.join();
    }
    // A threading or queue kind not in IN_PROCESS_KINDS must be one that crosses (it is then
    // preloaded): a new one is classified here, against a live instance, before it ships.
    const crossing = ['threading.Thread', 'threading.local'];
    const kinds = revivable().kinds.filter((k) => /^(threading|queue)\./.test(k));
    assert.deepEqual(
      kinds.filter((k) => !IN_PROCESS_KINDS.has(k) && !crossing.includes(k)),
      [],
    );
  });

  test('a threading handle without shared memory reaches a child whose target imports nothing', async () => {
    const out = new SimpleQueue<string[]>();
    const t = new threading.Thread({ target: () => {} });
    t.start();
    await t.join();
    const p = new Process({
      target: async (o: SimpleQueue<string[]>, loc: object, th: object) => {
        await o.put([loc.constructor.name, th.constructor.name]);
      },
      args: [out, new threading.local(), t],
    });
    p.start();
    assert.deepEqual(await out.get(), ['local', 'Thread']);
    await p.join();
    out.close();
    assert.equal(p.exitcode, 0);
  });

  test('shared objects and errors that arrive after the start are revived (async and blocking get)', async () => {
    const items = new Queue<unknown>();
    const out = new SimpleQueue<string[]>();
    const p = new Process({
      target: async (q: Queue<unknown>, o: SimpleQueue<string[]>) => {
        const lock = (await q.get()) as Lock;
        const ev = q.getSync() as Event;
        const err = q.getSync() as Error;
        await lock.acquire();
        lock.release();
        ev.set();
        await o.put([lock.constructor.name, ev.constructor.name, err.constructor.name]);
      },
      args: [items, out],
    });
    p.start();
    const ev = new Event();
    await items.put(new Lock());
    await items.put(ev);
    await items.put(new OwnerDiedError('gone'));
    assert.deepEqual(await out.get(), ['Lock', 'Event', 'OwnerDiedError']);
    assert.equal(await ev.wait({ timeout: 30_000 }), true);
    await p.join();
    items.close();
    out.close();
    assert.equal(p.exitcode, 0);
  });
});
