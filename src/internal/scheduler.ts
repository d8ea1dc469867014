/**
 * The ready queue: CPython's `call_soon` queue, driven by microtasks.
 *
 * Implementation notes
 * --------------------
 * CPython runs one callback of its ready queue at a time; a task's step is such a callback, and
 * it runs until the coroutine suspends on a pending future. So when a release wakes B and then C,
 * B runs until its next real suspension before C resumes — and awaiting something that is
 * already done does not suspend at all. Native promises do not behave like that: every `await`
 * yields, and every resolved promise's continuation is queued at once, so B and C would
 * interleave at each of their awaits. The classic lessons (Barrier draining, Condition
 * wake-ups, FIFO semaphores) then come out in another order than Python's.
 *
 * weft keeps its own FIFO of ready callbacks and lets at most one *task step* be in flight:
 *
 *   wake(B), wake(C) ──► [ resume B | resume C ]          ready queue (ring buffer)
 *                             │
 *                   drain ────┘ pops "resume B": inFlight = B, resolves B's promise
 *                             B runs (microtasks) … until it blocks on a weft waiter or a
 *                             pending future, or finishes ──► stepEnded(B) ──► drain again
 *
 * A step also ends when B waits on something weft does not know (a native promise of fs,
 * fetch, …): nothing tells weft, so a watchdog `setImmediate` — which Node runs only after the
 * microtask queue is empty, i.e. once every task has suspended — ends the step in flight. The
 * watchdog is armed only while callbacks wait behind a step, at most one at a time.
 *
 * A *resume* — a callback that only begins a task's step and settles the promise the task
 * awaits (`callSoonResume`: a waiter's, a future's awaiter, a `sleep(0)`) — runs no code of the
 * user's: settling a promise only queues the continuation. So when a step ends with a resume at
 * the head of the queue, the resume runs right there instead of from a drain microtask; the
 * queue's order is the same, one microtask hop per hand-off fewer. A lock passed between two
 * tasks, or a lone task's `sleep(0)`, then costs no drain at all. Other callbacks (a task's
 * first step, done-callbacks, `callSoon`) always run from a drain.
 *
 * Everything runs in microtasks, so a wake-up costs no macrotask. To keep timers and I/O from
 * starving behind tasks that wake each other forever, at most BUDGET callbacks run per
 * macrotask turn; the rest wait for the next turn (the same effect as CPython polling for I/O
 * between loop iterations). Drains run from a microtask, never inside the caller's stack, so a
 * done-callback is never called synchronously by `setResult` or `release`. One exception keeps
 * that promise: when a task's body settles, the reaction job that finishes the task runs only
 * weft's code, so a drain it makes necessary runs at the end of that job (`atSafePoint`)
 * instead of from one more microtask — in a gather of 100,000 tasks, one hop fewer a task.
 *
 * Timers: every timer of weft is an entry of the deadline heap (timer-heap.ts), whose Node timer
 * runs the entries due in one callback, each through `runTimer`. What a timer queues is drained
 * by the `setImmediate` at the end of the turn, not from a microtask: all timers due in this
 * turn have fired by then (the heap's Node timer may fire again in the same turn, for an entry
 * not quite due the first time), as CPython moves every due timer to the ready queue before it
 * runs any of it. A deadline already past when it is armed (a timeout of 0) does not wait for
 * Node's shortest timer, a millisecond on: the heap has it fired by this immediate
 * (`fireAtTurnEnd`), once the ready queue has drained — or, for a CPython handle
 * (`callLater(0, …)`), as the next iteration begins (`fireAtIteration`), where CPython's loop
 * moves it to its ready queue.
 *
 * Switches: gevent's hub serves a chain of wake-ups from one callback, each greenlet it switches
 * to running until it blocks before the callback goes on. A callback here does the same by
 * waking inside `beginSwitch`/`endSwitch`: the resumes go to the head of the queue, its own
 * continuation right behind them (see `beginSwitch`). Only weft/gevent switches; CPython's
 * ready queue has no such thing, and weft/asyncio keeps to it.
 *
 * Ready callbacks run with no task current (a task's own resume makes it current through
 * src/internal/context.ts); resumes, which read no task, run in whatever context is current.
 * A callback that throws is reported to the exception handler and the queue goes on.
 */
