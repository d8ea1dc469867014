/**
 * The `Connection` that `Listener.accept()` and `Client()` return: Python's socket Connection,
 * one end of a byte stream (a weft/socket `Socket`, TCP or Unix) cut into messages.
 *
 * Implementation notes
 * --------------------
 * It is a `Connection` (`instanceof` holds, and a function typed to take a Pipe end takes it),
 * with every verb overridden: a Pipe end's transport is a pair of broker queues, this one's a
 * socket, so none of the base class's state is used (built with no queues, it never speaks to
 * the broker). `sendBytes` and `recvBytesInto` are inherited: they check their arguments and
 * call `send` and `recvBytes`, which are this class's.
 *
 * Frames. Python's header is a big-endian int32 `n`: `n ≥ 0` bytes follow, or `n = −1` and a
 * uint64 length precedes them (messages over 2 GiB − 1). weft adds one header Python never
 * writes, `n = −2` and a uint64 length: an object message, its bytes in weft's serialization
 * (`toBytes`: v8's format, errors as descriptors). So what `sendBytes` sends, and the handshake
 * (handshake.ts), are Python's frames byte for byte; an object is weft's.
 *
 *   sendBytes(b) / send(Buffer)   [int32 len][bytes]                 recv() → Buffer
 *   send(obj)                     [int32 −2][uint64 len][v8 bytes]   recv() → obj
 *   recvBytes()                   the bytes of either (an object's serialization, as a Pipe's)
 *
 * Reading. While a `recv` (or a `poll`, or `wait()`) waits, the socket's readiness callback
 * (`Socket._watch`, called from the transport's read) takes what the socket holds into a list of
 * chunks, synchronously; a message is taken once all its bytes are there, and handed to the
 * oldest waiting `recv` right there, decoded, so that its caller resumes one promise job after
 * the bytes came — no read of the socket's own is awaited, nor a promise chain per layer. The
 * waiting recvs are a FIFO: a caller that gives up (its signal) leaves it and consumes nothing.
 * A header whose length is more than a Buffer can hold (or negative, other than −1 and −2) is an
 * `OSError` and closes the connection, as Python's "bad message length" does: nothing is
 * allocated for it.
 *
 *   transport read ─▶ socket's reader ─▶ _watch callback ─▶ #pull: recvNowait ─▶ #chunks
 *                                                           #deliver: whole frame ─▶ oldest recv
 *
 * Writing. `send` is synchronous, as a Pipe end's, and hands the frame to the kernel in the
 * call when nothing is queued before it (`Socket._sendMessage`: one send(2), as Python's send
 * makes), not at the end of the loop's turn: the peer, which is usually waiting for it, wakes
 * that much sooner. What the kernel does not take is queued, over the high-water mark too (as a
 * Pipe's send queues). A failure of the connection is raised by the next `send` (or `recv`).
 *
 * Decoding. An object frame whose bytes are not weft's serialization (a foreign peer, damaged
 * bytes) makes its `recv` raise NotCloneableError — weft's class for a value that cannot cross
 * (Python's UnpicklingError, a PickleError as PicklingError is) — naming the connection, with
 * V8's error as its cause. The frame is consumed and the connection stays open, as in Python.
 */
import { constants as bufferConstants } from 'node:buffer';
import { currentTaskSignal } from '../internal/context.js';
import { clearLongTimeout, type LongTimer, setLongTimeout } from '../internal/long-timer.js';
import { holdExitUntilSent } from '../internal/process/fd-handoff.js';
import {
  fromBytes,
  kShared,
  NotCloneableError,
  registerSharedKind,
  type SharedState,
  toBytes,
} from '../internal/serialize.js';
import { BlockingIOError } from '../socket/errors.js';
import type { Socket } from '../socket/socket.js';
import { untilSent } from '../socket/socket-handoff.js';
import { Connection, closedError, type RecvOptions } from './connection.js';
import { EOFError, OSError } from './errors.js';
import { checkSignal, checkTimeout } from './shared-object.js';

