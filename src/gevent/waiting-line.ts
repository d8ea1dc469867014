/**
 * The line of greenlets waiting on a gevent queue or semaphore: who is woken, in what order, and
 * what happens when a woken greenlet finds its chance gone.
 *
 * Implementation notes
 * --------------------
 * gevent wakes a waiting greenlet by switching to it from a hub callback (a queue's `_unlock`, a
 * semaphore's notifier): the greenlet takes the item or the permit then and there, and runs until
 * it blocks again, before the callback looks at the next waiter — so one callback serves a whole
 * chain (a putter's item for a getter, whose get frees a slot for the next putter, …). Until that
 * callback runs, nothing is reserved: a greenlet that calls `get()` or `acquire()` in between
 * finds the item or the permit free and takes it (gevent's release-then-acquire loop keeps its
 * semaphore), and the waiter the callback would have served stays first in line.
 *
 * The owners here do the same (queue.ts, channel.ts, semaphore.ts): a change that may serve a
 * waiter queues one pass on the ready queue (`queuePass`, gevent's `run_callback`), and the pass
 * wakes one waiter at a time through a switch (scheduler.ts, `beginSwitch`): the woken greenlet
 * resumes next, ahead of everything ready, and the pass goes on right behind it once it blocks.
 * The greenlet takes the item or permit itself when it resumes, as gevent's does when switched
 * to; nothing else can run in between, so it finds it there — but for a wait made outside every
 * greenlet and task (the main program), whose resumption has no step the pass can wait for. Such
 * a waiter, finding the item gone, goes back to its old place (`enter(w, seq)`), not to the end:
 *
 *   put(x) ──► pass queued ──(its turn)──► wake G1: resumes next ─┬─ item there: takes it
 *                                  ▲                              └─ gone: back at seq 1
 *                                  └── the pass goes on once G1 blocks: next waiter, if served
 *
 * `woken` counts the woken waiters that will take something (`consumes`: a getter, an acquirer;
 * not a `peek` or a semaphore's `wait`) and have not resumed, so that a pass does not count the
 * same item twice. A woken waiter that is cancelled before it resumes took nothing; its
 * `onRevoke` asks the owner for another pass (`retry`), so no wake-up is lost and nothing leaks.
 * A kill is not such a cancel: it is a callback of its own on the ready queue, as gevent's
 * (greenlet.ts), so a greenlet woken before it takes what it was woken for first.
 *
 * What can starve: a greenlet that takes the item or the permit back before it ever blocks
 * (release, then acquire again) keeps it, as in gevent; the line's own order is FIFO.
 */
import { Waiter, WaiterList } from '../internal/waiter.js';

/** One wait in a line: its place, and whether it takes what wakes it. */
export class LineWaiter extends Waiter<boolean> {
  /** The place in the line: smaller is earlier, kept when the waiter comes back. */
  seq = 0;
  /** Takes what wakes it (a getter, an acquirer), or only looks (`peek`, `Semaphore.wait`). */
  consumes = true;
}

export class WaitingLine extends WaiterList {
  /** Woken consuming waiters whose task has not resumed yet. */
  woken = 0;
  private last = 0;
  private readonly revoke: (w: Waiter<boolean>) => void;

  /**
   * @param retry called when a woken consuming waiter was cancelled before it resumed: what it
   *   was woken for is still there, and the owner queues a pass to serve the next waiter.
   */
  constructor(retry: () => void) {
    super();
    this.revoke = () => {
      this.woken--;
      retry();
    };
  }

  /** A new place at the end of the line (for a `rawlink` sharing the line's order). */
  nextSeq(): number {
    return ++this.last;
  }

  /** The last place given so far (0 for none). */
  lastSeq(): number {
    return this.last;
  }

  /**
   * Puts `w` in the line: at the end, or, with the `seq` of a wait that was woken and found its
   * chance gone, back at that place.
   */
  enter(w: LineWaiter, seq = 0): void {
    if (seq === 0) {
      w.seq = ++this.last;
      this.push(w);
      return;
    }
    w.seq = seq;
    let after: Waiter<any> | null = null;
    for (let x = this.head; x !== null && (x as LineWaiter).seq < seq; x = x.next) after = x;
    if (after === null) {
      w.list = this;
      w.prev = null;
      w.next = this.head;
      if (this.head === null) this.tail = w;
      else this.head.prev = w;
      this.head = w;
      this.size++;
    } else if (after === this.tail) {
      this.push(w);
    } else {
      w.list = this;
      w.prev = after;
      w.next = after.next;
      (after.next as Waiter<any>).prev = w;
      after.next = w;
      this.size++;
    }
  }

  /** Wakes `w`, a waiter of this line (inside its owner's switch, see the notes). */
  wakeOne(w: LineWaiter): void {
    if (w.consumes) {
      this.woken++;
      w.onRevoke = this.revoke;
    }
    w.wake(true);
  }

  /**
   * `switchInto`'s wake (switch.ts) for `w`, a waiter still in its line: wakes it there. The
   * owner, whose pass goes on once `w` has blocked, is `switchInto`'s business.
   */
  static wakeInLine(_owner: unknown, w: LineWaiter): boolean {
    (w.list as WaitingLine).wakeOne(w);
    return true;
  }

  /** A woken consuming waiter's task resumed: it takes, or goes back in line, itself now. */
  resumed(): void {
    this.woken--;
  }
}