import { enterContext, restoreContext, untaggedThen } from './context.js';
import { describeThrown } from './errors.js';

/** A ready callback: `fn(a, b)`. Two slots avoid a closure per wake-up. */
type Callback = (a: any, b: any) => void;

/** Tuning: callbacks per macrotask turn before timers and I/O get a turn. Trades throughput of
 * task ping-pong (one `setImmediate` per BUDGET wake-ups) against I/O latency under load. */
const BUDGET = 4096;

let fns: (Callback | undefined)[] = new Array(1024);
let as: unknown[] = new Array(1024);
let bs: unknown[] = new Array(1024);
/** What each callback is: PLAIN, RESUME (see `callSoonResume`) or START (see `callSoonStart`). */
let kinds = new Uint8Array(1024);
const PLAIN = 0;
const RESUME = 1;
const START = 2;
type Kind = typeof PLAIN | typeof RESUME | typeof START;
let head = 0;
let size = 0;

let inFlight: object | null = null;
let drainQueued = false;
let immediateArmed = false;
let ranThisTurn = 0;

export type ExceptionHandler = (context: { message: string; exception: unknown }) => void;

let exceptionHandler: ExceptionHandler | null = null;

function grow(): void {
  const cap = fns.length;
  const nf: (Callback | undefined)[] = new Array(cap * 2);
  const na: unknown[] = new Array(cap * 2);
  const nb: unknown[] = new Array(cap * 2);
  const nr = new Uint8Array(cap * 2);
  for (let i = 0; i < size; i++) {
    const j = (head + i) & (cap - 1);
    nf[i] = fns[j];
    na[i] = as[j];
    nb[i] = bs[j];
    nr[i] = kinds[j] as number;
  }
  fns = nf;
  as = na;
  bs = nb;
  kinds = nr;
  head = 0;
}

function push(fn: Callback, a: unknown, b: unknown, kind: Kind): void {
  if (size === fns.length) grow();
  const i = (head + size) & (fns.length - 1);
  fns[i] = fn;
  as[i] = a;
  bs[i] = b;
  kinds[i] = kind;
  size++;
  pushed++;
}

/** Puts `fn(a, b)` at the head of the queue: it runs before everything ready (`endSwitch`). */
function unshift(fn: Callback, a: unknown, b: unknown, kind: Kind): void {
  if (size === fns.length) grow();
  head = (head - 1) & (fns.length - 1);
  fns[head] = fn;
  as[head] = a;
  bs[head] = b;
  kinds[head] = kind;
  size++;
  pushed++;
  // It belongs to the iteration under way (it runs before the rest of it), unless that one has
  // just ended: then it is the first of the next.
  if (popped < iterationEnd) iterationEnd++;
}

/*
 * CPython's loop iterations, counted: an iteration runs the callbacks that were ready when it
 * began, and what they queue waits for the next one. The queue here is one FIFO with no
 * iterations of its own, but they follow from it: the next iteration is what was queued by the
 * time the last callback of this one is taken. `loop.stop()` ends the loop at the end of an
 * iteration, and `run()` cancels the tasks left there (`atIterationEnd`).
 */
/** Callbacks queued, and taken off the queue, since the start (totals). */
let pushed = 0;
let popped = 0;
/** `pushed` when the current iteration began: it ends when `popped` reaches this. */
let iterationEnd = 0;
/** What runs when the current iteration ends, before any callback of the next one. */
let iterationHooks: (() => void)[] | null = null;

/**
 * Runs `fn` when the current iteration of the ready queue ends (CPython's `loop.stop()` from a
 * callback: what was ready when this iteration began runs first, what it queued does not):
 * before the next callback is taken, or once nothing is ready and no step is in flight,
 * whichever comes first — at the latest at the end of this turn of Node's loop, whose
 * immediate ends a step waiting on something weft does not know. Until then a `sleep(0)` is
 * not taken in place: its resume must wait behind `fn`, as it would in CPython. `fn` runs with
 * no task current.
 */
