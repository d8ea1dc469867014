/**
 * Loads the raw-socket addon (native/io.c) if it was built at install time; null otherwise.
 */
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';

export interface IoBinding {
  /** `v6only`: IPV6_V6ONLY on an IPv6 socket (an addon built before it ignores the argument);
   * `reusePort`: SO_REUSEPORT, set before bind(2) (ignored by a build without
   * `listenReusePort`). */
  listen(
    host: string,
    port: number,
    backlog: number,
    v6only?: boolean,
    reusePort?: boolean,
  ): number;
  /** True where `listen` takes `reusePort`; absent from an addon built before it. */
  readonly listenReusePort?: boolean;
  /** A non-blocking socket connected or connecting to an IP literal: its fd, or -errno.
   * Absent from an addon built before it. */
  connect?(host: string, port: number): number;
  /** A non-blocking Unix stream socket connected to `path` (a Unix connect(2) completes at
   * once): its fd, or -errno (-EAGAIN: the listener's backlog is full). Absent from an addon
   * built before it. */
  connectUnix?(path: string): number;
  /** connectUnix's socket, which the addon closes when this thread ends unless `closeOwned`
   * closed it first (no event loop watches it: a thread's blocking broker connection). Absent
   * from an addon built before it. */
  connectUnixOwned?(path: string): number;
  /** Closes a descriptor of `connectUnixOwned` (and forgets it): 0 or -errno. */
  closeOwned?(fd: number): number;
  /** Parks the thread until `fd` is ready for `events` (1 read, 4 write) or `timeoutMs` passes:
   * 1 ready, 0 timed out, -errno. Absent from an addon built before it. */
  waitReady?(fd: number, events: number, timeoutMs: number): number;
  /** A non-blocking Unix stream socket listening at `path`: its fd, or -errno. Absent from an
   * addon built before it. */
  listenUnix?(path: string, backlog: number): number;
  localPort(fd: number): number;
  addressOf(fd: number, peer: boolean): [string, number] | number;
  accept(fd: number): number;
  recv(fd: number, buf: Uint8Array, offset: number, length: number): number;
  send(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /** send(2) of buf[offset, offset + length) to each fd of `spec` ([fd, offset, length, result]
   * × count); each result: bytes taken or -errno. */
  sendBatch(spec: Int32Array, buf: Uint8Array, count: number): number;
  recvBlocking(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    timeoutMs: number,
  ): number;
  sendallBlocking(
    fd: number,
    buf: Uint8Array,
    offset: number,
    length: number,
    timeoutMs: number,
  ): number;
  acceptBlocking(fd: number, timeoutMs: number): number;
  shutdown(fd: number, how: number): number;
  /** setsockopt(2) of an int option; 0 or -errno. Absent from an addon built before it. */
  setsockoptInt?(fd: number, level: number, name: number, value: number): number;
  /** getsockopt(2) of an int option: its value or -errno. Absent from an older build. */
  getsockoptInt?(fd: number, level: number, name: number): number;
  close(fd: number): number;
  epollCreate(onReady: () => void): object | number;
  /** `tag`: TAG_READAHEAD (epollWaitRecv reads it), 2 (the addon closes the descriptor when the
   * thread ends, unless deleted first; ignored by a build without connectUnix). */
  epollCtl(poller: object, op: number, fd: number, events: number, tag?: number): number;
  /** Deletes `fd` from the set (if there) and closes it, in one call: 0 or close's -errno.
   * Absent from a build before it. */
  epollDelClose?(poller: object, fd: number): number;
  /** epoll_wait(0) plus recv(2) on each readable descriptor tagged TAG_READAHEAD, into `buf`:
   * `out` gets [fd, events, offset, result] per event (result NOREAD: not read). */
  epollWaitRecv(poller: object, out: Int32Array, buf: Uint8Array): number;
  /** 0/false stop, 1/true watch (keeps the loop alive), 2 watch without keeping it alive. */
  epollWatch(poller: object, mode: boolean | 0 | 1 | 2): number;
  epollClose(poller: object): number;
}

/** epollCtl tag: epollWaitRecv may recv(2) on this descriptor when it is readable. */
export const TAG_READAHEAD = 1;
/** epollWaitRecv result: the descriptor was not read. */
export const NOREAD = -0x10000;

const debug = debuglog('weft');

function load(): IoBinding | null {
  if (process.env.WEFT_NO_NATIVE === '1' || process.platform !== 'linux') return null;
  try {
    // src/socket/ and dist/socket/ are both two levels below the package root.
    return createRequire(import.meta.url)('../../native/build/Release/weft_io.node') as IoBinding;
  } catch (e) {
    debug('raw sockets: addon not loaded: %s', (e as Error).message);
    return null;
  }
}

export const io: IoBinding | null = load();
