/**
 * The deadline heap under every timer of weft/asyncio and weft/gevent (waiter.ts `startTimer`),
 * as CPython's loop keeps one (`_scheduled`, a heap of TimerHandles ordered by `when`).
 *
 * Implementation notes
 * --------------------
 * Node counts a `setTimeout` in whole milliseconds of its loop's clock, truncated when armed,
 * and keeps one list per delay. A timer per deadline therefore ended up to about 1 ms before its
 * delay had passed (by `performance.now()`, the clock of `EventLoop.time()`), and two deadlines
 * within a millisecond of each other fired in arming order. Here every deadline is an entry of
 * one binary min-heap, ordered by deadline (`performance.now()` milliseconds), ties by arming
 * order; one Node timer (per thread: each worker has its own copy of this module) is armed for
 * the earliest:
 *
 *   startTimerAt(d) ──► heap (deadline, seq) ──top──► one Node setTimeout(ceil(top − now))
 *                                                         │ fires
 *        every entry with deadline <= performance.now() ◄─┘ popped in order into a batch, then
 *        run through the scheduler's runTimer; the Node timer re-armed for the new top
 *
 * Node may still fire its timer up to a millisecond early: the entries not due yet stay in the
 * heap and the timer is re-armed for the rest (rounded up), so nothing ever runs before its
 * deadline. The due entries are taken out before any of them runs, as CPython moves every due
 * handle to its ready queue first: one that an earlier one of the batch stops does not run, and
 * one armed by a callback of the batch waits for the next firing.
 *
 * Cost: an entry is an object of five fields that knows its index, so a stop takes it out of
 * the heap at once in O(log n): cancelled deadlines never pile up (a program that arms and
 * cancels millions of timeouts keeps a heap the size of its live ones). The Node timer is
 * re-armed only when a new entry is earlier than the deadline it was armed for. When the heap
 * empties it is unref'd rather than cleared, and ref'd again by the next entry that it fires
 * early enough for: a loop of `waitFor(fast, 1000)` arms one Node timer per second, not one per
 * call, and a stale one that fires with nothing due costs one wake-up. So the process is kept
 * alive exactly while some entry is pending, as when each timer was its own `setTimeout`.
 *
 * (heap.ts, the priority queue's heap, does not fit: it keeps no index per item, so a cancelled
 * entry could only be left in place until it came to the top.) Against a `setTimeout` per timer,
 * arming and stopping costs no more: commit bbe8f91's message has the scratch A/B of the paths
 * that arm a timer (no bench suite measures timers on their own).
 *
 * A deadline already past when the Node timer would be armed for it (a timeout of 0) is not
 * left to Node's shortest timer, a millisecond on: the scheduler fires the entries due at the end
 * of this turn (`fireAtTurnEnd`, its `setImmediate`, once the ready queue has drained), and a
 * CPython handle due when armed (`handle`: `callLater(0, …)`, a `wait` timeout of 0) as the next
 * iteration of the ready queue begins (`fireAtIteration`), as CPython's loop moves the timers
 * due to its ready queue at the start of each iteration; the other entries due then stay in
 * their places for the end of the turn. Under node:test's mock of `setTimeout`, due entries wait
 * for the mocked timer, as every other.
 *
 * A deadline further than Node's longest timer (2^31 − 1 ms) arms it for the longest and
 * re-arms when it fires; an infinite one is never made (`startTimerAt` returns null).
 *
 * node:test's mock timers replace `setTimeout`: the Node timer remembers which `setTimeout` armed
 * it and is re-armed by the next entry when another one is in place (a mock's timer never fires
 * once the mock is reset); one armed by another is never cleared with the current
 * `clearTimeout`, and a stale one that fires does nothing (`nodeGen`).
 */
import { MAX_TIMER } from './long-timer.js';
import { fireAtIteration, fireAtTurnEnd, runTimer } from './scheduler.js';

/** `index` of an entry out of the heap: run, stopped, or never armed. */
const OUT = -1;
/** `index` of an entry taken out as due, in the batch being run (a stop now voids it). */
const IN_BATCH = -2;