export function atIterationEnd(fn: () => void): void {
  (iterationHooks ??= []).push(fn);
  armImmediate();
}

/**
 * Called by a drain or the turn's immediate, with nothing of the user's on the stack: nothing
 * ready and no step in flight, the iteration has ended and its hooks run now; a step still in
 * flight (waiting on something weft does not know) is ended by the turn's immediate, which then
 * comes back here.
 */
function endIfIdle(): void {
  if (iterationHooks === null || size !== 0) return;
  if (inFlight === null) iterationEnded();
  else armImmediate();
}

function iterationEnded(): void {
  const hooks = iterationHooks as (() => void)[];
  iterationHooks = null;
  // Hooks run wherever the iteration ends: inside a resume's moveOn, that is inside the call
  // that ended a task's step (a blocking acquire). They are no task's code.
  const prev = enterContext(null);
  try {
    for (const fn of hooks) {
      try {
        fn();
      } catch (exception) {
        reportException('Exception in callback', exception);
      }
    }
  } finally {
    restoreContext(prev);
  }
}

/** Something was queued: a drain runs it when no step is in flight. */
function kick(): void {
  if (inTimer) armImmediate();
  else if (inFlight === null) queueDrain();
  else armImmediate();
}

/**
 * Inside a weft timer's callback (`runTimer`, called by the timer heap for each entry due). Node
 * runs the microtask queue between two timer callbacks, so a drain queued here would resume a
 * task before a timer due later in the same turn had run. CPython moves every timer due to the
 * ready queue before it runs any of it: here what a timer queues waits for the `setImmediate`
 * that ends the turn (after every timer due now has fired, and after the I/O callbacks of the
 * poll phase, as CPython's select comes first too).
 */
let inTimer = false;

/** Runs the callback of a weft timer: what it makes ready runs after every timer due now. */
export function runTimer<A>(fn: (a: A) => void, a: A): void {
  inTimer = true;
  try {
    fn(a);
  } finally {
    inTimer = false;
  }
}

/** Callbacks waiting for every timer due now to have fired (`callAfterTimers`): fn, a, b, … */
let afterTimers: unknown[] = [];

/**
 * Queues `fn(a, b)` behind what every timer due now makes ready: at the end of the turn's timers
 * (the `setImmediate` that drains them), not at the place the calling timer fired. gevent's
 * `Timeout` is a timer of lower priority than every other: a greenlet whose sleep ends at its
 * deadline runs first, while what that greenlet then makes ready (an Event it sets) runs after
 * the expiry. Called from a timer's callback, so the turn's immediate is still ahead.
 */
export function callAfterTimers(fn: Callback, a?: unknown, b?: unknown): void {
  afterTimers.push(fn, a, b);
  armImmediate();
}

/** Queues `fn(a, b)` behind everything already ready (CPython's `call_soon`). */
export function callSoon(fn: Callback, a?: unknown, b?: unknown): void {
  push(fn, a, b, PLAIN);
  kick();
}

/**
 * Queues a *resume*: a callback that only begins a task's step (or none) and settles promises,
 * running no code of the user's. When a step ends with a resume at the head of the queue, the
 * resume runs at once instead of from a drain microtask: settling a promise only queues its
 * continuation, so the caller's stack sees nothing of it, and the order of the ready queue is
 * kept (see `stepEnded`). Between `beginSwitch` and `endSwitch` it goes to the head instead.
 */
export function callSoonResume(fn: Callback, a?: unknown, b?: unknown): void {
  if (switching > 0) {
    stash(fn, a, b, RESUME);
    return;
  }
  push(fn, a, b, RESUME);
  kick();
}

/**
 * `callSoonResume` for a resume of `task`'s (null: outside every task). A switch that throws
 * into one task (`switchTo`) takes only that task's resumes to the head: a kill that cancels a
 * future the greenlet awaits wakes the future's other awaiters, asyncio tasks among them, and
 * those keep `callSoon`'s order, as the same cancel outside a switch would give them.
 */
export function callSoonResumeOf(
  task: object | null,
  fn: Callback,
  a?: unknown,
  b?: unknown,
): void {
  if (inSwitchFor(task)) {
    stash(fn, a, b, RESUME);
    return;
  }
  push(fn, a, b, RESUME);
  kick();
}

