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

function onReady(): void {
  // One batch per callback, never a loop: the handlers' consequences (a task closing its
  // connection) run as microtasks after this callback returns; libuv calls again at once if the
  // set is still ready.
  const n = (io as NonNullable<typeof io>).epollWaitRecv(poller as object, out, RBUF);
  for (let i = 0; i < n; i++) {
    const j = 4 * i;
    handlers.get(out[j] as number)?.(
      out[j + 1] as number,
      out[j + 2] as number,
      out[j + 3] as number,
    );
  }
}

/** Registers `fd` for `events` (`readahead`: see the top of this file); the process stays alive
 * while anything is registered. */
export function watch(fd: number, events: number, handler: Handler, readahead = false): void {
  const b = io as NonNullable<typeof io>;
  if (poller === null) {
    const p = b.epollCreate(onReady);
    if (typeof p === 'number') throw new Error(`epoll_create1 failed (errno ${-p})`);
    poller = p;
  }
  if (events === 0) parked.add(fd);
  else {
    const r = b.epollCtl(poller, ADD, fd, events, readahead ? TAG_READAHEAD : 0);
    if (r < 0) throw new Error(`epoll_ctl(ADD, ${fd}) failed (errno ${-r})`);
  }
  handlers.set(fd, handler);
  if (handlers.size === 1) b.epollWatch(poller, true);
}

/** Changes what `fd` waits for; 0 parks it out of the set (see `parked`) until events return. */
export function modify(fd: number, events: number, readahead = false): void {
  if (poller === null || !handlers.has(fd)) return;
  const b = io as NonNullable<typeof io>;
  if (events === 0) {
    if (!parked.has(fd)) {
      b.epollCtl(poller, DEL, fd, 0);
      parked.add(fd);
    }
    return;
  }
  const tag = readahead ? TAG_READAHEAD : 0;
  if (parked.delete(fd)) {
    const r = b.epollCtl(poller, ADD, fd, events, tag);
    if (r < 0) throw new Error(`epoll_ctl(ADD, ${fd}) failed (errno ${-r})`);
  } else b.epollCtl(poller, MOD, fd, events, tag);
}

/** Unregisters `fd` (before it is closed). */
export function unwatch(fd: number): void {
  if (poller === null || !handlers.delete(fd)) return;
  const b = io as NonNullable<typeof io>;
  if (!parked.delete(fd)) b.epollCtl(poller, DEL, fd, 0);
  if (handlers.size === 0) b.epollWatch(poller, false);
}