/** One deadline of the heap; what `startTimer` returns and `stopTimer` takes. */
export class TimerEntry {
  /** Position in the heap, or OUT / IN_BATCH. */
  index = OUT;
  constructor(
    /** When it is due, in `performance.now()` milliseconds. */
    readonly deadline: number,
    /** Arming order: breaks ties between equal deadlines. */
    readonly seq: number,
    /** Null once run or stopped. */
    public fn: ((a: any) => void) | null,
    public a: unknown,
    /** A CPython handle's (`startTimerAt`'s `handle`): due already, it fires as an iteration begins. */
    readonly handle = false,
  ) {}
}

const heap: TimerEntry[] = [];
let seq = 0;

/** The one Node timer, armed for `nodeFor`; unref'd while the heap is empty. */
let node: NodeJS.Timeout | null = null;
/** The `setTimeout` that armed it: Node's, or a mock of it (node:test's `mock.timers`). */
let nodeSet: unknown = null;
/** Counts the armings: a Node timer left armed by another `setTimeout` (a mock's, or Node's
 * while a mock was on, see `armNode`) that fires does nothing. */
let nodeGen = 0;
/** The deadline the Node timer was armed for: a later entry needs no re-arming. */
let nodeFor = Number.POSITIVE_INFINITY;
let nodeRefed = false;
/** Inside `fire`: entries armed meanwhile wait for its re-arm at the end. */
let firing = false;
/** The due entries of the firing under way. */
const batch: (TimerEntry | undefined)[] = [];
/** Node's own `setTimeout`: under a mock of it (node:test), due entries wait for its timer too. */
const nodeSetTimeout = setTimeout;
/** The scheduler will fire the due entries at the end of this turn (`fireAtTurnEnd`). */
let turnQueued = false;

function less(x: TimerEntry, y: TimerEntry): boolean {
  return x.deadline < y.deadline || (x.deadline === y.deadline && x.seq < y.seq);
}

function siftUp(e: TimerEntry, i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    const parent = heap[p] as TimerEntry;
    if (!less(e, parent)) break;
    heap[i] = parent;
    parent.index = i;
    i = p;
  }
  heap[i] = e;
  e.index = i;
}

function siftDown(e: TimerEntry, i: number): void {
  const n = heap.length;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    let c = l;
    let child = heap[l] as TimerEntry;
    const r = l + 1;
    if (r < n) {
      const right = heap[r] as TimerEntry;
      if (less(right, child)) {
        c = r;
        child = right;
      }
    }
    if (!less(child, e)) break;
    heap[i] = child;
    child.index = i;
    i = c;
  }
  heap[i] = e;
  e.index = i;
}

/** Takes the entry at `i` out of the heap. */
function removeAt(i: number): void {
  const last = heap.pop() as TimerEntry;
  if (i < heap.length) {
    // The last entry fills the hole, then moves whichever way restores the order.
    if (i > 0 && less(last, heap[(i - 1) >> 1] as TimerEntry)) siftUp(last, i);
    else siftDown(last, i);
  }
}

/**
 * Calls `fn(a)` once `performance.now()` has reached `deadline`, through the scheduler's
 * `runTimer`; returns null, arming nothing, for an infinite deadline. A NaN deadline is due at
 * once. Stop it with `stopTimerEntry`.
 *
 * A deadline already past fires at the end of this turn of Node's loop, once the ready queue
 * has drained (gevent's `Timeout(0)` fires when its loop has run its callbacks), not from Node's
 * shortest timer a millisecond on. One of a CPython handle (`handle`: `callLater(0, …)`, the
 * timeout 0 of `wait`) fires as the next iteration of the ready queue begins, as CPython's loop
 * moves due timers to its ready queue at the start of each iteration.
 */