/*
 * gevent's hub runs a callback (a queue's unlock, a semaphore's notifier, a kill) that switches
 * into a greenlet: the greenlet runs until it blocks again, and the hub goes on with the same
 * callback — the next waiter of the chain — before anything else on its queue. A callback of the
 * ready queue does the same between `beginSwitch` and `endSwitch`: the resumes it queues go to
 * the head of the queue, in the order queued, with its continuation right behind them, so that
 * they run next and the continuation runs once their steps have ended. Other callbacks queued
 * meanwhile (`callSoon`: gevent's `run_callback`) still go to the end. weft/asyncio never opens
 * a switch: CPython's loop has no such thing.
 */
/** Open `beginSwitch`es: a switch opened inside another is placed with the outer one. */
let switching = 0;
/** See `switchTo`. */
let switchTarget: object | null = null;
/** What the open switches queued, for the head of the queue: fn, a, b, kind, … up to `top`. */
const switched: unknown[] = [];
let top = 0;

function stash(fn: Callback, a: unknown, b: unknown, kind: Kind): void {
  switched[top] = fn;
  switched[top + 1] = a;
  switched[top + 2] = b;
  switched[top + 3] = kind;
  top += 4;
}

/**
 * Opens a switch: resumes queued until `endSwitch` run before everything already ready. Returns
 * the mark `endSwitch` takes.
 */
export function beginSwitch(): number {
  switching++;
  return top;
}

/**
 * Closes the switch `beginSwitch` opened (`mark` is what it returned): puts the resumes queued
 * since at the head of the queue, in the order they were queued, and `then(a, b)` right behind
 * them if there are any (not otherwise). Returns how many resumes it placed. `then` runs as a
 * plain callback (with no task current); with `thenRunsNoUserCode` it runs as a resume does,
 * at once when the step before it ends (see `queuePass`).
 */
export function endSwitch(
  mark: number,
  then: Callback | null,
  a?: unknown,
  b?: unknown,
  thenRunsNoUserCode = false,
): number {
  const n = (top - mark) / 4;
  if (n > 0 && then !== null) stash(then, a, b, thenRunsNoUserCode ? RESUME : PLAIN);
  if (--switching > 0 || top === 0) return n;
  const buf = switched;
  for (let i = top - 4; i >= 0; i -= 4) {
    unshift(buf[i] as Callback, buf[i + 1], buf[i + 2], buf[i + 3] as Kind);
    buf[i + 1] = undefined;
    buf[i + 2] = undefined;
  }
  top = 0;
  if (running === 0) kick();
  return n;
}

/**
 * Queues `fn(a)` behind everything ready, as `callSoon`, for a callback of weft's own that runs
 * no code of the user's (a gevent notifier pass, which may switch: see `beginSwitch`): it runs
 * as a resume does, at once when the step before it ends, without a drain of its own.
 */
export function queuePass(fn: Callback, a: unknown): void {
  push(fn, a, undefined, RESUME);
  kick();
}

/**
 * Queues `fn(a)` at the head of the queue, before everything ready, as a plain callback (with
 * no task current): a pass that must call the user's code (a rawlink callback) goes on there.
 */
export function callFirst(fn: Callback, a: unknown): void {
  unshift(fn, a, undefined, PLAIN);
  if (running === 0) kick();
}

/**
 * Closes the switch `beginSwitch` opened without switching: the resumes queued since go to the
 * end of the queue, in order, as outside a switch (for a callback that turned out not to switch
 * into the greenlet it woke: gevent's would have queued a callback of its own).
 */
export function dropSwitch(mark: number): void {
  switching--;
  const buf = switched;
  for (let i = mark; i < top; i += 4) {
    push(buf[i] as Callback, buf[i + 1], buf[i + 2], buf[i + 3] as Kind);
    buf[i + 1] = undefined;
    buf[i + 2] = undefined;
  }
  const moved = top > mark;
  top = mark;
  if (moved) kick();
}

