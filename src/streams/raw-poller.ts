/**
 * One epoll set per thread for the raw transport of weft/streams (src/streams/raw-transport.ts),
 * watched by libuv through the weft_io addon while anything is registered in it.
 *
 * When libuv reports the set readable, the ready descriptors' handlers run in one callback (one
 * batch); the waiter engine's wake-ups they cause run as microtasks after it, together. The set
 * is level-triggered: a handler that cannot consume what made it ready must change its events
 * (0 takes the descriptor out of the set until it has something to wait for: epoll reports a
 * hang-up or an error whatever the mask, so a paused connection whose peer reset would otherwise
 * be reported on every turn, a busy loop).
 *
 * Read-ahead: a descriptor registered with `readahead` is read in the same native call that
 * drains the set (epollWaitRecv, native/io.c), into one shared buffer: its handler gets the
 * bytes' place in `RBUF` (or the EOF / error recv returned) instead of calling recv itself — one
 * crossing into native code per turn for the reads instead of one per socket. `RBUF` is reused
 * by the next turn: a handler copies what it keeps. A descriptor is read ahead only while its
 * owner wants to read (it registers with `readahead` false while paused).
 *
 * Failures. `watch` and `modify` run inside the dispatch (a connection accepted, paused, resumed
 * or waiting for room), so they never throw: they return -errno (epoll_ctl's ENOSPC past
 * fs.epoll.max_user_watches, ENOMEM, EBADF…) and the owner closes that one connection with a
 * typed error. An exception out of onReady would not reach anyone: N-API keeps it pending, refuses
 * every later callback (libuv calling again at once: a busy loop serving no descriptor) and throws
 * it from the next unrelated call into the addon. So a handler that throws (a 'data' listener of
 * user code) is reported as Node reports one of net's ('uncaughtException'), and the batch goes
 * on: the other descriptors' bytes are already read into RBUF.
 *
 * A descriptor unwatched during a batch (closed by a handler) keeps its entry in `out`, with the
 * bytes read ahead for it; its number may name a new connection before the entry comes up (an
 * accept later in the batch takes the lowest free number). Such entries are dropped: they belong
 * to the connection that is gone.
 */
import { io, NOREAD, TAG_READAHEAD } from '../socket/native-io.js';

export const EPOLLIN = 0x001;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;

const ADD = 1;
const DEL = 2;
const MOD = 3;
/** Tuning: events per epoll_wait (per libuv callback). */
const BATCH = 512;
/** Tuning: the shared read-ahead buffer (the native side reads at most 64 KiB a descriptor and
 * stops reading ahead below 1 KiB of room: those handlers get NOREAD and recv themselves). */
const RBUF_SIZE = 256 * 1024;

export { NOREAD };
/** Where read-ahead bytes are, for the handler of the current turn only. */
export const RBUF = Buffer.allocUnsafeSlow(RBUF_SIZE);

/** `result`: bytes read ahead into RBUF[offset, offset + result), 0 EOF, -errno, or NOREAD. */
type Handler = (events: number, offset: number, result: number) => void;

const handlers = new Map<number, Handler>();
/** Descriptors registered with no events are taken out of the epoll set: epoll reports hang-ups
 * and errors whatever the mask, and one that nobody can act on yet would be reported on every
 * turn of the loop. */
const parked = new Set<number>();
const out = new Int32Array(BATCH * 4);
let poller: object | null = null;
/** True while onReady hands out a batch. */
let dispatching = false;
/** Descriptors unwatched during the current batch (see the top of this file). */
const goneInBatch = new Set<number>();

function onReady(): void {
  // One batch per callback, never a loop: the handlers' consequences (a task closing its
  // connection) run as microtasks after this callback returns; libuv calls again at once if the
  // set is still ready.
  const n = (io as NonNullable<typeof io>).epollWaitRecv(poller as object, out, RBUF);
  dispatching = true;
  for (let i = 0; i < n; i++) {
    const j = 4 * i;
    const fd = out[j] as number;
    if (goneInBatch.size !== 0 && goneInBatch.has(fd)) continue;
    const handler = handlers.get(fd);
    if (handler === undefined) continue;
    try {
      handler(out[j + 1] as number, out[j + 2] as number, out[j + 3] as number);
    } catch (e) {
      reportUncaught(e);
    }
  }
  dispatching = false;
  if (goneInBatch.size !== 0) goneInBatch.clear();
}

/** A handler threw: 'uncaughtException' (as a throwing listener of a net.Socket's), once this
 * callback is over — not out of it (see the top of this file). */
function reportUncaught(e: unknown): void {
  queueMicrotask(() => {
    throw e;
  });
}

/** Registers `fd` for `events` (`readahead`: see the top of this file); the process stays alive
 * while anything is registered. 0, or -errno (nothing registered) when epoll refuses it. */
export function watch(fd: number, events: number, handler: Handler, readahead = false): number {
  const b = io as NonNullable<typeof io>;
  if (poller === null) {
    const p = b.epollCreate(onReady);
    if (typeof p === 'number') return p;
    poller = p;
  }
  if (events !== 0) {
    const r = b.epollCtl(poller, ADD, fd, events, readahead ? TAG_READAHEAD : 0);
    if (r < 0) return r;
  } else parked.add(fd);
  handlers.set(fd, handler);
  if (handlers.size === 1) b.epollWatch(poller, true);
  return 0;
}

/** Changes what `fd` waits for; 0 parks it out of the set (see `parked`) until events return.
 * 0, or -errno when epoll refuses the change: the owner should then close the descriptor (its
 * registration is whatever epoll kept; `unwatch` clears it). */
export function modify(fd: number, events: number, readahead = false): number {
  if (poller === null || !handlers.has(fd)) return 0;
  const b = io as NonNullable<typeof io>;
  if (events === 0) {
    if (parked.has(fd)) return 0;
    const r = b.epollCtl(poller, DEL, fd, 0);
    if (r < 0) return r;
    parked.add(fd);
    return 0;
  }
  const tag = readahead ? TAG_READAHEAD : 0;
  if (!parked.has(fd)) return b.epollCtl(poller, MOD, fd, events, tag);
  const r = b.epollCtl(poller, ADD, fd, events, tag);
  if (r < 0) return r; // still out of the set, still parked
  parked.delete(fd);
  return 0;
}

/** Unregisters `fd` (before it is closed). Never fails: a descriptor epoll no longer knows is
 * out of the set already. */
export function unwatch(fd: number): void {
  if (poller === null || !handlers.delete(fd)) return;
  const b = io as NonNullable<typeof io>;
  if (!parked.delete(fd)) b.epollCtl(poller, DEL, fd, 0);
  if (dispatching) goneInBatch.add(fd);
  if (handlers.size === 0) b.epollWatch(poller, false);
}