export function startTimerAt<A>(
  deadline: number,
  fn: (a: A) => void,
  a: A,
  handle = false,
): TimerEntry | null {
  if (deadline === Number.POSITIVE_INFINITY) return null;
  const e = new TimerEntry(Number.isNaN(deadline) ? 0 : deadline, seq++, fn, a, handle);
  heap.push(e);
  siftUp(e, heap.length - 1);
  if (handle && e.deadline <= performance.now() && setTimeout === nodeSetTimeout) {
    fireAtIteration(fireDueHandles);
  }
  if (!firing) {
    // A Node timer armed by another `setTimeout` than the one in place now (mock timers were
    // turned on or off since) is re-armed: a mock's never fires once the mock is reset.
    if (node === null || nodeSet !== setTimeout || (e.index === 0 && e.deadline < nodeFor))
      armNode((heap[0] as TimerEntry).deadline);
    else if (!nodeRefed) {
      node.ref();
      nodeRefed = true;
    }
  }
  return e;
}

/** Stops `e` (anywhere in its life: pending, due in the batch under way, run already). */
export function stopTimerEntry(e: TimerEntry | null): void {
  if (e === null) return;
  const i = e.index;
  e.fn = null;
  e.a = undefined;
  if (i < 0) return;
  e.index = OUT;
  removeAt(i);
  // The Node timer stays armed for a deadline that is gone: it fires early and re-arms. With
  // nothing left, it no longer keeps the process alive.
  if (heap.length === 0 && nodeRefed) {
    (node as NodeJS.Timeout).unref();
    nodeRefed = false;
  }
}

/** Arms the Node timer for `deadline`, clearing the one armed before. */
function armNode(deadline: number): void {
  const now = performance.now();
  let ms = deadline - now;
  if (ms <= 0 && setTimeout === nodeSetTimeout) {
    // Due already: fired from the scheduler's end of turn (`fireAtTurnEnd`). A Node timer armed
    // for a later deadline is cleared: `fireDue` re-arms for what is left.
    if (node !== null && nodeSet === setTimeout) clearTimeout(node);
    node = null;
    nodeGen++;
    nodeFor = deadline;
    nodeRefed = false;
    if (!turnQueued) {
      turnQueued = true;
      fireAtTurnEnd(fireDue);
    }
    return;
  }
  // Rounded up: Node truncates a fractional delay. Node may still fire up to a millisecond
  // early (its clock is whole milliseconds): `fire` re-arms then.
  ms = ms > 0 ? Math.ceil(ms) : 0;
  if (ms > MAX_TIMER) {
    ms = MAX_TIMER;
    deadline = now + MAX_TIMER;
  }
  // Cleared only by the `clearTimeout` of the `setTimeout` that armed it: another one is left to
  // fire for nothing (a mock's clearTimeout called on a timer of an earlier mock session
  // corrupts the mock's queue).
  if (node !== null && nodeSet === setTimeout) clearTimeout(node);
  nodeSet = setTimeout;
  node = setTimeout(fire, ms, ++nodeGen);
  nodeFor = deadline;
  nodeRefed = true;
}

/** The Node timer fired: runs every entry due, in deadline order, then re-arms. */
function fire(gen: number): void {
  if (gen !== nodeGen) return;
  node = null;
  nodeFor = Number.POSITIVE_INFINITY;
  nodeRefed = false;
  runDue();
}

/** The end of the turn the scheduler was asked for (`armNode`): runs every entry due. */
function fireDue(): void {
  turnQueued = false;
  // A Node timer armed meanwhile for a later deadline stays: `runDue` re-arms only if needed.
  if (node === null) {
    nodeFor = Number.POSITIVE_INFINITY;
    runDue();
  } else runDue(false);
}

/**
 * An iteration of the ready queue begins with CPython handles due (`startTimerAt`'s `handle`):
 * every handle due now runs, in deadline order; the other entries due wait for the end of the
 * turn, in their places.
 */
