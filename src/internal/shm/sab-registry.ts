/**
 * Shared buffers by number. A queue item travels as bytes, and bytes cannot carry a
 * SharedArrayBuffer; so a shared primitive inside an item travels as the id of its buffer, and
 * the buffer itself travels once, beside the bytes, to every weft thread.
 *
 *   putter                              every other weft thread
 *   ──────                              ───────────────────────
 *   id = share(sab) ──BroadcastChannel('weft:sab')──▶ known[id] = sab   (drained on demand,
 *   write item bytes { …, id } ─ring─▶ lookup(id) ─┘                     synchronously)
 *
 * Ordering: `share` posts before the item's bytes are published, and a post is queued at the
 * receiving port at once, so a consumer that has read the id finds the buffer by draining its
 * port synchronously (`receiveMessageOnPort`) — no event-loop turn needed.
 *
 * Late joiners: a thread booting after a broadcast did not hear it. Its spawner hands it a
 * snapshot of every buffer it knows (`snapshot`/`adoptSnapshot`); one broadcast between that
 * snapshot and the new thread's first listen can still be missed, so a miss asks the others
 * (`need`) and waits up to NEED_TIMEOUT_MS for any thread whose event loop is free to answer.
 *
 * Cost: a buffer shared this way stays reachable in every thread for the life of the process.
 */
import { BroadcastChannel, receiveMessageOnPort } from 'node:worker_threads';
import { parkSync } from '../atomics.js';
import { nextSabId } from './world.js';

/** Trade-off: how long a thread that missed a buffer waits for another to re-send it. */
const NEED_TIMEOUT_MS = 5000;

type Msg = { kind: 'have'; id: number; sab: SharedArrayBuffer } | { kind: 'need'; id: number };

interface Registry {
  known: Map<number, SharedArrayBuffer>;
  ids: WeakMap<SharedArrayBuffer, number>;
  channel: BroadcastChannel;
}

const KEY = Symbol.for('weft.sabRegistry');
const holder = globalThis as unknown as { [KEY]?: Registry };

function open(): Registry {
  const channel = new BroadcastChannel('weft:sab');
  const r: Registry = { known: new Map(), ids: new WeakMap(), channel };
  channel.onmessage = (e: unknown) => accept(r, (e as { data: Msg }).data);
  // The channel must never keep a thread alive on its own.
  channel.unref();
  return r;
}

function accept(r: Registry, m: Msg): void {
  switch (m.kind) {
    case 'have':
      if (!r.known.has(m.id)) {
        r.known.set(m.id, m.sab);
        r.ids.set(m.sab, m.id);
      }
      return;
    case 'need': {
      const sab = r.known.get(m.id);
      if (sab) r.channel.postMessage({ kind: 'have', id: m.id, sab } satisfies Msg);
      return;
    }
    default:
      m satisfies never;
  }
}

const registry: Registry = (holder[KEY] ??= open());

function drain(): void {
  for (;;) {
    const m = receiveMessageOnPort(registry.channel as never) as { message: Msg } | undefined;
    if (!m) return;
    accept(registry, m.message);
  }
}

/** The id of `sab`, sharing the buffer with every weft thread the first time. */
export function share(sab: SharedArrayBuffer): number {
  let id = registry.ids.get(sab);
  if (id !== undefined) return id;
  id = nextSabId();
  registry.ids.set(sab, id);
  registry.known.set(id, sab);
  registry.channel.postMessage({ kind: 'have', id, sab } satisfies Msg);
  return id;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** The buffer shared under `id`; throws when no thread can provide it. */
export function lookup(id: number): SharedArrayBuffer {
  let sab = registry.known.get(id);
  if (sab) return sab;
  drain();
  sab = registry.known.get(id);
  if (sab) return sab;
  registry.channel.postMessage({ kind: 'need', id } satisfies Msg);
  const deadline = Date.now() + NEED_TIMEOUT_MS;
  while (Date.now() < deadline) {
    parkSync(pause, 0, 0, 2);
    drain();
    sab = registry.known.get(id);
    if (sab) return sab;
  }
  throw new Error(
    `A shared weft object (buffer #${id}) arrived in this thread, but no thread could provide its memory within ${NEED_TIMEOUT_MS} ms. Pass shared objects to a thread through its args before sending them in queue items.`,
  );
}

/** Every buffer this thread knows, for a thread it is about to spawn. */
export function snapshot(): Array<[number, SharedArrayBuffer]> {
  drain();
  return [...registry.known];
}

export function adoptSnapshot(entries: ReadonlyArray<[number, SharedArrayBuffer]>): void {
  for (const [id, sab] of entries) {
    if (!registry.known.has(id)) {
      registry.known.set(id, sab);
      registry.ids.set(sab, id);
    }
  }
}
