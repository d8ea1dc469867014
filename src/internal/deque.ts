/**
 * A FIFO/LIFO of items with O(1) push/shift/pop/unshift at both ends, kept as a list of
 * fixed-size blocks (CPython's `collections.deque` has the same shape).
 *
 * Implementation notes
 * --------------------
 * A ring buffer that doubles when full copies every item at each doubling and, once it holds
 * ~16K items, lives in the large-object space: a queue of 100,000 items (a producer ahead of its
 * consumer, a pool's backlog) allocated and copied 2 MiB of fresh arrays, and on this machine
 * fresh memory is what costs (100,000 pushes then shifts: ~10 ms as a ring, ~1 ms in blocks).
 * Blocks are 8 KiB ordinary objects; one emptied block is kept as a spare, so a queue that
 * fills and drains around a block boundary allocates nothing.
 *
 *   head block                              tail block
 *   [ . . . x x x ] ⇄ [ x x x x x x ] ⇄ [ x x . . . . ]
 *           ▲ headIdx                          ▲ tailIdx (one past the last item)
 *
 * Invariants: when `length > 0`, the head block holds the first item at `headIdx < BLOCK` and
 * the tail block holds the last at `tailIdx - 1 >= 0` (an end block that empties is unlinked at
 * once); when `length === 0`, `head === tail` and `headIdx === tailIdx`. Vacated slots are set
 * to undefined so the deque holds no item it gave out.
 */
const BLOCK = 1024;

class Block<T> {
  readonly slots: (T | undefined)[] = new Array(BLOCK);
  prev: Block<T> | null = null;
  next: Block<T> | null = null;
}

export class Deque<T> {
  private head: Block<T> = new Block();
  private tail: Block<T> = this.head;
  private headIdx = 0;
  private tailIdx = 0;
  private spare: Block<T> | null = null;
  length = 0;

  push(item: T): void {
    if (this.tailIdx === BLOCK) {
      const b = this.take();
      b.prev = this.tail;
      this.tail.next = b;
      this.tail = b;
      this.tailIdx = 0;
    }
    this.tail.slots[this.tailIdx++] = item;
    this.length++;
  }

  unshift(item: T): void {
    if (this.headIdx === 0) {
      if (this.length === 0) {
        // Empty: start in the middle of the block, so both ends have room.
        this.headIdx = this.tailIdx = BLOCK >> 1;
      } else {
        const b = this.take();
        b.next = this.head;
        this.head.prev = b;
        this.head = b;
        this.headIdx = BLOCK;
      }
    }
    this.head.slots[--this.headIdx] = item;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const b = this.head;
    const item = b.slots[this.headIdx];
    b.slots[this.headIdx++] = undefined;
    if (--this.length === 0) this.reset();
    else if (this.headIdx === BLOCK) {
      const next = b.next as Block<T>;
      next.prev = null;
      this.head = next;
      this.headIdx = 0;
      this.give(b);
    }
    return item;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const b = this.tail;
    const item = b.slots[--this.tailIdx];
    b.slots[this.tailIdx] = undefined;
    if (--this.length === 0) this.reset();
    else if (this.tailIdx === 0) {
      const prev = b.prev as Block<T>;
      prev.next = null;
      this.tail = prev;
      this.tailIdx = BLOCK;
      this.give(b);
    }
    return item;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.head.slots[this.headIdx];
  }

  clear(): void {
    this.head = this.tail = new Block();
    this.headIdx = this.tailIdx = 0;
    this.spare = null;
    this.length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    let b: Block<T> | null = this.head;
    let i = this.headIdx;
    for (let left = this.length; left > 0; left--) {
      if (i === BLOCK) {
        b = (b as Block<T>).next;
        i = 0;
      }
      yield (b as Block<T>).slots[i++] as T;
    }
  }

  /** Emptied by the last shift or pop: one block, both indexes at its start. */
  private reset(): void {
    this.tail = this.head;
    this.headIdx = this.tailIdx = 0;
  }

  private take(): Block<T> {
    const s = this.spare;
    if (s === null) return new Block();
    this.spare = null;
    return s;
  }

  /** An unlinked, emptied block (every slot already undefined) becomes the spare. */
  private give(b: Block<T>): void {
    b.prev = b.next = null;
    this.spare = b;
  }
}
