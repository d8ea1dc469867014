/**
 * The broker's side of a multiprocessing `Event`: its word (FLAG, the generation, WAITERS) in the
 * lock slab when the event has a slot there (lock-slab.ts has the layout and who writes what),
 * else in a word of the broker's own, which only the broker touches — the same methods either
 * way, so an event without a slot (no addon, WEFT_LOCK_SLAB=0, the slab full) behaves as one
 * with a slot whose every call comes here.
 *
 * Clients set and clear FLAG in the slab from their own processes (a set adds 1 to the
 * generation as it raises FLAG), so the broker changes the word only by compare-and-swap from
 * the value it read. A client's `set` tells the broker (`'set'` with the generation it made)
 * only when WAITERS was set in the word it replaced; `clear` never does.
 *
 * Parking without losing a wake-up: a wait that found FLAG clear in its thread comes here and
 * reads the word again (`arm`). FLAG set: answered true. FLAG clear: WAITERS goes in by a CAS
 * from that very value, and the waiter keeps the generation it read. If a set landed between
 * the read and the CAS, the CAS fails and the word is read again, so the waiter is parked only
 * while the word still says "clear, generation g, WAITERS set". Every set after that replaces a
 * word with WAITERS set, so its thread tells the broker, which wakes every waiter of an older
 * generation (`wakes`): all those parked before that set, whether or not a clear came after it
 * (`threading.Event`'s rule, weft's before: a waiter parked when `set()` happens returns true;
 * CPython's multiprocessing one wakes too, though it may then read the flag clear again). A waiter that parked after
 * a set and a clear (its generation is the set's own) stays parked, though the set's word comes
 * later. While the slab's FLAG is set, every parked waiter is woken: none parks with FLAG set.
 *
 * A setter that dies between its compare-and-swap and its word leaves the new generation in the
 * word and nobody told: when any session ends, the broker wakes the waiters of older generations
 * than the word's (`wakeSetSince`), FLAG set or cleared again since, as the word would have.
 *
 * WAITERS is exact at the end of every broker turn: set while a waiter is parked, clear when
 * none is (`settle`, after every park, wake-up, timeout and withdrawal, and when a session
 * ends — its process died with waiters parked). Clients never write the bit. A set that read
 * WAITERS just before the broker cleared it sends a word that wakes nobody; a set that read it
 * clear had no waiter to wake.
 */
import type { Waiter } from './broker-conn.js';
import { brokerWordIndex, EVENT_FLAG, EVENT_GEN, WAITERS } from './lock-slab.js';

/** One generation in the word (its bits start at bit 1). */
const GEN_STEP = 2;
/** Half of the generation's range: a waiter's generation is older than a set's within it. */
const GEN_HALF = (EVENT_GEN + GEN_STEP) / 2;

/** Whether generation `p` (a waiter's) comes before `g` (a set's), modulo the field's range. */
export function genBefore(p: number, g: number): boolean {
  const d = (g - p) & EVENT_GEN;
  return d !== 0 && d < GEN_HALF;
}

/** The word after a set of `w` (FLAG clear in `w`): FLAG, the next generation, WAITERS kept. */
export function setWord(w: number): number {
  return (w & WAITERS) | (((w & EVENT_GEN) + GEN_STEP) & EVENT_GEN) | EVENT_FLAG;
}

export class BrokerEvent {
  readonly k = 'event';
  readonly waiters: Waiter[] = [];
  /** The word: the slab's, or one of the broker's own. */
  readonly #a: Int32Array;
  readonly #i: number;
  /** While a set's word is being delivered (`wakeBefore`): its generation. */
  #waking: number | null = null;

  /** `slab`: the broker's mapping of the slab (null: none); `slot`: the one the creator sent. */
  constructor(slab: Int32Array | null, slot: unknown) {
    const i = brokerWordIndex(slab, slot);
    if (slab !== null && i >= 0) {
      this.#a = slab;
      this.#i = i;
    } else {
      this.#a = new Int32Array(1);
      this.#i = 0;
    }
  }

  get flag(): boolean {
    return (Atomics.load(this.#a, this.#i) & EVENT_FLAG) !== 0;
  }

  /**
   * A set made here (for a client that does not reach the word): the generation it made, which
   * the caller then wakes the waiters before (`wakeBefore`: a client's clear in the slab may
   * already have followed it), or null when FLAG was set already.
   */
  set(): number | null {
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      if ((w & EVENT_FLAG) !== 0) return null;
      const now = setWord(w);
      if (Atomics.compareExchange(this.#a, this.#i, w, now) === w) return now & EVENT_GEN;
    }
  }

  clear(): void {
    Atomics.and(this.#a, this.#i, ~EVENT_FLAG);
  }

  /**
   * A wait's check as it parks: null when FLAG is set (answer true), else the generation it
   * waits past, with WAITERS set in the same word it read clear.
   */
  arm(): number | null {
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      if ((w & EVENT_FLAG) !== 0) return null;
      if ((w & WAITERS) !== 0) return w & EVENT_GEN;
      if (Atomics.compareExchange(this.#a, this.#i, w, w | WAITERS) === w) return w & EVENT_GEN;
    }
  }

  /** Whether a waiter parked at generation `gen` is to be woken now. */
  wakes(gen: number): boolean {
    if (this.flag) return true;
    return this.#waking !== null && genBefore(gen, this.#waking);
  }

  /**
   * Wakes (with `pump`) the waiters parked before the set that made generation `g` — a
   * client's word: its set raised FLAG over WAITERS, and FLAG may be clear again by now.
   */
  wakeBefore(g: number, pump: (list: Waiter[]) => void): void {
    this.#waking = g;
    try {
      pump(this.waiters);
    } finally {
      this.#waking = null;
    }
  }

  /**
   * Wakes the waiters parked before the word's generation now: a set came after them, whose
   * word to the broker may never come (its process died between its compare-and-swap and its
   * message), and a clear may have hidden FLAG since. The generation says it all the same: it
   * moves only with a set, and a waiter keeps the one it read with FLAG clear. Called when a
   * session ends (broker.ts onSessionEnd), since the slab does not say whose set it was.
   */
  wakeSetSince(pump: (list: Waiter[]) => void): void {
    if (this.waiters.length === 0) return;
    this.wakeBefore(Atomics.load(this.#a, this.#i) & EVENT_GEN, pump);
  }

  /**
   * Makes WAITERS tell the truth after the waiters changed: set while any is parked, cleared
   * otherwise. A FLAG found set first wakes them all (a set whose thread read WAITERS clear
   * while the last of them was being armed cannot have been the one to tell).
   */
  settle(pump: (list: Waiter[]) => void): void {
    for (;;) {
      const w = Atomics.load(this.#a, this.#i);
      if (this.waiters.length > 0 && (w & EVENT_FLAG) !== 0) {
        pump(this.waiters);
        continue;
      }
      const want = this.waiters.length > 0 ? w | WAITERS : w & ~WAITERS;
      if (want === w || Atomics.compareExchange(this.#a, this.#i, w, want) === w) return;
    }
  }
}