/** Whether a switch is open (`beginSwitch`) that takes `task`'s resumes to the head. */
export function inSwitchFor(task: object | null): boolean {
  return switching > 0 && (switchTarget === null || task === switchTarget);
}

/**
 * Whether an open switch throws into `task` itself (a kill, a Timeout's expiry: `switchTo`), as
 * opposed to a pass that wakes waiters, during which the user's code (a link callback) may
 * cancel a task: that cancel keeps the order it has outside every switch.
 */
export function switchThrowsInto(task: object): boolean {
  return switching > 0 && switchTarget === task;
}

/**
 * The task an open switch throws into (a kill's: `deliverKill`), or null for a switch that
 * takes every resume queued (a pass waking the waiters of its line). Returns the one before.
 */
export function switchTo(task: object | null): object | null {
  const prev = switchTarget;
  switchTarget = task;
  return prev;
}

/**
 * What a START callback returns when it made no task current (a task cancelled before its first
 * step, or already done).
 */
export const CONTEXT_UNCHANGED: object = Object.freeze({});

/**
 * Queues a task's first step `fn(a, save)`: a callback that makes its task current itself and
 * leaves it current; the drain that runs it puts back at its end what was current before the
 * drain switched anything. `save` says whether that is still to be saved: then the callback
 * returns what was current before it (`enterContext`'s result), or CONTEXT_UNCHANGED when it
 * switched nothing; otherwise it only switches (`switchContext`) and its answer is not read.
 * So the switch to no task and back around the step, and the step's own restore, are not
 * made: a task of a 100,000-task gather makes two calls into the context addon (its switch,
 * and the read of its body's promise) instead of five.
 */
export function callSoonStart(fn: (a: any, save: boolean) => object | null, a: unknown): void {
  push(fn, a, undefined, START);
  kick();
}

/** Marks `task`'s step as in flight: nothing else is resumed until it ends. */
export function beginStep(task: object): void {
  inFlight = task;
}

/** `task` suspended (or finished): if its step was the one in flight, the queue moves on. */
export function stepEnded(task: object): void {
  if (inFlight !== task) return;
  inFlight = null;
  if (size > 0) moveOn();
  // Not here: a step ends inside the task's own call (a blocking acquire), whose code goes on
  // (a combinator handed several waits awaits the rest): the hooks' cancels must find the
  // task suspended where the combinator waits, as CPython's would, so a drain runs them.
  else if (iterationHooks !== null) queueDrain();
}

/**
 * `task`'s step ends by queueing its own resume `fn(a)` behind everything ready (a `sleep(0)`):
 * `callSoonResume` then `stepEnded`, without arming the watchdog for the moment in between.
 */
export function endStepWithResume(task: object, fn: Callback, a: unknown): void {
  push(fn, a, undefined, RESUME);
  if (inFlight === task) inFlight = null;
  if (inFlight === null) moveOn();
  else armImmediate();
}

/**
 * A yield of `task` (its `sleep(0)`) with nothing ready: the task goes on in place, its step
 * still in flight, and the yield costs one await of a resolved promise. Returns false when the
 * yield must queue its resume instead: something is ready (it runs first), another task's step
 * is in flight, or the turn's budget is spent (the queued resume is what gives timers and I/O
 * their turn, so a task looping on `sleep(0)` cannot starve them).
 *
 * Same order as queueing: with the queue empty, `endStepWithResume` would run the resume at
 * once (`moveOn`), inside the caller's call, and settle the promise there.
 */
export function yieldInPlace(task: object): boolean {
  if (size !== 0 || ranThisTurn >= BUDGET || (inFlight !== null && inFlight !== task)) return false;
  // An iteration must begin: its hooks, or the timers due at its start, run before the task.
  if (iterationHooks !== null || iterationTimers !== null) return false;
  ranThisTurn++;
  inFlight = task;
  return true;
}

/**
 * No step in flight and callbacks ready: resumes at the head run now (each one that begins a
 * step stops this), anything else is left to a drain, which runs it outside the caller's stack.
 * Resumes count against the turn's budget like any callback.
 */
