/**
 * The raw transport of weft/streams: a TCP connection on a descriptor weft owns (weft_io addon),
 * shaped like the part of Node's `net.Socket` that src/streams/protocol.ts and StreamWriter
 * use, so a server can hand it to them unchanged. It is the leaner path the echo benchmark asks
 * for: readiness from weft's epoll set (src/streams/raw-poller.ts), whose native call also
 * reads every readable connection into one shared buffer (each chunk then copied out at its
 * exact size: the reader keeps it), `send(2)` straight from the caller's buffer, and a queue
 * only for what the kernel did not take (a copy: the caller may reuse its buffer).
 *
 *   readable ──► recv ──► 'data' (copy) ──► StreamReader     pause(): EPOLLIN off
 *   write(b) ──► send now ── partial? ──► queue, EPOLLOUT on ── writable ──► flush ──► 'drain'
 *   EOF ──► 'end' (half-open: writing goes on)    error ──► 'error', 'close'
 *
 * Batched sends. A small write (at most SEND_BATCH_MAX bytes) to a connection with nothing
 * queued is copied into one shared buffer instead of being sent at once; a `setImmediate` —
 * which runs once every task woken by this turn of the loop has written — sends the whole
 * turn's writes in one native call (sendBatch). The bytes count as queued until then (for
 * `writableLength`, `end()` and back pressure); what the kernel did not take goes to the head
 * of the connection's queue, and a connection destroyed before the flush is skipped (its
 * descriptor may already be another connection's). A write with a callback is never batched.
 * A write made while the connection's entry waits in the batch is queued behind it, and the
 * queue is neither flushed nor watched for EPOLLOUT until the batch has sent the entry
 * (`_afterBatch` then flushes it): flushing it earlier would put its bytes before the entry's.
 *
 *   | batch state (module)  | meaning                                                      |
 *   | --------------------- | ------------------------------------------------------------ |
 *   | SBUF[0, sUsed)        | the bytes of this turn's batched writes, back to back        |
 *   | batch                 | their transports, in write order; each has one entry at most |
 *   | t.batchOff/batchLen   | where t's entry is in SBUF (batchOff -1: none)               |
 *
 * `RawListener` accepts on a listening descriptor and emits 'connection' with RawTransports;
 * like `net.Server` it emits 'close' once closed and every connection it made has closed.
 *
 * epoll_ctl failures (ENOSPC past fs.epoll.max_user_watches, ENOMEM, EBADF) happen inside the
 * poller's dispatch: a connection accepted, paused, resumed, or waiting for room. They close that
 * connection with the OSError for the errno ('error', then 'close'), as a failed send or recv
 * does; an accepted connection that cannot be registered is still handed out, destroyed, so that
 * its handler sees why, and the listener then backs off as for EMFILE. Nothing throws out of the
 * dispatch (see src/streams/raw-poller.ts).
 */
import { EventEmitter } from 'node:events';
import {
  IPPROTO_TCP,
  SHUT_WR,
  SO_KEEPALIVE,
  SOL_SOCKET,
  TCP_NODELAY,
} from '../socket/constants.js';
import { fromErrno } from '../socket/errors.js';
import { io } from '../socket/native-io.js';
import { EPOLLIN, EPOLLOUT, modify, NOREAD, RBUF, unwatch, watch } from './raw-poller.js';

const EAGAIN = 11;
/** accept(2) errors that concern one pending connection only (it is gone, or its own network
 * failed): the next connection in the backlog may be accepted at once. */
const ACCEPT_SKIP = new Set([
  4, // EINTR
  64, // ENONET
  71, // EPROTO
  92, // ENOPROTOOPT
  95, // EOPNOTSUPP
  100, // ENETDOWN
  101, // ENETUNREACH
  103, // ECONNABORTED
  112, // EHOSTDOWN
  113, // EHOSTUNREACH
]);
/** Tuning: how long a listener whose accept failed otherwise (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 * stays out of the epoll set. Shorter retries sooner once a descriptor frees, at the cost of
 * more failed accepts while none does; the connection waits in the backlog meanwhile. */
export const ACCEPT_RETRY_MS = 100;
/** Tuning: past this many queued bytes `write` returns false and `drain` waits (net's is 16 KiB;
 * asyncio's 64 KiB). */
const HIGH_WATER = 64 * 1024;

/** Tuning: writes up to this size are batched (larger ones are sent at once, uncopied). */
const SEND_BATCH_MAX = 16 * 1024;
/** Tuning: the shared send buffer and the most entries of one batch. */
const SBUF_SIZE = 256 * 1024;
const BATCH_ENTRIES = 4096;