const KIND = 'mp:SocketConnection';
/** Python's escape for a length over int32 (a uint64 follows). */
const LONG_BYTES = -1;
/** weft's header of an object message (a uint64 length follows). */
const OBJECT = -2;
/** Largest message a Buffer can hold: a header announcing more is refused before any read. */
const MAX_MESSAGE = bufferConstants.MAX_LENGTH;
/** A read asks for at least this much (what the socket holds, up to it). */
const READ_SIZE = 64 * 1024;
const DONE: Promise<void> = Promise.resolve();

export interface Frame {
  /** Sent by `send` (an object), not `sendBytes`. */
  object: boolean;
  body: Buffer;
  /** `body` is all of the buffer under it (else it shares one read with other messages). */
  whole: boolean;
}

/** Bytes of an object frame's header: int32 −2, uint64 length. */
const OBJECT_HEAD = 12;

/** A uint64 length (big-endian) as two uint32 halves: no BigInt made per message. */
function writeLength(b: Buffer, at: number, n: number): void {
  b.writeUInt32BE(Math.floor(n / 0x100000000), at);
  b.writeUInt32BE(n >>> 0, at + 4);
}

/** A uint64 length; one past 2^53 reads as more than MAX_MESSAGE all the same. */
function readLength(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x100000000 + b.readUInt32BE(at + 4);
}

/** A frame's bytes for the caller to keep: copied when they share a read with others. */
const own = (f: Frame): Buffer => (f.whole ? f.body : Buffer.from(f.body));

/** What a waiting read resolves to: the frame (the handshake), its bytes, or its message. */
const AS_FRAME = 0;
const AS_BYTES = 1;
const AS_VALUE = 2;
type As = typeof AS_FRAME | typeof AS_BYTES | typeof AS_VALUE;

/** A recv, recvBytes or handshake read waiting for its message. */
interface Receiver {
  as: As;
  maxlength: number | null;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | null;
  onAbort: (() => void) | null;
}

function stopListening(r: Receiver): void {
  if (r.onAbort !== null) r.signal?.removeEventListener('abort', r.onAbort);
}

function badLength(what: string): OSError {
  return new OSError(
    `Bad message length: ${what}; this Connection is now closed, as in Python`,
    '',
    'ERR_WEFT_BAD_MESSAGE_LENGTH',
  );
}

/**
 * One end of a Listener/Client connection. Users meet it as `Connection`: this class is not
 * exported.
 */
export class SocketConnection extends Connection {
  readonly #sock: Socket;
  #closed = false;
  /** Bytes read and not yet taken as messages, oldest first. */
  #chunks: Buffer[] = [];
  #size = 0;
  /** Bytes the message being read needs in all (header included), once its header is in. */
  #need = 0;
  /** The peer's EOF came (no more reads). */
  #eof = false;
  /** What the last read failed with (a reset), reported once by recv. */
  #failure: unknown = null;
  /** The recvs waiting for a message, in the order they asked (see `#deliver`). */
  #receivers: Receiver[] = [];
  /**
   * The polls waiting for the socket's next activity or this handle's close, each woken once;
   * one that gives up (its timeout, its signal) takes itself out. No listener of this handle's
   * own is added per poll: any number may wait, and one that times out leaves nothing behind.
   */
  #polls: Set<() => void> | null = null;
  /** Takes this handle off the socket's readiness callbacks (registered at the first wait). */
  #unwatch: (() => void) | null = null;

  /** @internal `sock`: connected (by Listener or Client, or revived in a child). */
  constructor(sock: Socket) {
    super(null, null, null);
    this.#sock = sock;
    // A child process exits as soon as its target returns: what its last send() queued (Node
    // sends later) goes out first, as Python's, whose send gave the kernel every byte already.
    const ns = sock._net();
    if (ns !== null) {
      const release = holdExitUntilSent(() => untilSent(ns));
      ns.once('close', release);
    }
  }

