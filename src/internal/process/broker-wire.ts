/**
 * The wire between broker clients and the broker (broker.ts): frames of
 * `u32 length | v8.serialize(array of messages)` on a Unix socket. Many messages share a frame:
 * a client coalesces what it sends within one event-loop turn, the broker what it answers.
 *
 * Client → broker: first `{ o: 'hello', a: [pid, name, owner, role] }` (role 'a': a thread's
 *                  async client, 's': its sync client thread); then `{ r, o, id, a }` (request
 *                  r, operation o on object id, arguments a; r −1: no reply wanted);
 *                  `{ o: 'cancel', a: [r] }` withdraws request r if it still waits (it is then
 *                  answered `{ r, c: 1 }`: at once, or — a Condition wait — once it holds the
 *                  lock again; a request answered already is not answered twice). A sync
 *                  client's requests may carry `after` (run once the thread's async socket
 *                  delivered that many messages) and `ship` (messages its async client had not
 *                  sent, or had not wholly handed to the kernel (`dup`), run first).
 * Broker → client: `{ r, v }` (value), `{ r, e }` (encoded error), `{ r, c: 1 }` (cancelled);
 *                  `{ r: 0, unreadable }`: a frame of the client's could not be read (it says
 *                  why), and the broker closes the connection (see FrameReader).
 */
import { EventEmitter } from 'node:events';
import { getSystemErrorName } from 'node:util';
import v8 from 'node:v8';
import { type IoBinding, io, NOREAD, TAG_READAHEAD } from '../../socket/native-io.js';
import { NOT_SMALL, readSmall, settleRawItems, writeSmall } from '../v8-format.js';

export interface Request {
  r: number;
  o: string;
  id?: string;
  a?: unknown[];
  /** Sync connection only: run after the async connection of the same thread delivered this many. */
  after?: number;
  /** Sync connection only: the async client's unsent messages, handled first as its own. */
  ship?: Request[];
  /**
   * Sync connection only: `ship` holds the messages numbered `after + 1` on of the async
   * connection, which its socket had not handed to the kernel yet and will deliver later: each
   * runs once, whichever way reaches the broker first.
   */
  dup?: boolean;
}

export interface Reply {
  r: number;
  v?: unknown;
  e?: unknown;
  c?: 1;
  /**
   * With `r` 0: the broker could not read a frame of this connection (what it was and what to
   * do); it closes the connection next. See FrameReader.
   */
  unreadable?: string;
}

/** Marks no object: frames carry no escaped values (v8-format.ts's `escapeKey`). */
const NO_ESCAPE = Symbol('weft.brokerFrame');
/** Keys the reader watches for (v8-format.ts's `marks`): none matter here, `readMarked` is unused. */
const NO_MARKS: readonly [string, string] = ['', ''];

/**
 * Small plain frames (most requests and replies) are written and read by v8-format.ts, whose
 * bytes are V8's own: `v8.serialize` and `v8.deserialize` made a C++ serializer object per frame,
 * a fixed cost that, with the garbage those objects leave, was a large part of a round trip's
 * CPU (two frames written and two read per round trip). Frames of up to 2 MiB carrying a batch
 * of queue items that are strings of a KiB or so are read there too (v8-format.ts's bulk reads):
 * v8.deserialize took more than twice as long per string. Anything else goes to V8 as before.
 * At the broker, a queue's `putMany` items are read as their bytes (v8-format.ts's RawItems),
 * which the queue's store copies where it keeps them, and a getter's batch is written from the
 * bytes kept (broker-batch.ts): no string per item either way.
 */
export function frame(messages: unknown[]): Buffer {
  const small = writeSmall(messages, 4, NO_ESCAPE);
  if (small !== null) {
    small.writeUInt32LE(small.length - 4, 0);
    return small;
  }
  const body = v8.serialize(messages);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(body.length, 0);
  return Buffer.concat([head, body]);
}