function fireDueHandles(): void {
  if (firing || heap.length === 0) return;
  const now = performance.now();
  let due = 0;
  while (heap.length > 0 && (heap[0] as TimerEntry).deadline <= now) {
    const e = heap[0] as TimerEntry;
    removeAt(0);
    batch[due++] = e;
  }
  // The handles stay in the batch, in deadline order; the other entries go back where they were
  // (their seq keeps their order), for the end of the turn.
  let n = 0;
  for (let i = 0; i < due; i++) {
    const e = batch[i] as TimerEntry;
    if (e.handle) {
      e.index = IN_BATCH;
      batch[n++] = e;
    } else {
      heap.push(e);
      siftUp(e, heap.length - 1);
    }
  }
  for (let i = n; i < due; i++) batch[i] = undefined;
  try {
    runBatch(n);
  } catch (err) {
    // Called by the scheduler between two callbacks: raised on its own, as from a Node timer.
    queueMicrotask(() => {
      throw err;
    });
  }
}

/**
 * Something was queued with `callSoon` that CPython would have run in the same iteration as the
 * timers due by then (a timeout() scope whose deadline was past when armed, CPython's
 * `call_soon(_on_timeout)`): the CPython handles due as the next iteration begins run in it,
 * behind that callback, as CPython moves them to its ready queue at the start of every
 * iteration. (weft checks the heap only from its Node timer otherwise, so a handle that came due
 * while the task was busy ran after the wake-up that callback queued.) Under a mock of
 * `setTimeout`, due entries wait for the mocked timer, as every other.
 */
export function fireHandlesAtIteration(): void {
  if (setTimeout === nodeSetTimeout) fireAtIteration(fireDueHandles);
}

/** Runs every entry due now, in deadline order, then re-arms the Node timer (`rearm`). */
function runDue(rearm = true): void {
  if (heap.length === 0) return;
  const now = performance.now();
  let n = 0;
  while (heap.length > 0 && (heap[0] as TimerEntry).deadline <= now) {
    const e = heap[0] as TimerEntry;
    removeAt(0);
    e.index = IN_BATCH;
    batch[n++] = e;
  }
  runBatch(n, rearm);
}

/** Runs the `n` entries of `batch`, then (with `rearm`) arms for the earliest left. */
function runBatch(n: number, rearm = false): void {
  firing = true;
  let failed = false;
  let error: unknown;
  try {
    for (let i = 0; i < n; i++) {
      const e = batch[i] as TimerEntry;
      batch[i] = undefined;
      e.index = OUT;
      const fn = e.fn;
      // Stopped by a callback that ran before it in this batch.
      if (fn === null) continue;
      const a = e.a;
      e.fn = null;
      e.a = undefined;
      try {
        runTimer(fn, a);
      } catch (err) {
        // Raised from the Node timer as before, once the batch has run and the timer is
        // re-armed: one callback that throws loses no other deadline.
        if (!failed) {
          failed = true;
          error = err;
        } else
          queueMicrotask(() => {
            throw err;
          });
      }
    }
  } finally {
    firing = false;
    if (heap.length > 0) {
      const top = (heap[0] as TimerEntry).deadline;
      // Not when a Node timer is armed for it already (a batch of handles, see fireDueHandles).
      if (rearm || node === null || top < nodeFor || nodeSet !== setTimeout) armNode(top);
    }
  }
  if (failed) throw error;
}

/** @internal The entries pending (for tests: stopped ones leave at once). */
export function _timerHeapSize(): number {
  return heap.length;
}

/**
 * @internal Clears the Node timer if the `setTimeout` in place armed it, and arms one with the
 * `setTimeout` in place now for the earliest entry, if any: for tests that turn node:test's
 * mock timers on or off (test/asyncio/mock-clock.ts), around each switch.
 */
export function _rearmTimerNode(): void {
  if (firing) return;
  if (node !== null && nodeSet === setTimeout) clearTimeout(node);
  node = null;
  nodeSet = null;
  nodeFor = Number.POSITIVE_INFINITY;
  nodeRefed = false;
  nodeGen++;
  if (heap.length > 0) armNode((heap[0] as TimerEntry).deadline);
}