function moveOn(): void {
  // Resumes run in whatever context the ending step left: they read no task and run none of the
  // user's code, and they resolve with objects through `resolveUntagged` (see context.ts). That
  // saves two calls into the context addon per hand-off.
  while (size > 0 && kinds[head] === RESUME) {
    if (ranThisTurn >= BUDGET) break;
    // An iteration's hooks run from a drain, not inside the call that ended a step (stepEnded).
    if (iterationHooks !== null && popped === iterationEnd) break;
    ranThisTurn++;
    try {
      runHead();
    } catch (exception) {
      running--;
      reportOutsideTasks(exception);
    }
    if (inFlight !== null) {
      if (size > 0 || iterationHooks !== null) armImmediate();
      return;
    }
  }
  if (size > 0 || iterationHooks !== null) queueDrain();
}

/** Takes the head callback off the queue and runs it; returns what it returns (a START's). */
function runHead(): unknown {
  if (popped === iterationEnd) {
    // The first callback of a new iteration: the hooks of the one that ended run before it.
    if (iterationHooks !== null) iterationEnded();
    // CPython moves the timers due to the ready queue as an iteration begins: behind what the
    // last one queued, before this one runs.
    if (iterationTimers !== null) runIterationTimers(iterationTimers);
    iterationEnd = pushed;
  }
  popped++;
  const i = head;
  const fn = fns[i] as Callback;
  const a = as[i];
  const b = bs[i];
  fns[i] = undefined;
  as[i] = undefined;
  bs[i] = undefined;
  head = (head + 1) & (fns.length - 1);
  size--;
  running++;
  const r = fn(a, b);
  running--;
  return r;
}

/**
 * Callbacks of the queue running now (`runHead`; a callback that throws is counted out by the
 * loop that catches it): what they put at the head of the queue needs no kick, the loop that
 * runs them goes on with it.
 */
let running = 0;

/** The task whose step is in flight, if any. */
export function taskInFlight(): object | null {
  return inFlight;
}

/** Callbacks ready and not yet run (for deadlock reports and tests). */
export function readyCount(): number {
  return size;
}

// queueMicrotask wraps each callback in an AsyncResource in Node; a reaction on a resolved
// promise is the same microtask without it (about 12% of a createTask+gather profile).
const RESOLVED = Promise.resolve();

/** Inside `atSafePoint`: a drain needed is run at its end instead of from a new microtask. */
let safePoint = false;
let drainDeferred = false;

function queueDrain(): void {
  if (drainQueued) return;
  if (safePoint) {
    drainDeferred = true;
    return;
  }
  drainQueued = true;
  untaggedThen(RESOLVED, drain);
}

/**
 * Runs `fn(a, b)` — weft's own code, called by a reaction job with nothing of the user's on the
 * stack (the settlement of a task's body) — and then, if it made the queue move on, drains at
 * once instead of from a new microtask. A task finishing and the next one starting (a gather of
 * many) then cost one microtask hop fewer each. The ready queue's own order is unchanged; what
 * moves is its place among other microtasks: a native promise's continuation queued before the
 * task finished now runs after the drain instead of before it (an order neither CPython nor
 * weft promises).
 */
export function atSafePoint<A, B>(fn: (a: A, b: B) => void, a: A, b: B): void {
  if (safePoint) {
    fn(a, b);
    return;
  }
  safePoint = true;
  try {
    fn(a, b);
  } finally {
    safePoint = false;
    if (drainDeferred) {
      drainDeferred = false;
      drain();
    }
  }
}

/** `drain` has not switched the current task yet. */
const NOT_ENTERED: object = {};

/**
 * Runs ready callbacks until a step is in flight, the queue is empty or the turn's budget is
 * spent, then puts back what was current before it. Resumes run in whatever context is current
 * (see `moveOn`); any other callback runs with no task current, except a START, which makes its
 * task current itself and leaves it so (see `callSoonStart`).
 */