type WriteCb = (err?: Error | null) => void;

const SBUF = Buffer.allocUnsafeSlow(SBUF_SIZE);
const SPEC = new Int32Array(BATCH_ENTRIES * 4);
let sUsed = 0;
let batch: RawTransport[] = [];
let spare: RawTransport[] = [];
let flushArmed = false;

/** Sends every batched write of this turn in one native call (see the top of this file). */
function flushBatch(): void {
  flushArmed = false;
  const list = batch;
  batch = spare;
  let k = 0;
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as RawTransport;
    if (t.destroyed) continue;
    SPEC[4 * k] = t.fd;
    SPEC[4 * k + 1] = t.batchOff;
    SPEC[4 * k + 2] = t.batchLen;
    k++;
  }
  if (k > 0) b().sendBatch(SPEC, SBUF, k);
  // First every unsent rest out of SBUF, then the transports' reactions (which may write again
  // and so refill SBUF from 0).
  const rests: (Buffer | null)[] = [];
  const results: number[] = [];
  k = 0;
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as RawTransport;
    if (t.destroyed) {
      rests.push(null);
      results.push(0);
      continue;
    }
    const r = SPEC[4 * k + 3] as number;
    k++;
    const sent = Math.max(r, 0);
    rests.push(
      (r >= 0 || r === -EAGAIN) && sent < t.batchLen
        ? Buffer.from(SBUF.subarray(t.batchOff + sent, t.batchOff + t.batchLen))
        : null,
    );
    results.push(r);
  }
  sUsed = 0;
  for (let i = 0; i < list.length; i++) {
    const t = list[i] as RawTransport;
    t.batchOff = -1;
    if (!t.destroyed) t._afterBatch(results[i] as number, rests[i] as Buffer | null);
  }
  list.length = 0;
  spare = list;
}

function b(): NonNullable<typeof io> {
  return io as NonNullable<typeof io>;
}

export class RawTransport extends EventEmitter {
  /** For weft/sendfile, which writes to the descriptor itself. */
  _handle: { fd: number } | null;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly connecting = false;
  destroyed = false;
  writable = true;
  /** @internal */
  readonly fd: number;
  /** @internal This connection's entry in the send batch (see the top of this file). */
  batchOff = -1;
  /** @internal */
  batchLen = 0;
  private queue: { buf: Buffer; cb: WriteCb | undefined }[] = [];
  private queued = 0;
  private needDrain = false;
  private events = EPOLLIN;
  private reading = true;
  private readEnded = false;
  private endPending = false;
  private writeShut = false;
  /** destroySoon() was called: close once the end (FIN) has gone out. */
  private destroyAfterEnd = false;
  private idle: NodeJS.Timeout | null = null;
  private failure: Error | null = null;

  /** TCP_NODELAY as the descriptor has it: a call that changes nothing makes no system call. */
  private noDelay: boolean;

  /** `noDelay`: what the descriptor has (weft's accept(2) turns TCP_NODELAY on). */
  constructor(fd: number, noDelay = true) {
    super();
    this.fd = fd;
    this.noDelay = noDelay;
    this._handle = { fd };
    const peer = b().addressOf(fd, true);
    const local = b().addressOf(fd, false);
    if (Array.isArray(peer)) [this.remoteAddress, this.remotePort] = peer;
    if (Array.isArray(local)) [this.localAddress, this.localPort] = local;
    const r = watch(fd, this.events, (ev, off, res) => this.onEvents(ev, off, res), true);
    // Born destroyed: 'error' and 'close' come on the next tick, after the owner has listened.
    if (r < 0) this.destroy(fromErrno(-r, 'epoll_ctl'));
  }

  get writableNeedDrain(): boolean {
    return this.needDrain;
  }

  get writableLength(): number {
    return this.queued;
  }

  get writableFinished(): boolean {
    return this.writeShut && this.queued === 0;
  }

  get closed(): boolean {
    return this.destroyed;
  }

  /** The error the connection was destroyed with (as net's), or null. */
  get errored(): Error | null {
    return this.failure;
  }

  /** TCP_NODELAY (accept() turned it on already: weft/streams wants it, as asyncio does). */
  setNoDelay(noDelay = true): this {
    if (noDelay !== this.noDelay && !this.destroyed) {
      this.noDelay = noDelay;
      this.intOption(IPPROTO_TCP, TCP_NODELAY, noDelay);
    }
    return this;
  }

