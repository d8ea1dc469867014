/**
 * The line of greenlets waiting on a gevent queue or semaphore: who is woken, in what order, and
 * what happens when a woken greenlet finds its chance gone.
 *
 * Implementation notes
 * --------------------
 * gevent wakes a waiting greenlet by switching to it from a hub callback (a queue's `_unlock`, a
 * semaphore's notifier): the greenlet takes the item or the permit then and there, and runs until
 * it blocks again, before the hub looks at the next waiter. Until that callback runs, nothing is
 * reserved: a greenlet that calls `get()` or `acquire()` in between finds the item or the permit
 * free and takes it (gevent's release-then-acquire loop keeps its semaphore), and the waiter the
 * callback would have served stays first in line.
 *
 * weft resumes a waiter on its ready queue instead (src/internal/scheduler.ts). So a waiter is
 * woken as soon as there is something for it, in line order, but nothing is taken for it: it
 * takes the item or permit itself when its task resumes, as gevent's greenlet does when switched
 * to, and finds it gone if someone got there first — then it goes back to its old place in the
 * line (`enter(w, seq)`), not to the end, as gevent's never left it:
 *
 *   put(x) ──► wake(1): [ G1 ] woken ──(ready queue)──► G1 resumes ─┬─ item there: takes it
 *                                                                   └─ gone: back at seq 1
 *
 * `woken` counts the woken waiters that will take something (`consumes`: a getter, an acquirer;
 * not a `peek` or a semaphore's `wait`) and have not resumed; `wake(available)` wakes only as
 * many more as what is available covers, so N items wake N getters, in order. A woken waiter that
 * is cancelled (killed, aborted) before it resumes took nothing; its `onRevoke` hands its turn to
 * the next (`retry`), so no wake-up is lost and nothing leaks — the bug class the Waiter's grant
 * machinery exists for (waiter.ts), avoided here by granting nothing.
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
   *   was woken for is still there, and the owner wakes the next waiter for it.
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

  /**
   * Wakes waiters in line order while `available` (items, permits, free slots) is not yet
   * spoken for by the consuming waiters woken already. A waiter that only looks is woken while
   * anything is.
   */
  wake(available: number): void {
    let left = available - this.woken;
    for (let w = this.head as LineWaiter | null; w !== null && left > 0; ) {
      const next = w.next as LineWaiter | null;
      if (w.consumes) left--;
      this.wakeOne(w);
      w = next;
    }
  }

  /** Wakes `w`, a waiter of this line (for an owner that walks the line itself). */
  wakeOne(w: LineWaiter): void {
    if (w.consumes) {
      this.woken++;
      w.onRevoke = this.revoke;
    }
    w.wake(true);
  }

  /** A woken consuming waiter's task resumed: it takes, or goes back in line, itself now. */
  resumed(): void {
    this.woken--;
  }
}