function drain(): void {
  drainQueued = false;
  let prev: object | null = NOT_ENTERED;
  /** No task is current: the drain switched to none and no START has run since. */
  let noTask = false;
  try {
    while (inFlight === null && size > 0) {
      if (ranThisTurn >= BUDGET) break;
      ranThisTurn++;
      const kind = kinds[head];
      if (kind === START) {
        noTask = false;
        bs[head] = prev === NOT_ENTERED;
        let before: object | null = CONTEXT_UNCHANGED;
        try {
          before = runHead() as object | null;
        } catch (exception) {
          running--;
          reportOutsideTasks(exception);
        }
        if (prev === NOT_ENTERED && before !== CONTEXT_UNCHANGED) prev = before;
        continue;
      }
      if (kind === PLAIN && !noTask) {
        const p = enterContext(null);
        if (prev === NOT_ENTERED) prev = p;
        noTask = true;
      }
      try {
        runHead();
      } catch (exception) {
        running--;
        reportOutsideTasks(exception);
      }
    }
  } finally {
    if (prev !== NOT_ENTERED) restoreContext(prev);
  }
  if (size > 0) armImmediate();
  else endIfIdle();
}

/** A ready callback threw: the exception handler (the user's, maybe) runs with no task current. */
function reportOutsideTasks(exception: unknown): void {
  const prev = enterContext(null);
  try {
    reportException('Exception in callback', exception);
  } finally {
    restoreContext(prev);
  }
}

function armImmediate(): void {
  if (immediateArmed) return;
  immediateArmed = true;
  setImmediate(onImmediate);
}

function onImmediate(): void {
  ranThisTurn = 0;
  // The microtask queue is empty now: a step still in flight is waiting on something weft does
  // not know (a native promise), so it no longer holds the queue up.
  inFlight = null;
  const fire = turnTimers;
  if (fire !== null) {
    // Deadlines due already when they were armed (a timeout of 0) fire here, not from Node's
    // shortest timer (1 ms): what they make ready is drained below, with this turn's.
    // `immediateArmed` stays set meanwhile: what they queue needs no immediate of its own.
    turnTimers = null;
    iterationTimers = null;
    try {
      fire();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }
  immediateArmed = false;
  // Deadlines armed due by those timers fire at the next turn's end.
  if (turnTimers !== null) armImmediate();
  if (afterTimers.length > 0) {
    const after = afterTimers;
    afterTimers = [];
    for (let i = 0; i < after.length; i += 3)
      push(after[i] as Callback, after[i + 1], after[i + 2], PLAIN);
  }
  if (size > 0) drain();
  else endIfIdle();
}

/** What the timer heap fires at the end of the turn (`fireAtTurnEnd`), or null. */
let turnTimers: (() => void) | null = null;
/** What the timer heap fires as the next iteration begins (`fireAtIteration`), or null. */
let iterationTimers: (() => void) | null = null;

/**
 * The timer heap has entries due already (armed with a deadline that has passed: a timeout of
 * 0): `fire` runs them at this turn's immediate, once the ready queue has drained — gevent runs
 * its timers once its callbacks have — instead of from Node's shortest timer, a millisecond on.
 */
export function fireAtTurnEnd(fire: () => void): void {
  turnTimers = fire;
  armImmediate();
}

/**
 * The timer heap has CPython handles due already (`loop.callLater(0, …)`, `wait` with a timeout
 * of 0): `fire` runs them as the next iteration of the ready queue begins, as CPython's loop
 * moves the timers due to its ready queue at the start of each iteration — behind what the
 * current one queued (and at the end of the turn at the latest, `fireAtTurnEnd`).
 */
export function fireAtIteration(fire: () => void): void {
  iterationTimers = fire;
}

function runIterationTimers(fire: () => void): void {
  iterationTimers = null;
  fire();
}

/** Reports an exception raised by a callback (CPython's `call_exception_handler`). */
export function reportException(message: string, exception: unknown): void {
  if (exceptionHandler !== null) {
    try {
      exceptionHandler({ message, exception });
      return;
    } catch (e) {
      exception = e;
      message = 'Exception in the exception handler';
    }
  }
  process.stderr.write(`weft: ${message}\n${describeThrown(exception)}\n`);
}

export function setExceptionHandler(handler: ExceptionHandler | null): void {
  exceptionHandler = handler;
}

export function getExceptionHandler(): ExceptionHandler | null {
  return exceptionHandler;
}