  /** SO_KEEPALIVE (the system's probe timing: `initialDelay` is not applied). */
  setKeepAlive(enable = false): this {
    this.intOption(SOL_SOCKET, SO_KEEPALIVE, enable);
    return this;
  }

  private intOption(level: number, name: number, on: boolean): void {
    // As net's: an option on a closed connection does nothing. An addon built before the call
    // existed (no rebuild since) leaves the option as accept() set it.
    if (this.destroyed) return;
    b().setsockoptInt?.(this.fd, level, name, on ? 1 : 0);
  }

  cork(): void {}

  uncork(): void {}

  /** Idle timeout: 'timeout' after `ms` without reads or writes (as net's). */
  setTimeout(ms: number, cb?: () => void): this {
    if (this.destroyed) return this; // no timer outliving the connection
    if (cb) this.once('timeout', cb);
    if (this.idle !== null) clearTimeout(this.idle);
    this.idle = ms > 0 ? setTimeout(() => this.emit('timeout'), ms) : null;
    return this;
  }

  pause(): this {
    this.reading = false;
    this.setEvents();
    return this;
  }

  resume(): this {
    this.reading = true;
    this.setEvents();
    return this;
  }

  isPaused(): boolean {
    return !this.reading;
  }

  /**
   * Sends `data` now or queues it. What is queued is a copy (as asyncio's buffer is): the caller
   * may reuse its buffer once `write` returns — weft/socket's `send`/`sendall` return then, and a
   * buffer refilled after them must not change bytes still waiting for room.
   */
  write(data: Uint8Array | string, cb?: WriteCb | BufferEncoding, cb2?: WriteCb): boolean {
    const done = typeof cb === 'function' ? cb : cb2;
    const buf =
      typeof data === 'string'
        ? Buffer.from(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (this.destroyed || this.writeShut || this.endPending) {
      const err = Object.assign(new Error('write after end or destroy'), {
        code: 'ERR_STREAM_DESTROYED',
      });
      if (done) process.nextTick(done, err);
      return false;
    }
    this.activity();
    if (this.queued === 0) {
      const len = buf.length;
      if (
        done === undefined &&
        len > 0 &&
        len <= SEND_BATCH_MAX &&
        sUsed + len <= SBUF_SIZE &&
        batch.length < BATCH_ENTRIES
      ) {
        // Batched: sent with the rest of this turn's writes (see the top of this file).
        if (len <= 256) for (let i = 0; i < len; i++) SBUF[sUsed + i] = buf[i] as number;
        else buf.copy(SBUF, sUsed);
        this.batchOff = sUsed;
        this.batchLen = len;
        sUsed += len;
        batch.push(this);
        this.queued = len;
        if (!flushArmed) {
          flushArmed = true;
          setImmediate(flushBatch);
        }
        return true;
      }
      const n = buf.length === 0 ? 0 : b().send(this.fd, buf, 0, buf.length);
      if (n === buf.length) {
        if (done) process.nextTick(done);
        return true;
      }
      if (n < 0 && n !== -EAGAIN) {
        this.destroy(fromErrno(-n, 'send'));
        if (done) process.nextTick(done, new Error('connection lost'));
        return false;
      }
      const rest = n > 0 ? buf.subarray(n) : buf;
      this.queue.push({ buf: typeof data === 'string' ? rest : Buffer.from(rest), cb: done });
      this.queued += rest.length;
      this.setEvents();
      if (this.destroyed) return false; // epoll refused EPOLLOUT: `done` has the error
    } else {
      this.queue.push({ buf: typeof data === 'string' ? buf : Buffer.from(buf), cb: done });
      this.queued += buf.length;
    }
    if (this.queued >= HIGH_WATER) this.needDrain = true;
    return !this.needDrain;
  }

  /** Half-close once the queue is flushed. */
  end(): this {
    if (this.destroyed || this.writeShut) return this;
    // As net's: nothing may be written after the end (weft/sendfile checks it).
    this.writable = false;
    if (this.queued === 0) this.shutWrite();
    else this.endPending = true;
    return this;
  }

  /**
   * Close once the queue is flushed (net's destroySoon): end, then close when the end is done.
   * As net's, through `this.end()`, so that whoever holds this connection's writes (weft/sendfile
   * while a file goes out: src/sendfile/write-hold.ts) holds the close behind them too.
   */
  destroySoon(): void {
    this.destroyAfterEnd = true;
    if (!this.writeShut && !this.endPending) this.end();
    if (this.writableFinished) this.destroy();
  }

  destroy(err?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.writable = false;
    this.failure = err ?? null;
    if (this.idle !== null) clearTimeout(this.idle);
    this.lastSend();
    unwatch(this.fd);
    b().close(this.fd);
    this._handle = null;
    const lost = err ?? Object.assign(new Error('socket closed'), { code: 'ERR_STREAM_DESTROYED' });
    for (const q of this.queue) if (q.cb) process.nextTick(q.cb, lost);
    this.queue = [];
    this.queued = 0;
    process.nextTick(() => {
      if (err) this.emit('error', err);
      this.emit('close', err !== undefined);
    });
    return this;
  }

  /**
   * On destroy: one non-blocking send of what the batch holds for this connection, then of the
   * queue behind it. Node's net and asyncio hand a write to the kernel at once; a batched write
   * only waits for the end of the turn, and `drain()` reported it gone. Destroying (abort) may
   * drop what the kernel has no room for, as theirs do, but not bytes it was never offered.
   */
  private lastSend(): void {
    if (this.batchOff < 0) return;
    const n = b().send(this.fd, SBUF, this.batchOff, this.batchLen);
    // flushBatch skips a destroyed connection; the entry stays in `batch` until then.
    this.batchOff = -1;
    if (n !== this.batchLen) return;
    this.queued -= n;
    while (this.queue.length > 0) {
      const head = this.queue[0] as { buf: Buffer; cb: WriteCb | undefined };
      const m = b().send(this.fd, head.buf, 0, head.buf.length);
      if (m !== head.buf.length) return;
      this.queue.shift();
      if (head.cb) process.nextTick(head.cb);
    }
  }

  private activity(): void {
    this.idle?.refresh();
  }

  private shutWrite(): void {
    this.writeShut = true;
    this.endPending = false;
    b().shutdown(this.fd, SHUT_WR);
    if (this.readEnded || this.destroyAfterEnd) this.destroy();
  }

  private setEvents(): void {
    if (this.destroyed) return;
    // EPOLLOUT only for bytes waiting on the kernel: not for a batched write, nor for the queue
    // behind it (the batch sends the entry, then flushes the queue: see the top of this file).
    const ev =
      (this.reading && !this.readEnded ? EPOLLIN : 0) |
      (this.queue.length > 0 && this.batchOff < 0 ? EPOLLOUT : 0);
    if (ev !== this.events) {
      this.events = ev;
      const r = modify(this.fd, ev, (ev & EPOLLIN) !== 0);
      // Callers check `destroyed` after this: the descriptor number may be another's by then.
      if (r < 0) this.destroy(fromErrno(-r, 'epoll_ctl'));
    }
  }

  /** `res`: what the poller read ahead (RBUF[off, off + res), 0 EOF, -errno) or NOREAD. */
  private onEvents(ev: number, off: number, res: number): void {
    // A read-ahead that met the connection's failure (a reset) has taken the kernel's pending
    // error with it: that error is the one to report, not the EPIPE a flush of the queue would
    // meet next (Python's sendall cut by a reset raises ConnectionResetError).
    if (res < 0 && res !== NOREAD && res !== -EAGAIN) {
      this.onRead(off, res);
      return;
    }
    // While an entry waits in the batch, its queue must wait too (write order: see the top).
    if (ev & ~EPOLLIN && this.queued > 0 && this.batchOff < 0) this.flush();
    if (this.destroyed) return;
    if (res !== NOREAD) this.onRead(off, res);
    else if (this.reading && !this.readEnded && ev & ~EPOLLOUT) {
      this.onRead(0, b().recv(this.fd, RBUF, 0, RBUF.length));
    }
  }

  /** Handles a recv's result `n` (bytes at RBUF[off, off + n), 0 EOF, -errno). */
  private onRead(off: number, n: number): void {
    if (n > 0) {
      this.activity();
      const chunk = Buffer.allocUnsafe(n);
      RBUF.copy(chunk, 0, off, off + n);
      this.emit('data', chunk);
      return;
    }
    if (n === -EAGAIN) return;
    if (n === 0) {
      this.readEnded = true;
      this.setEvents();
      if (this.destroyed) return;
      this.emit('end');
      if (this.writeShut && !this.destroyed) this.destroy();
      return;
    }
    this.destroy(fromErrno(-n, 'recv'));
  }

  /** @internal The batch sent this connection's entry: `r` bytes taken or -errno; `rest` the
   * bytes not taken (already copied out of the shared buffer). */
  _afterBatch(r: number, rest: Buffer | null): void {
    if (r < 0 && r !== -EAGAIN) {
      this.destroy(fromErrno(-r, 'send'));
      return;
    }
    this.queued -= Math.max(r, 0);
    if (rest !== null) this.queue.unshift({ buf: rest, cb: undefined });
    // Sends what was queued behind the entry (or waits for room), then 'drain', end, close.
    this.flush();
  }

  private flush(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0] as { buf: Buffer; cb: WriteCb | undefined };
      const n = b().send(this.fd, head.buf, 0, head.buf.length);
      if (n === -EAGAIN) break;
      if (n < 0) {
        this.destroy(fromErrno(-n, 'send'));
        return;
      }
      this.queued -= n;
      if (n < head.buf.length) {
        head.buf = head.buf.subarray(n);
        break;
      }
      this.queue.shift();
      head.cb?.();
    }
    this.activity();
    this.setEvents();
    if (this.destroyed) return;
    if (this.needDrain && this.queued < HIGH_WATER) {
      this.needDrain = false;
      this.emit('drain');
    }
    // shutWrite closes too after destroySoon().
    if (this.queued === 0 && this.endPending) this.shutWrite();
  }
}

