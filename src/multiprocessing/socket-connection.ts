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
 * Reading. One socket read at a time (`#fill`, shared by every waiting `recv`/`poll` and by
 * `wait()`, never tied to one caller's signal, so a caller that gives up consumes nothing) feeds
 * a list of chunks; a message is taken once all its bytes are there. A header whose length is
 * more than a Buffer can hold (or negative, other than −1 and −2) is an `OSError` and closes the
 * connection, as Python's "bad message length" does: nothing is allocated for it.
 *
 * Writing. `send` is synchronous, as a Pipe end's: the frame goes to the socket's send queue
 * (`sendNowait`; when the queue is over its high-water mark, `sendall`, not awaited, which
 * queues it all the same). A failure of the connection is raised by the next `send` (or `recv`).
 */
import { constants as bufferConstants } from 'node:buffer';
import { currentTaskSignal } from '../internal/context.js';
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
const FALSE = (): false => false;

export interface Frame {
  /** Sent by `send` (an object), not `sendBytes`. */
  object: boolean;
  body: Buffer;
  /** `body` is all of the buffer under it (else it shares one read with other messages). */
  whole: boolean;
}

/** A frame's bytes for the caller to keep: copied when they share a read with others. */
const own = (f: Frame): Buffer => (f.whole ? f.body : Buffer.from(f.body));

function badLength(what: string): OSError {
  return new OSError(
    `Bad message length: ${what}; this Connection is now closed, as in Python`,
    '',
    'ERR_WEFT_BAD_MESSAGE_LENGTH',
  );
}

/** The first shared weft object inside `v` (a Queue, a Lock, a Pipe end…), or null. */
function sharedInside(v: unknown, seen: Set<object>): object | null {
  if (v === null || typeof v !== 'object' || seen.has(v)) return null;
  seen.add(v);
  if (typeof (v as { [kShared]?: unknown })[kShared] === 'function') return v;
  // The bytes carrier would send a registry id of this process's for it, which no other process
  // can look up (a Pipe refuses one too; a view over one is copied, as there).
  if (v instanceof SharedArrayBuffer) return v;
  if (v instanceof Error || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return null;
  const items =
    v instanceof Map
      ? [...v.keys(), ...v.values()]
      : v instanceof Set
        ? [...v]
        : Array.isArray(v)
          ? v
          : Object.values(v);
  for (const x of items) {
    const s = sharedInside(x, seen);
    if (s !== null) return s;
  }
  return null;
}

function nameOf(o: object): string {
  return o.constructor?.name || 'shared object';
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
  /** The read under way, shared by every waiter; null when none is. */
  #filling: Promise<void> | null = null;
  /** Aborted by close(): wakes every recv and poll waiting. */
  readonly #closing = new AbortController();

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
    const shared = sharedInside(obj, new Set());
    if (shared instanceof SharedArrayBuffer) {
      throw new NotCloneableError(
        'Connection.send: a SharedArrayBuffer cannot be sent to another process; share memory between processes with SharedMemory, Array or Value, or send a typed array over it to send a copy',
      );
    }
    if (shared !== null) {
      throw new NotCloneableError(
        `Connection.send: a ${nameOf(shared)} cannot be sent over a Listener/Client connection (the other end may be a process with another multiprocessing broker, as Python refuses it too): pass it in a Process's args, or through a Pipe or a Queue`,
      );
    }
    this.#write(toBytes(obj, 'Connection.send'), true);
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
      frame.writeBigUInt64BE(BigInt(n), 4);
    }
    body.copy(frame, head);
    try {
      this.#sock.sendNowait(frame);
    } catch (e) {
      if (!(e instanceof BlockingIOError)) throw e;
      // The send queue is full: queue it anyway (as a Pipe's send does); what fails later is
      // raised by the next send.
      this.#sock.sendall(frame).catch(() => {});
    }
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
  override async recv(options: RecvOptions = {}): Promise<unknown> {
    const f = await this._recvFrame(null, options.signal);
    return f.object ? fromBytes(f.body) : own(f);
  }

  /**
   * Python's `recv_bytes(maxlength)`: the next message's bytes — what `sendBytes` sent, or an
   * object's serialization (`v8.deserialize` reads it back).
   * @throws OSError when the message is longer than `maxlength`, known from its header: as in
   * Python, this handle is then closed. Otherwise as `recv`.
   */
  override async recvBytes(
    maxlength: number | null = null,
    options: RecvOptions = {},
  ): Promise<Buffer> {
    if (maxlength !== null && maxlength !== undefined) {
      if (typeof maxlength !== 'number' || !Number.isInteger(maxlength))
        throw new TypeError(
          `Connection.recvBytes: maxlength must be an integer: received ${String(maxlength)}`,
        );
      if (maxlength < 0)
        throw new RangeError(`Connection.recvBytes: maxlength is negative: received ${maxlength}`);
    }
    return own(await this._recvFrame(maxlength ?? null, options.signal));
  }

  /** @internal The next frame, for recv, recvBytes and the handshake. */
  async _recvFrame(maxlength: number | null, signalOption: unknown): Promise<Frame> {
    const signal = checkSignal('Connection.recv', signalOption) ?? currentTaskSignal();
    if (this.#closed) throw closedError();
    if (signal?.aborted) throw signal.reason;
    for (;;) {
      const f = this.#take(maxlength);
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
      await this.#waitRead(signal, null);
      if (this.#closed)
        throw new EOFError(
          'This Connection was closed while recv() waited: nothing more will come',
        );
    }
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
    const signal = checkSignal('Connection.poll', options.signal) ?? currentTaskSignal();
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
    const len = head.readBigUInt64BE(4);
    return len > BigInt(MAX_MESSAGE) ? -1 : 12 + Number(len);
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

  /**
   * Starts a read of the socket unless one is under way; resolves when it ended (never rejects).
   * What the socket holds already is taken at once, into `#chunks`: taken by a `recv` whose
   * result a later microtask would store, it would be in neither place for a hand-off to a child
   * made meanwhile (`[kShared]`), and lost.
   */
  #fill(): Promise<void> {
    if (this.#filling !== null) return this.#filling;
    const want = Math.max(READ_SIZE, this.#need - this.#size);
    // (Asked first: a recvNowait that finds nothing throws, and an error costs microseconds.)
    if (this.#sock._readable()) {
      try {
        this.#got(this.#sock.recvNowait(want));
        return DONE;
      } catch (e) {
        if (!(e instanceof BlockingIOError)) {
          this.#failed(e);
          return DONE;
        }
      }
    }
    const p = this.#sock.recv(want).then(
      (b) => this.#got(b),
      (e: unknown) => this.#failed(e),
    );
    this.#filling = p.finally(() => {
      this.#filling = null;
    });
    return this.#filling;
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
   * Waits for the next read to end, this handle's close, `signal` or `timeout` ms (null: none);
   * resolves to true when the timeout ended it.
   */
  #waitRead(signal: AbortSignal | null, timeout: number | null): Promise<boolean> {
    if (this.#eof || this.#failure !== null) return Promise.resolve(false);
    const read = this.#fill();
    // A plain wait (recv without a signal): close() settles the read too (the socket's close
    // fails it), so no listener is needed — they cost more than the rest of a recv.
    if (signal === null && timeout === null) return read.then(FALSE);
    return new Promise<boolean>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const closing = this.#closing.signal;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        closing.removeEventListener('abort', onClose);
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const onClose = (): void => {
        done();
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      closing.addEventListener('abort', onClose, { once: true });
      if (timeout !== null) {
        timer = setTimeout(() => {
          done();
          resolve(true);
        }, timeout);
      }
      read.then(() => {
        done();
        resolve(false);
      });
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
    this.#closing.abort();
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