/** The messages of one frame's body (see `frame`); throws what v8.deserialize throws. */
export function unframe(body: Uint8Array): unknown[] {
  const small = readSmall(body, NO_MARKS, true);
  if (small !== NOT_SMALL) return small as unknown[];
  // The typed arrays v8.deserialize makes are views of the bytes it reads (v8-format.ts's reader
  // copies everything): a body in the reused join buffer goes to it as a copy of its own, or a
  // large item read from it would keep that whole buffer (up to ASSEMBLY_BYTES) alive, and see
  // it overwritten by the next frame joined there.
  return v8.deserialize(assemblyBusy ? Buffer.from(body) : body) as unknown[];
}

/**
 * Tuning: where a frame that came in several chunks is joined, reused from one frame to the next
 * (one per thread, of up to ASSEMBLY_BYTES). A buffer allocated per frame was new memory each
 * time, and the page faults of a MiB of new memory cost several times the copy into it
 * (measured: ~0.2–0.4 ms against ~0.03 ms), once per batch of items at the broker and at each
 * getter.
 */
const ASSEMBLY_BYTES = 2 * 1024 * 1024 + 64 * 1024;
let assembly: Buffer | null = null;
/**
 * A FrameReader is reading frames out of `assembly` (a reader that it calls must not reuse it,
 * and `unframe` hands V8 a copy).
 */
let assemblyBusy = false;

/** What `splitFrames` hands each whole frame to. */
export interface FrameSink {
  /** A frame's messages; false stops the walk after this frame. */
  messages(ms: unknown[]): boolean;
  /**
   * A frame `unframe` could not read (`e`: what it threw; `body`: its bytes); false stops the
   * walk after this frame.
   */
  unreadable(e: unknown, body: Uint8Array): boolean;
}

/**
 * Walks the whole frames of `buf` from `at` to `end`, in order, handing each to `sink` until it
 * says stop; returns where the walk ended (after the last frame handed over: `end`, or where a
 * frame not all there yet begins). The one frame splitter of both readers: FrameReader (the
 * sockets of the event loop) and sync-direct.ts (a thread's blocking calls).
 * `copy`: each body is read from a copy of its own, for a `buf` that is read into again later
 * (v8.deserialize's typed arrays are views of the bytes it reads).
 */
export function splitFrames(
  buf: Buffer,
  at: number,
  end: number,
  copy: boolean,
  sink: FrameSink,
): number {
  while (end - at >= 4) {
    const n = buf.readUInt32LE(at);
    if (end - at - 4 < n) break;
    const body = copy
      ? Buffer.from(buf.subarray(at + 4, at + 4 + n))
      : buf.subarray(at + 4, at + 4 + n);
    at += 4 + n;
    let ms: unknown[];
    try {
      ms = unframe(body);
    } catch (e) {
      if (sink.unreadable(e, body)) continue;
      return at;
    }
    let more: boolean;
    try {
      more = sink.messages(ms);
    } finally {
      // A putMany's items not stored yet (a message left waiting) stop viewing `buf`.
      settleRawItems();
    }
    if (!more) return at;
  }
  return at;
}

/** The bytes from `at` the frame there needs to be whole: its header, or header and body. */
export function frameNeed(buf: Buffer, at: number, end: number): number {
  return end - at >= 4 ? 4 + buf.readUInt32LE(at) : 4;
}