export class RawListener extends EventEmitter {
  private fd: number;
  private readonly conns = new Set<RawTransport>();
  private closing = false;
  private readonly family: 'IPv4' | 'IPv6';
  private readonly port: number;
  private readonly host: string;
  private retry: NodeJS.Timeout | null = null;

  /** False until `startAccepting()` for a listener made not accepting yet. */
  private accepting: boolean;

  /** `accepting` false: connections wait in the backlog until `startAccepting()`. */
  constructor(fd: number, host: string, accepting = true) {
    super();
    this.fd = fd;
    this.host = host;
    this.accepting = accepting;
    this.family = host.includes(':') ? 'IPv6' : 'IPv4';
    this.port = b().localPort(fd);
    // Not accepting: registered parked (no events), so that the process is kept alive as by a
    // listener that accepts, and nothing is accepted from the backlog yet.
    const r = watch(fd, accepting ? EPOLLIN : 0, () => this.onAcceptable());
    if (r < 0) {
      b().close(fd);
      throw fromErrno(-r, 'epoll_ctl');
    }
  }

  /** The listening descriptor (-1 once closed). */
  fileno(): number {
    return this.fd;
  }

  address(): { address: string; port: number; family: string } | null {
    return this.closing ? null : { address: this.host, port: this.port, family: this.family };
  }

