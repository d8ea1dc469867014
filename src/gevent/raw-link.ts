/**
 * A `rawlink` registration, shared by the objects that take them (event.ts's Linkable, and
 * semaphore.ts): gevent keeps one list of callbacks per object and, once a notify pass has
 * picked some, a queue of those not run yet, which `unlink` can still stop.
 */
export interface RawLink {
  cb: (source: any) => void;
  /** Registration order. */
  seq: number;
  /** Unlinked after it was queued: it does not run. */
  dead: boolean;
}

/**
 * gevent's `unlink`: removes the first registration of `cb` not called yet — still linked, or
 * queued by a pass (then marked dead, so the pass skips it); does nothing if there is none.
 * `queued` is null for an owner whose pass calls each callback as soon as it takes it.
 */
export function unlinkFirst(rawlinks: RawLink[], queued: RawLink[] | null, cb: unknown): void {
  const i = rawlinks.findIndex((x) => x.cb === cb);
  if (i >= 0) {
    rawlinks.splice(i, 1);
    return;
  }
  if (queued === null) return;
  const j = queued.findIndex((x) => x.cb === cb);
  if (j >= 0) {
    (queued[j] as RawLink).dead = true;
    queued.splice(j, 1);
  }
}