  override get readable(): boolean {
    return true;
  }
  override get writable(): boolean {
    return true;
  }
  override get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends `obj` to the other end: a Buffer as Python's `send_bytes` frames it, anything else
   * serialized (structured clone: plain data, typed arrays, Maps, Sets, Dates, errors).
   * @throws NotCloneableError for what cannot be cloned, and for weft's shared objects (a
   * Queue, a Lock, a Pipe end…): the peer may be a process of another tree, with another broker
   * (Python refuses them on a Connection too); pass those in a Process's args.
   * @throws OSError when this handle is closed; BrokenPipeError or ConnectionResetError once the
   * connection is gone (from the send after the kernel learnt it).
   */
  override send(obj: unknown): void {
    if (this.#closed) throw closedError();
    if (Buffer.isBuffer(obj)) {
      this.#write(obj, false);
      return;
    }
    // Serialized after room for the header: the frame is one buffer, made once. The 'wire'
    // carrier refuses shared objects in the same walk (the peer may have another broker).
    const frame = toBytes(obj, 'Connection.send', 'wire', OBJECT_HEAD);
    frame.writeInt32BE(OBJECT, 0);
    writeLength(frame, 4, frame.length - OBJECT_HEAD);
    this.#sock._sendMessage(frame);
  }

  /** @internal A handshake message (handshake.ts): Python's bytes frame. */
  _sendFrame(bytes: Buffer): void {
    this.#write(bytes, false);
  }

  #write(body: Buffer, object: boolean): void {
    if (this.#closed) throw closedError();
    const n = body.length;
    const head = object ? 12 : n > 0x7fffffff ? 12 : 4;
    // One buffer, header and body: a copy of the caller's bytes (Python's send copies them to
    // the kernel), and one segment for a small message.
    const frame = Buffer.allocUnsafe(head + n);
    if (head === 4) frame.writeInt32BE(n, 0);
    else {
      frame.writeInt32BE(object ? OBJECT : LONG_BYTES, 0);
      writeLength(frame, 4, n);
    }
    body.copy(frame, head);
    this.#sock._sendMessage(frame);
  }

  /**
   * Resolves to the next message: what `send` sent (a Buffer for what `sendBytes` sent).
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects with its reason and consumes nothing: the message goes to the next `recv`.
   * @throws EOFError when the other end closed; OSError when it closed in the middle of a
   * message ("got end of file during message", as Python's), when this handle is closed, or for
   * a header no message could have; ConnectionResetError when the peer reset the connection.
   */
  override recv(options: RecvOptions = {}): Promise<unknown> {
    try {
      return this.#receive(AS_VALUE, null, options?.signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Python's `recv_bytes(maxlength)`: the next message's bytes — what `sendBytes` sent, or an
   * object's serialization (`v8.deserialize` reads it back).
   * @throws OSError when the message is longer than `maxlength`, known from its header: as in
   * Python, this handle is then closed. Otherwise as `recv`.
   */
  override recvBytes(maxlength: number | null = null, options: RecvOptions = {}): Promise<Buffer> {
    try {
      if (maxlength !== null && maxlength !== undefined) {
        if (typeof maxlength !== 'number' || !Number.isInteger(maxlength))
          throw new TypeError(
            `Connection.recvBytes: maxlength must be an integer: received ${String(maxlength)}`,
          );
        if (maxlength < 0)
          throw new RangeError(
            `Connection.recvBytes: maxlength is negative: received ${maxlength}`,
          );
      }
      return this.#receive(AS_BYTES, maxlength ?? null, options?.signal) as Promise<Buffer>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** @internal The next frame, for the handshake. */
  _recvFrame(maxlength: number | null, signalOption: unknown): Promise<Frame> {
    try {
      return this.#receive(AS_FRAME, maxlength, signalOption) as Promise<Frame>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The next message as `as` says, at once when it is here (or the connection's end is), else
   * once `#deliver` hands it over: a waiting recv is settled from the socket's readiness
   * callback, with the message decoded there, so its caller resumes one promise job later.
   * Throws what the caller rejects with.
   */
  #receive(as: As, maxlength: number | null, signalOption: unknown): Promise<unknown> {
    const signal = checkSignal('Connection.recv', signalOption) ?? currentTaskSignal();
    if (this.#closed) throw closedError();
    if (signal?.aborted) throw signal.reason;
    const first = this.#receivers.length === 0;
    // None may overtake a recv that is waiting already. One with a signal takes nothing in the
    // caller's step: an abort made right after the call (before any await) still wins, and the
    // message stays for the next recv — or in `#chunks` for a child the handle goes to.
    if (first && signal === null) {
      const f = this.#next(maxlength);
      if (f !== null) return Promise.resolve(this.#convert(as, f));
    }
    if (first && signal !== null) {
      this.#pull();
      DONE.then(() => {
        if (this.#receivers.length > 0) this.#deliver();
      });
    }
    return new Promise((resolve, reject) => {
      const r: Receiver = { as, maxlength, resolve, reject, signal, onAbort: null };
      if (signal !== null) {
        r.onAbort = () => {
          const i = this.#receivers.indexOf(r);
          if (i >= 0) this.#receivers.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', r.onAbort, { once: true });
      }
      this.#receivers.push(r);
      this.#watch();
    });
  }

  /**
   * The next frame if all of it is here (what the socket holds is taken first), null if not;
   * throws how the connection ended once nothing more can come (its failure once, then
   * EOFError), and for a header no message has or one past `maxlength` (closing this handle).
   */
  #next(maxlength: number | null): Frame | null {
    let f = this.#take(maxlength);
    if (f === null && this.#pull()) f = this.#take(maxlength);
    if (f !== null) return f;
    if (this.#failure !== null) {
      const e = this.#failure;
      this.#failure = null;
      this.#eof = true;
      this.#drop();
      throw e;
    }
    if (this.#eof) {
      if (this.#size > 0) {
        this.#drop();
        throw new OSError(
          'got end of file during message: the other end closed the connection (or its process ended) before the whole message came',
          '',
          'ERR_WEFT_TRUNCATED_MESSAGE',
        );
      }
      throw new EOFError(
        'The other end of the connection is closed: nothing more will come',
        'ERR_WEFT_EOF',
      );
    }
    return null;
  }

  /** Hands the messages (or the end) that are here to the recvs waiting, in order. */
  #deliver(): void {
    for (let r = this.#receivers.shift(); r !== undefined; r = this.#receivers.shift()) {
      let f: Frame | null;
      try {
        f = this.#next(r.maxlength);
      } catch (e) {
        stopListening(r);
        r.reject(e);
        continue;
      }
      if (f === null) {
        this.#receivers.unshift(r);
        return;
      }
      stopListening(r);
      try {
        r.resolve(this.#convert(r.as, f));
      } catch (e) {
        // The message could not be decoded (see `#convert`): it is consumed.
        r.reject(e);
      }
    }
  }

  /** What a read asked for of frame `f`: the frame, its bytes, or its message decoded. */
  #convert(as: As, f: Frame): unknown {
    if (as !== AS_VALUE) return as === AS_BYTES ? own(f) : f;
    if (!f.object) return own(f);
    try {
      return fromBytes(f.body, 'wire');
    } catch (e) {
      // No reviver runs for the wire (only errors are rebuilt): what throws is about the bytes.
      throw new NotCloneableError(
        `Connection.recv: the message ${this.#name()} could not be decoded (${String((e as Error)?.message ?? e)}): its ${f.body.length} bytes are not weft's serialization of a value — the peer is not a weft Connection, or the bytes were damaged on the way. The message is consumed and the connection stays open, as Python's after an UnpicklingError`,
        { cause: e },
      );
    }
  }

  /** 'from <peer> to <local>', as the socket names its ends (for messages). */
  #name(): string {
    const text = (get: () => unknown): string => {
      try {
        const a = get();
        if (Array.isArray(a)) return `${a[0]}:${a[1]}`;
        return a === '' ? '(an unnamed socket)' : String(a);
      } catch {
        return '(unknown)';
      }
    };
    return `from ${text(() => this.#sock.getpeername())} to ${text(() => this.#sock.getsockname())}`;
  }

  /**
   * Whether `recv()` would answer within `timeout` ms (default 0; null waits for ever): a whole
   * message is there, or the connection ended (recv raises). Python's also answers true for part
   * of a message; weft waits for all of it. An aborted `signal` rejects with its reason. A poll
   * still waiting when this handle is closed answers true.
   * @throws OSError when this handle is closed.
   */
  override async poll(timeout: number | null = 0, options: RecvOptions = {}): Promise<boolean> {
    if (this.#closed) throw closedError();
    const t = checkTimeout('Connection.poll', timeout);
    const signal = checkSignal('Connection.poll', options?.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    const end = t === null ? null : performance.now() + t;
    for (;;) {
      if (this.#closed || this._ready()) return true;
      const left = end === null ? null : Math.max(0, end - performance.now());
      const timedOut = await this.#waitRead(signal, left);
      if (timedOut) return this.#closed || this._ready();
    }
  }

  /** @internal recv() would not wait: a whole message, the end, or a bad header is here. */
  _ready(): boolean {
    if (this.#failure !== null || this.#eof) return true;
    const n = this.#frameSize();
    return n !== null && (n < 0 || this.#size >= n);
  }

  /**
   * Bytes the next frame takes in all, header included; −1 for a header no message has; null
   * while the header itself is incomplete.
   */
  #frameSize(): number | null {
    if (this.#size < 4) return null;
    const head = this.#head(Math.min(this.#size, 12));
    const n = head.readInt32BE(0);
    if (n >= 0) return 4 + n;
    if (n !== LONG_BYTES && n !== OBJECT) return -1;
    if (head.length < 12) return null;
    const len = readLength(head, 4);
    return len > MAX_MESSAGE ? -1 : 12 + len;
  }

  /** Takes the next frame if it is all here; checks `maxlength` as soon as its header is. */
  #take(maxlength: number | null): Frame | null {
    const total = this.#frameSize();
    if (total === null) {
      this.#need = 12;
      return null;
    }
    if (total < 0) {
      this.close();
      throw badLength('the header announces no possible message (not a multiprocessing peer?)');
    }
    const head = this.#head(4).readInt32BE(0) >= 0 ? 4 : 12;
    if (maxlength !== null && total - head > maxlength) {
      this.close();
      throw badLength(`the message is ${total - head} bytes, more than maxlength ${maxlength}`);
    }
    if (this.#size < total) {
      this.#need = total;
      return null;
    }
    this.#need = 0;
    const object = head === 12 && this.#head(4).readInt32BE(0) === OBJECT;
    const all = this.#head(total);
    const whole = all.length === total;
    this.#consume(total);
    return { object, body: all.subarray(head, total), whole };
  }

  /** The first `n` bytes (n ≤ size) in one buffer, merging the chunks that hold them. */
  #head(n: number): Buffer {
    const chunks = this.#chunks;
    const first = chunks[0] as Buffer;
    if (first.length >= n) return first;
    let k = 0;
    let got = 0;
    while (got < n) got += (chunks[k++] as Buffer).length;
    const merged = Buffer.concat(chunks.slice(0, k), got);
    chunks.splice(0, k, merged);
    return merged;
  }

  #consume(n: number): void {
    const head = this.#head(n);
    if (head.length === n) this.#chunks.shift();
    else this.#chunks[0] = head.subarray(n);
    this.#size -= n;
  }

  #drop(): void {
    this.#chunks = [];
    this.#size = 0;
  }

  /** Registers with the socket's readiness callbacks (once, at the first wait). */
  #watch(): void {
    this.#unwatch ??= this.#sock._watch(() => this.#onActivity());
  }

  /**
   * The socket may have something: taken at once, into `#chunks`, while anyone waits — what a
   * recv took out of the socket is never anywhere else meanwhile (a hand-off to a child made
   * then, `[kShared]`, carries `#chunks`). While nobody waits it stays in the socket, whose
   * reader stops reading past its limit: a peer that sends faster than this end receives is
   * held back by TCP.
   */
  #onActivity(): void {
    if (this.#receivers.length === 0 && this.#polls === null) return;
    if (!this.#pull()) return;
    if (this.#receivers.length > 0) this.#deliver();
    this.#wakePolls();
  }

  #wakePolls(): void {
    const polls = this.#polls;
    if (polls === null) return;
    // Polls that the woken ones start wait for the next activity, in a set of their own.
    this.#polls = null;
    for (const wake of polls) wake();
  }

  /** Takes what the socket holds now (bytes, its EOF, its failure); true if it held any. */
  #pull(): boolean {
    let got = false;
    // (Asked first: a recvNowait that finds nothing throws, and an error costs microseconds.)
    while (!this.#eof && this.#failure === null && !this.#closed && this.#sock._readable()) {
      try {
        this.#got(this.#sock.recvNowait(Math.max(READ_SIZE, this.#need - this.#size)));
      } catch (e) {
        if (e instanceof BlockingIOError) break;
        this.#failed(e);
      }
      got = true;
    }
    return got;
  }

  #got(b: Buffer): void {
    if (b.length === 0) this.#eof = true;
    else {
      this.#chunks.push(b);
      this.#size += b.length;
    }
  }

  #failed(e: unknown): void {
    // Closed here (or handed to a child process): nothing to report to this handle.
    if (!this.#closed) this.#failure = e;
  }

  /**
   * Waits for the socket's next activity, this handle's close, `signal` or `timeout` ms (null:
   * none); resolves to true when the timeout ended it.
   */
  #waitRead(signal: AbortSignal | null, timeout: number | null): Promise<boolean> {
    if (this.#eof || this.#failure !== null || this.#pull()) return Promise.resolve(false);
    // Aborted between two waits of one poll: its listener would never be called.
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#watch();
    const polls = (this.#polls ??= new Set());
    return new Promise<boolean>((resolve, reject) => {
      let timer: LongTimer | null = null;
      // Woken (activity or close): `#wakePolls` has let go of the set already.
      const wake = (): void => {
        clearLongTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(false);
      };
      const leave = (): void => {
        polls.delete(wake);
        // Nobody left waiting: the socket's bytes stay in it again (see `#onActivity`).
        if (polls.size === 0 && this.#polls === polls) this.#polls = null;
        clearLongTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        leave();
        reject(signal?.reason);
      };
      polls.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== null) {
        // A long timer: Node fires a plain one past 2^31 − 1 ms (24.8 days) after 1 ms, and
        // poll(3e9) answered false at once, with a TimeoutOverflowWarning.
        timer = setLongTimeout(
          timeout,
          () => {
            leave();
            resolve(true);
          },
          null,
          null,
        );
      }
    });
  }

  /**
   * Closes this end: the other end's `recv` raises EOFError once it has read what came before,
   * and its `send` fails soon after. What this handle had read and not received is dropped.
   */
  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#drop();
    this.#unwatch?.();
    for (let r = this.#receivers.shift(); r !== undefined; r = this.#receivers.shift()) {
      stopListening(r);
      r.reject(
        new EOFError('This Connection was closed while recv() waited: nothing more will come'),
      );
    }
    this.#wakePolls();
    this.#sock.close();
  }

  /**
   * How this end reaches a child process in a Process's args (its socket's descriptor, with the
   * bytes this handle read and nobody received): see src/socket/socket-handoff.ts. This handle
   * is closed here once the child holds it. Anywhere else (a pool task, a queue, a Pipe, a
   * thread) it is refused with NotCloneableError.
   */
  override [kShared](): SharedState {
    if (this.#closed)
      throw new OSError(
        'A closed Connection cannot be sent: send an open one',
        '',
        'ERR_WEFT_CONNECTION_CLOSED',
      );
    const sock = this.#sock;
    const handoff = {
      [kShared]: (): SharedState => {
        try {
          const state = sock[kShared]();
          // The socket's descriptor leaves at the fork (its copy here is then closed): this
          // handle closes with it, so that it does not also hand out the bytes it had read.
          // (A fork that fails leaves the socket open, and this handle with it.)
          const stop = sock._watch(() => {
            if (sock.fileno() !== -1) return;
            stop();
            this.close();
          });
          return state;
        } catch (e) {
          if (!(e instanceof NotCloneableError)) throw e;
          throw new NotCloneableError(
            'A Listener/Client Connection can be handed only to a child process, in the args or kwargs of a multiprocessing Process (its socket goes with it): it cannot be sent to a pool task, a queue, a Pipe or a thread. Start a Process with it, or connect there with Client()',
            { cause: e },
          );
        }
      },
    };
    const buffered = this.#size === 0 ? null : Buffer.concat(this.#chunks, this.#size);
    return {
      kind: KIND,
      state: { sock: handoff, buffered, eof: this.#eof, failure: this.#failure },
    };
  }

  /** @internal The child's side of `[kShared]`. */
  static _revive(s: Record<string, unknown>): SocketConnection {
    const c = new SocketConnection(s.sock as Socket);
    const b = s.buffered as Uint8Array | null;
    if (b !== null && b.length > 0) {
      c.#chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      c.#size = b.length;
    }
    c.#eof = s.eof === true;
    c.#failure = s.failure ?? null;
    return c;
  }
}

registerSharedKind(KIND, (s) => SocketConnection._revive(s), import.meta.url);