/**
 * Splits a byte stream into frames and hands each frame's messages to `onMessages`. Chunks of a
 * frame are kept apart until the whole frame is there, then joined once: joining at every chunk
 * would copy a large frame (a burst of big items) quadratically often.
 *
 * A frame this thread cannot read (`v8.deserialize` throws: a value nested deeper than this
 * thread's stack can read, which a sender with a larger stack could write — a Manager value;
 * a queue item cannot do it, being bytes nobody here reads: broker-item.ts) goes to
 * `onUnreadable`, and the reader takes nothing more: its messages are lost, and those after it
 * may depend on them, so the connection cannot go on. Thrown from a socket's 'data' listener
 * instead, the error took the whole process down.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes needed before parsing can make progress (a header, or the whole next frame). */
  #need = 4;
  #dead = false;
  readonly #sink: FrameSink;

  constructor(onMessages: (ms: unknown[]) => void, onUnreadable: (e: unknown) => void) {
    this.#sink = {
      messages: (ms) => {
        onMessages(ms);
        return true;
      },
      unreadable: (e) => {
        this.#dead = true;
        this.#chunks = [];
        this.#size = 0;
        onUnreadable(e);
        return false;
      },
    };
  }

  push(chunk: Buffer): void {
    if (this.#dead) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size < this.#need) return;
    const size = this.#size;
    if (this.#chunks.length === 1 || assemblyBusy || size > ASSEMBLY_BYTES) {
      this.#split(this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks, size), false);
      return;
    }
    if (assembly === null || assembly.length < size) {
      assembly = Buffer.allocUnsafeSlow(
        Math.min(ASSEMBLY_BYTES, Math.max(size, 2 * (assembly?.length ?? 0))),
      );
    }
    const buf = assembly;
    let at = 0;
    for (const c of this.#chunks) at += c.copy(buf, at);
    assemblyBusy = true;
    try {
      this.#split(buf.subarray(0, size), true);
    } finally {
      assemblyBusy = false;
    }
  }

  /** Hands the frames of `buf` on; what follows them is kept (a copy when `buf` is reused). */
  #split(buf: Buffer, reused: boolean): void {
    const at = splitFrames(buf, 0, buf.length, false, this.#sink);
    if (this.#dead) return;
    this.#need = frameNeed(buf, at, buf.length);
    const rest = buf.subarray(at);
    this.#chunks = rest.length === 0 ? [] : [reused ? Buffer.from(rest) : rest];
    this.#size = rest.length;
  }
}

/**
 * What the broker and its async clients need of a connection: net.Socket has it, and so has
 * RawSocket below. Bytes arrive through `onChunks`.
 */
export interface WireSocket {
  readonly destroyed: boolean;
  write(b: Buffer, cb?: (err?: Error | null) => void): unknown;
  destroy(): void;
  destroySoon(): void;
  on(event: 'error', fn: (e: NodeJS.ErrnoException) => void): unknown;
  on(event: 'close' | 'connect', fn: () => void): unknown;
}

/** Hands every chunk `s` reads to `fn`, whichever kind of socket it is. */
export function onChunks(s: WireSocket, fn: (chunk: Buffer) => void): void {
  if (s instanceof RawSocket) s.onBytes = fn;
  else (s as unknown as NodeJS.EventEmitter).on('data', fn);
}

/*
 * The raw transport (native/io.c through src/socket/native-io.ts): the broker's connections as
 * descriptors of weft's own, read with recv(2) and written with send(2) from JavaScript,
 * readiness from one epoll set per thread that libuv watches with a single uv_poll.
 *
 *   libuv ── uv_poll(epoll fd) ──▶ onReady ──▶ epollWaitRecv(out, buf): every readable socket
 *        already recv(2)'d into buf ──▶ each socket's bytes (copied out) ──▶ its FrameReader
 *
 *   out, 4 ints per ready descriptor:  [ fd | events | offset in buf | bytes, 0 EOF, -errno, NOREAD ]
 *
 * Why: a round trip over net.Socket cost the calling thread ~30 µs of CPU in its stream
 * machinery (a fresh Buffer per read, a write request per write); raw, ~12 µs. The bytes are
 * copied out of the shared read buffer because v8.deserialize's typed arrays are views of the
 * buffer it reads (a queue item's bytes would change under it at the next read).
 * Semantics kept from net.Socket: a write with nothing queued goes to the kernel within the
 * call, and what the kernel does not take waits (in order) for EPOLLOUT; `writableLength` is
 * exactly the bytes not yet handed to the kernel; a socket is ref'd (keeps the loop alive)
 * while `ref()`'d or while it holds unsent bytes (as a pending write request does); 'error' and
 * 'close' are emitted on the next tick, never from inside write(); a write after destroySoon()
 * is refused (ERR_STREAM_WRITE_AFTER_END in its callback), as one after end() is.
 */
const EPOLLIN = 0x1;
const EPOLLOUT = 0x4;
const EPOLLERR = 0x8;
const EPOLLHUP = 0x10;
const CTL_ADD = 1;
const CTL_DEL = 2;
const CTL_MOD = 3;
/** epollCtl tag (native/io.c): the addon closes the descriptor when this thread ends, as Node
 * closes a worker's own sockets, so that the broker sees a thread's end. */
const TAG_CLOSE_AT_END = 2;
const EAGAIN = -11;
/** The largest read epollWaitRecv does per descriptor (native/io.c READ_CAP). */
const READ_CAP = 65536;
/** Tuning: further reads of one socket in a turn when the first filled READ_CAP (a big frame). */
const MORE_READS = 16;
/** Tuning: how long a connect refused with EAGAIN (the broker's backlog is full) is retried. */
const CONNECT_AGAIN_MS = 60_000;
const EMFILE = -24;
const ENFILE = -23;
/** Tuning: how long a listener out of descriptors (EMFILE) waits before it accepts again. */
const ACCEPT_PAUSE_MS = 100;

/** The longest path a sockaddr_un holds (sun_path's 108 bytes less the NUL). A longer one goes
 * over net.Socket, whose libuv cuts it to fit (on both ends alike), as before the raw transport:
 * listenUnix and connectUnix refuse it (ENAMETOOLONG), which failed every client of a broker
 * under a long TMPDIR. */
const SUN_PATH_MAX = 107;

function fitsSunPath(path: string): boolean {
  return Buffer.byteLength(path) <= SUN_PATH_MAX;
}

/** Whether the broker's sockets may be raw: the addon has the Unix-socket calls, and
 * WEFT_BROKER_NET=1 does not ask for net.Socket. */
export const rawBrokerSockets: boolean =
  io !== null &&
  typeof io.connectUnix === 'function' &&
  typeof io.listenUnix === 'function' &&
  process.env.WEFT_BROKER_NET !== '1';

function errnoError(r: number, syscall: string, path?: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(r);
  } catch {
    code = `E${-r}`;
  }
  const e = new Error(
    `${syscall} ${code}${path === undefined ? '' : ` ${path}`}`,
  ) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = r;
  e.syscall = syscall;
  return e;
}

interface Handle {
  readonly fd: number;
  readonly destroyed: boolean;
  onEvent(events: number, offset: number, result: number, buf: Buffer): void;
}

/** This thread's epoll set and the handles on it (module state is per thread). */
class RawLoop {
  readonly poller: object;
  readonly byFd = new Map<number, Handle>();
  readonly out = new Int32Array(4 * 64);
  readonly buf = Buffer.allocUnsafe(4 * READ_CAP);
  /** Handles that keep the loop alive. */
  refs = 0;
  #mode = 0;

  constructor(poller: object) {
    this.poller = poller;
  }

  add(h: Handle, events: number, readahead: boolean): number {
    const r = (io as IoBinding).epollCtl(
      this.poller,
      CTL_ADD,
      h.fd,
      events,
      (readahead ? TAG_READAHEAD : 0) | TAG_CLOSE_AT_END,
    );
    if (r === 0) {
      this.byFd.set(h.fd, h);
      this.#watch();
    }
    return r;
  }

  modify(h: Handle, events: number, readahead = true): void {
    (io as IoBinding).epollCtl(
      this.poller,
      CTL_MOD,
      h.fd,
      events,
      (readahead ? TAG_READAHEAD : 0) | TAG_CLOSE_AT_END,
    );
  }

  /**
   * Takes `h`'s descriptor out of the set (if it is there) and closes it. One native call where
   * the addon has it: as two, a Worker.terminate() between them leaked the descriptor (deleted
   * from the set, the addon no longer closes it at the thread's end; see native/io.c).
   */
  removeAndClose(h: Handle): void {
    const { fd } = h;
    if (this.byFd.get(fd) === h) this.byFd.delete(fd);
    const b = io as IoBinding;
    if (typeof b.epollDelClose === 'function') {
      b.epollDelClose(this.poller, fd);
      return;
    }
    b.epollCtl(this.poller, CTL_DEL, fd, 0);
    b.close(fd);
  }

  setRef(delta: number): void {
    this.refs += delta;
    this.#watch();
  }

  #watch(): void {
    const mode = this.refs > 0 ? 1 : 2;
    if (mode === this.#mode) return;
    this.#mode = mode;
    (io as IoBinding).epollWatch(this.poller, mode);
  }

  readonly onReady = (): void => {
    const { out, buf } = this;
    const n = (io as IoBinding).epollWaitRecv(this.poller, out, buf);
    if (n <= 0) return;
    inBatch = true;
    try {
      if (n === 1) {
        // Alone in its batch: nothing else to resolve first, nor to keep from a throw.
        const h = this.byFd.get(out[0] as number);
        if (h !== undefined && !h.destroyed)
          h.onEvent(out[1] as number, out[2] as number, out[3] as number, buf);
      } else {
        // Resolved before any runs: a handler may close a socket, and a descriptor number closed
        // and reused within the batch must not get the old one's bytes.
        const hs: Array<Handle | undefined> = [];
        for (let i = 0; i < n; i++) hs.push(this.byFd.get(out[4 * i] as number));
        this.#dispatch(hs, 0, n);
      }
    } finally {
      inBatch = false;
      // Each runs once, whatever one before it threw (its error is reported as Node reports a
      // throwing listener's, once this callback is over: out of it, N-API would keep it pending).
      for (let i = 0; i < batchEnd.length; i++) {
        try {
          (batchEnd[i] as () => void)();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
      batchEnd.length = 0;
    }
  };

  /**
   * Hands events `from` to `n` of the batch in `out` to their handles. The bytes read ahead sit
   * in `buf` only until the next poll: a handler that throws must not cost the sockets after it
   * theirs (read from the kernel already, they would never come again). So the rest still run,
   * then the error is thrown; one thrown by a later handler too, on a later tick.
   */
  #dispatch(hs: Array<Handle | undefined>, from: number, n: number): void {
    const { out, buf } = this;
    let i = from;
    try {
      for (; i < n; i++) {
        const h = hs[i];
        if (h === undefined || h.destroyed) continue;
        h.onEvent(
          out[4 * i + 1] as number,
          out[4 * i + 2] as number,
          out[4 * i + 3] as number,
          buf,
        );
      }
    } catch (e) {
      try {
        this.#dispatch(hs, i + 1, n);
      } catch (later) {
        process.nextTick(() => {
          throw later;
        });
      }
      throw e;
    }
  }
}

/** A RawLoop is handing a batch of ready sockets their bytes (in this thread). */
let inBatch = false;
const batchEnd: Array<() => void> = [];

/**
 * Runs `fn` once the batch of ready sockets being handled now is done, and says true; false when
 * no batch is under way (the caller then waits for the end of the turn, setImmediate). For
 * replies: everything the batch's messages answer goes out as one frame per connection, as the
 * end of the turn would send it, but without waiting for the loop's check phase — the socket
 * a client waits on gets its answer as soon as the requests that came with it have run.
 */
export function atBatchEnd(fn: () => void): boolean {
  if (!inBatch) return false;
  batchEnd.push(fn);
  return true;
}

let loop: RawLoop | null | undefined;

/** This thread's raw loop, made on first use; null when raw sockets are off or unavailable. */
function rawLoop(): RawLoop | null {
  if (loop !== undefined) return loop;
  loop = null;
  if (!rawBrokerSockets) return null;
  let holder: RawLoop | null = null;
  const p = (io as IoBinding).epollCreate(() => holder?.onReady());
  if (typeof p !== 'object' || p === null) return null;
  holder = new RawLoop(p);
  loop = holder;
  return loop;
}

/** A connected Unix stream socket on the raw transport (see above). */
export class RawSocket extends EventEmitter implements WireSocket {
  #fd: number;
  readonly #loop: RawLoop;
  #destroyed = false;
  /** Chunks not yet wholly handed to the kernel: [bytes, how far sent, callback]. */
  #queue: Array<{ b: Buffer; off: number; cb: ((err?: Error | null) => void) | undefined }> = [];
  #unsent = 0;
  #ref = true;
  #counted = false;
  #ending = false;
  onBytes: (chunk: Buffer) => void = () => {};

  private constructor(fd: number, l: RawLoop) {
    super();
    this.#fd = fd;
    this.#loop = l;
  }

  /** The descriptor (−1 once closed): an exiting process writes to it directly. */
  get fd(): number {
    return this.#fd;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Bytes written that the kernel has not taken yet. */
  get writableLength(): number {
    return this.#unsent;
  }

  /** Connects at once (a Unix connect(2) does not wait); 'connect' or 'error' on the next tick.
   * Null when this thread has no raw loop, or `path` does not fit a sockaddr_un: the caller uses
   * net.Socket. */
  static connect(path: string): RawSocket | null {
    if (!fitsSunPath(path)) return null;
    const l = rawLoop();
    if (l === null) return null;
    const s = new RawSocket(-1, l);
    const started = Date.now();
    const attempt = (): void => {
      if (s.#destroyed) return;
      const fd = (io as IoBinding).connectUnix?.(path) ?? -38;
      if (fd === EAGAIN && Date.now() - started < CONNECT_AGAIN_MS) {
        setTimeout(attempt, 5);
        return;
      }
      if (fd < 0) {
        s.#fail(errnoError(fd, 'connect', path));
        return;
      }
      s.#fd = fd;
      s.#start();
      if (!s.#destroyed) process.nextTick(() => s.#destroyed || s.emit('connect'));
    };
    s.#updateRef();
    attempt();
    return s;
  }

  /** An accepted descriptor, watched from now on. */
  static adopt(fd: number): RawSocket {
    const s = new RawSocket(fd, rawLoop() as RawLoop);
    s.#start();
    s.#updateRef();
    return s;
  }

  #start(): void {
    const r = this.#loop.add(this, EPOLLIN, true);
    if (r < 0) this.#fail(errnoError(r, 'epoll_ctl'));
  }

  ref(): this {
    this.#ref = true;
    this.#updateRef();
    return this;
  }

  unref(): this {
    this.#ref = false;
    this.#updateRef();
    return this;
  }

  #updateRef(): void {
    const want = !this.#destroyed && (this.#ref || this.#unsent > 0);
    if (want === this.#counted) return;
    this.#counted = want;
    this.#loop.setRef(want ? 1 : -1);
  }

  write(b: Buffer, cb?: (err?: Error | null) => void): boolean {
    if (this.#destroyed || this.#fd < 0) {
      const e = errnoError(-32, 'write');
      if (cb) process.nextTick(cb, e);
      return false;
    }
    if (this.#ending) {
      // As net.Socket's write after end(): refused, with its error code. Unlike net's, the
      // socket is not destroyed for it: what was queued before destroySoon() still goes out
      // (the broker's last word to a connection it closes).
      const e = new Error(
        'write after destroySoon(): the socket is closing once what was queued is sent; nothing more can be written to it',
      ) as NodeJS.ErrnoException;
      e.code = 'ERR_STREAM_WRITE_AFTER_END';
      if (cb) process.nextTick(cb, e);
      return false;
    }
    let off = 0;
    if (this.#queue.length === 0) {
      const r = (io as IoBinding).send(this.#fd, b, 0, b.length);
      if (r === b.length) {
        cb?.();
        return true;
      }
      if (r < 0 && r !== EAGAIN) {
        this.#fail(errnoError(r, 'write'));
        if (cb) process.nextTick(cb, errnoError(r, 'write'));
        return false;
      }
      off = Math.max(0, r);
      this.#loop.modify(this, EPOLLIN | EPOLLOUT);
    }
    this.#queue.push({ b, off, cb });
    this.#unsent += b.length - off;
    this.#updateRef();
    return false;
  }

  /** Sends what is queued, as far as the kernel takes it. */
  #onWritable(): void {
    const q = this.#queue;
    while (q.length > 0) {
      const c = q[0] as (typeof q)[number];
      const r = (io as IoBinding).send(this.#fd, c.b, c.off, c.b.length - c.off);
      if (r === EAGAIN) break;
      if (r < 0) {
        this.#fail(errnoError(r, 'write'));
        return;
      }
      c.off += r;
      this.#unsent -= r;
      if (c.off < c.b.length) break;
      q.shift();
      c.cb?.();
      if (this.#destroyed) return;
    }
    if (q.length === 0) {
      if (this.#ending) {
        this.destroy();
        return;
      }
      this.#loop.modify(this, EPOLLIN);
    }
    this.#updateRef();
  }

  onEvent(events: number, offset: number, result: number, buf: Buffer): void {
    if (result > 0) {
      this.onBytes(Buffer.from(buf.subarray(offset, offset + result)));
      if (result === READ_CAP) this.#readMore(MORE_READS);
    } else if (result === 0) {
      this.destroy();
      return;
    } else if (result !== NOREAD) {
      this.#fail(errnoError(result, 'read'));
      return;
    } else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      // Not read ahead (the shared buffer was full): read it here.
      if (!this.#readMore(1)) return;
    }
    if (!this.#destroyed && events & EPOLLOUT) this.#onWritable();
  }

  /** Up to `times` reads of READ_CAP; false when the socket ended meanwhile. */
  #readMore(times: number): boolean {
    for (let i = 0; i < times && !this.#destroyed; i++) {
      const chunk = Buffer.allocUnsafe(READ_CAP);
      const r = (io as IoBinding).recv(this.#fd, chunk, 0, READ_CAP);
      if (r === EAGAIN) return true;
      if (r === 0) {
        this.destroy();
        return false;
      }
      if (r < 0) {
        this.#fail(errnoError(r, 'read'));
        return false;
      }
      this.onBytes(chunk.subarray(0, r));
      if (r < READ_CAP) return true;
    }
    return !this.#destroyed;
  }

  #fail(e: Error): void {
    this.#close(e);
  }

  /** Closes now: what is queued is dropped (its callbacks get an error), 'close' follows. */
  destroy(): void {
    this.#close(null);
  }

  /** Closes once what is queued has been handed to the kernel; a later write is refused. */
  destroySoon(): void {
    if (this.#queue.length === 0) this.destroy();
    else this.#ending = true;
  }

  #close(err: Error | null): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    if (this.#fd >= 0) {
      this.#loop.removeAndClose(this);
      this.#fd = -1;
    }
    const dropped = this.#queue;
    this.#queue = [];
    this.#unsent = 0;
    this.#updateRef();
    process.nextTick(() => {
      const why = err ?? errnoError(-32, 'write');
      for (const c of dropped) c.cb?.(why);
      // No listener: the error is only the close (never an uncaught 'error' in the host).
      if (err !== null && this.listenerCount('error') > 0) this.emit('error', err);
      this.emit('close');
    });
  }
}

/** A listening Unix socket on the raw transport: each connection goes to `onConnection`. */
export class RawServer implements Handle {
  #fd: number;
  #destroyed = false;
  readonly #loop: RawLoop;

  private constructor(
    fd: number,
    l: RawLoop,
    private readonly onConnection: (s: RawSocket) => void,
  ) {
    this.#fd = fd;
    this.#loop = l;
  }

  get fd(): number {
    return this.#fd;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Listening at `path` (it keeps this thread's loop alive); null without a raw loop or for a
   * path too long for a sockaddr_un (net.Server then). Throws
   * the errno error of a failed bind or listen. */
  static listen(path: string, onConnection: (s: RawSocket) => void): RawServer | null {
    if (!fitsSunPath(path)) return null;
    const l = rawLoop();
    if (l === null) return null;
    const fd = (io as IoBinding).listenUnix?.(path, 511) ?? -38;
    if (fd < 0) throw errnoError(fd, 'listen', path);
    const srv = new RawServer(fd, l, onConnection);
    const r = l.add(srv, EPOLLIN, false);
    if (r < 0) {
      (io as IoBinding).close(fd);
      throw errnoError(r, 'epoll_ctl');
    }
    l.setRef(1);
    return srv;
  }

  onEvent(): void {
    // Level-triggered: a connection left in the backlog is reported again.
    for (let i = 0; i < 64 && !this.#destroyed; i++) {
      const c = (io as IoBinding).accept(this.#fd);
      if (c < 0) {
        if (c === EMFILE || c === ENFILE) this.#pause();
        return;
      }
      this.onConnection(RawSocket.adopt(c));
    }
  }

  /**
   * Out of descriptors: the connection stays in the backlog, which epoll would report again on
   * every turn of the loop (a thread spinning at full CPU until a descriptor is freed). The
   * listener is left out of the set for ACCEPT_PAUSE_MS, then accepting is tried again.
   */
  #pause(): void {
    this.#loop.modify(this, 0, false);
    setTimeout(() => {
      if (!this.#destroyed) this.#loop.modify(this, EPOLLIN, false);
    }, ACCEPT_PAUSE_MS).unref();
  }

  close(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#loop.removeAndClose(this);
    this.#fd = -1;
    this.#loop.setRef(-1);
  }
}
