/**
 * Bench peer: the async queue a JavaScript programmer writes by hand — a ring buffer of items and
 * two FIFOs of promise resolvers (blocked getters, blocked putters), no timeouts, no
 * cancellation, no task scheduling. It is the floor under weft's Queue: what producer → consumer
 * costs in plain promises, so the bench shows what weft's guarantees (FIFO wake-up through the
 * ready queue, cancellation without lost items) cost on top of it.
 */
export class PlainQueue<T> {
  private items: (T | undefined)[] = new Array(16);
  private head = 0;
  private length = 0;
  private readonly getters: ((item: T) => void)[] = [];
  private readonly putters: (() => void)[] = [];
  private getterHead = 0;
  private putterHead = 0;

  /** `maxsize <= 0` is unbounded, as in Python. */
  constructor(readonly maxsize = 0) {}

  get size(): number {
    return this.length;
  }

  async put(item: T): Promise<void> {
    while (this.maxsize > 0 && this.length >= this.maxsize) {
      await new Promise<void>((resolve) => this.putters.push(resolve));
    }
    if (this.getterHead < this.getters.length) {
      // A getter is blocked, so the buffer is empty: hand the item over directly.
      const resolve = this.getters[this.getterHead++]!;
      this.compactGetters();
      resolve(item);
      return;
    }
    if (this.length === this.items.length) this.grow();
    this.items[(this.head + this.length) & (this.items.length - 1)] = item;
    this.length++;
  }

  get(): Promise<T> {
    if (this.length === 0) return new Promise<T>((resolve) => this.getters.push(resolve));
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.length--;
    if (this.putterHead < this.putters.length) {
      const wake = this.putters[this.putterHead++]!;
      this.compactPutters();
      wake();
    }
    return Promise.resolve(item);
  }

  private compactGetters(): void {
    if (this.getterHead === this.getters.length) {
      this.getters.length = 0;
      this.getterHead = 0;
    }
  }

  private compactPutters(): void {
    if (this.putterHead === this.putters.length) {
      this.putters.length = 0;
      this.putterHead = 0;
    }
  }

  private grow(): void {
    const old = this.items;
    const next: (T | undefined)[] = new Array(old.length * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & (old.length - 1)];
    this.items = next;
    this.head = 0;
  }
}