  /** Starts accepting (a listener made with `accepting` false). Idempotent; nothing once closed. */
  startAccepting(): void {
    if (this.accepting || this.closing) return;
    this.accepting = true;
    if (modify(this.fd, EPOLLIN) < 0) this.backOff(); // tried again a little later
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.retry = null;
    unwatch(this.fd);
    b().close(this.fd);
    this.fd = -1;
    this.maybeClosed();
  }

  private onAcceptable(): void {
    for (;;) {
      const c = b().accept(this.fd);
      if (c < 0) {
        if (c === -EAGAIN) return;
        if (ACCEPT_SKIP.has(-c)) continue;
        this.backOff();
        return;
      }
      const t = new RawTransport(c);
      const unregistered = t.destroyed;
      this.conns.add(t);
      t.once('close', () => {
        this.conns.delete(t);
        this.maybeClosed();
      });
      this.emit('connection', t);
      // Not registered (its 'error' says why): the next ones would fail alike; they wait in the
      // backlog instead.
      if (unregistered && !this.closing) {
        this.backOff();
        return;
      }
    }
  }

  /** accept failed for want of descriptors or memory (or a connection could not join the epoll
   * set): the connection stays in the backlog and the listener readable, and the level-triggered
   * set would report it on every turn (a busy loop) until something frees. Parked out of the set,
   * it is tried again a little later — and later again while epoll refuses it back. */
  private backOff(): void {
    if (this.retry !== null) return;
    modify(this.fd, 0); // a failure leaves it in the set: tried on the next turn instead
    // Unref'd: the listener's registration in the poller keeps the process alive already.
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.closing && modify(this.fd, EPOLLIN) < 0) this.backOff();
    }, ACCEPT_RETRY_MS).unref();
  }

  private maybeClosed(): void {
    if (this.closing && this.conns.size === 0) process.nextTick(() => this.emit('close'));
  }
}
