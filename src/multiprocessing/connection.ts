/**
 * `Pipe()` and its `Connection` ends (Python's multiprocessing.connection.Connection).
 *
 * A direction of a pipe is a broker queue (queue.ts, `Queue._pipeDirection`). Python's two
 * signals of a closed pipe are counted by the broker, which holds, for each direction, the
 * handles of the end that writes into it and of the end that reads it (a duplex end is the
 * writer of one direction and the reader of the other) — in every process that holds one:
 *
 * - `recv()` raises EOFError once the direction is empty and every handle of its writing end is
 *   closed;
 * - `send()` raises BrokenPipeError once every handle of its reading end is closed: the broker
 *   then drops what the direction holds and what is sent to it later (nobody could receive it),
 *   and answers the `pipeWatch` each writing handle keeps waiting there (a watch: it does not
 *   keep the process alive; close() withdraws it).
 *
 *   Pipe() makes the ends       (each direction's 'create' names its creator)  1 writer, 1 reader
 *   handle serialised (Process args, a queue item)       ── 'holdToken' ──────▶ count + 1 (token)
 *     … revived at the other side                         ── 'adopt' token ───▶ token → session
 *     … never revived (child died first, encode failed)   ── 'dropTokens' ────▶ count − 1
 *   close()                                               ── 'unhold' ────────▶ count − 1
 *   its process or thread ends                            (broker: session end) count − its holds
 *
 * Each message names the handle's two directions, [out, in], and counts it in both.
 *
 * Messages of different threads reach the broker in any order (a thread sends its own once a
 * turn, or before it parks), so each step is counted whichever comes first: the first 'create'
 * of a direction — the creator's, or a revival's — counts the creator's handle of each end; an
 * 'adopt' before its 'holdToken' counts the handle, and the late 'holdToken' then does not. So a
 * count never passes through 0 while a handle is still open somewhere, and 0 is final.
 *
 * The token is why the classic idiom works: the parent passes `childEnd` to a Process and closes
 * its own copy at once; the copy travelling to the child still counts until the child holds it,
 * so the parent does not see EOF (nor a broken pipe) before the child has started. As in
 * Python, a parent that keeps its copy of the child's end open never sees either.
 *
 * `send()` is synchronous and the broker's answer to the watch is read by this thread's event
 * loop, so a send made after the last reader closed and before that answer arrived is accepted
 * and dropped (with what was still unread, as Python discards the unread bytes of a pipe). Where
 * this thread knows for sure — the ends of a `Pipe()` it made, whose reading end never left it
 * (was never serialised, so no other handle of it can exist) — the send right after that end's
 * `close()` raises, with no window.
 */
import { setMaxListeners } from 'node:events';
import { currentTaskSignal } from '../internal/context.js';
import { describeValue } from '../internal/errors.js';
import { broker, type Withdrawable } from '../internal/process/broker-client.js';
import { dropTransfers, noteTransfer } from '../internal/process/transfers.js';
import { kShared, type SharedState } from '../internal/serialize.js';
import { BrokenPipeError, BufferTooShort, EOFError, OSError } from './errors.js';
import { type InternalGetOptions, kAsBytes, Queue } from './queue.js';
import { checkSignal, checkTimeout, registerKind } from './shared-object.js';

export interface RecvOptions {
  signal?: AbortSignal;
}

let tokenSeq = 0;

/**
 * What the thread that made a Pipe knows of the reading end of one of its directions: 'here'
 * while that end was never serialised (it is then its only handle), 'closed' once that handle is
 * closed (the pipe is broken, for sure), 'away' once it was serialised (the broker knows).
 */
interface ReadEnd {
  state: 'here' | 'closed' | 'away';
}

/**
 * A writing handle's news of its readers, kept apart from the Connection: the watch's callback
 * holds this, not the handle, so an unclosed handle can still be collected.
 */
interface WriteState {
  broken: boolean;
  /** Withdraws the broker's watch; null once it answered or failed. */
  watch: Withdrawable | null;
}

const kClosed = Symbol('weft.connection.closed');

/** Asks the broker to say when nobody can read `out` any more (at once if nobody can already). */
function watchReaders(out: Queue): WriteState {
  const control: Withdrawable = { withdraw: () => {} };
  const st: WriteState = { broken: false, watch: control };
  broker()
    .watch('pipeWatch', out._id, [], control)
    .then(
      () => {
        st.broken = true;
        st.watch = null;
      },
      // Withdrawn by close(), or the broker is gone (then every send fails anyway).
      () => {
        st.watch = null;
      },
    );
  return st;
}

/**
 * Misuse of a handle is Python's OSError ("handle is closed", "connection is read-only"), so an
 * `except OSError` ported from Python catches it; the code tells the cases apart.
 */
/** @internal Also the Listener/Client connection's (socket-connection.ts). */
export function closedError(): OSError {
  return new OSError(
    'Connection is closed: this handle was closed with close(); use another handle of this end',
    '',
    'ERR_WEFT_CONNECTION_CLOSED',
  );
}
const readOnly = (): OSError =>
  new OSError(
    'Connection is read-only: it is the receiving end of a Pipe(false); send on the other end',
    '',
    'ERR_WEFT_CONNECTION_READONLY',
  );
const writeOnly = (): OSError =>
  new OSError(
    'Connection is write-only: it is the sending end of a Pipe(false); receive on the other end',
    '',
    'ERR_WEFT_CONNECTION_WRITEONLY',
  );

/** The bytes of `buf` as one view (Python's memoryview(buf).cast('B')). */
function bytesOf(buf: unknown, what: string): Uint8Array {
  if (buf instanceof ArrayBuffer || buf instanceof SharedArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new TypeError(
    `${what} expects a Buffer, a typed array, a DataView or an ArrayBuffer: received ${describeValue(buf)}`,
  );
}

function checkCount(what: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TypeError(`${what}: ${name} must be an integer: received ${describeValue(v)}`);
  if (v < 0) throw new RangeError(`${what}: ${name} is negative: received ${v}`);
  return v;
}

const BROKEN =
  'Broken pipe: every handle of the receiving end of this Pipe is closed (by close(), or by the ' +
  'end of the process or thread that held it), so nothing sent now could be received; stop ' +
  'sending and close this end';

/**
 * One end of a `Pipe()`: `send` an object, `recv` the next one. Ends travel to children in
 * `args` (or inside queue items) and stay connected; each copy is a handle of that end, closed
 * by `close()` or by the end of the process or thread holding it.
 */
export class Connection {
  readonly #in: Queue | null;
  readonly #out: Queue | null;
  #closed = false;
  /** A Pipe() end of this thread: what it knows of this end's reading side (of `#in`). */
  readonly #reads: ReadEnd | null;
  /** A Pipe() end of this thread: what it knows of the other end's reading side (of `#out`). */
  readonly #peer: ReadEnd | null;
  readonly #write: WriteState | null;
  /** Aborts the recv()s of this handle still waiting when it is closed. */
  #recvAbort: AbortController | null = null;

  /**
   * @internal `token`: this handle was serialised elsewhere and is revived here; null: a new
   * Pipe's end, counted by the creation of its directions (`reads`, `peer`: see ReadEnd).
   */
  constructor(
    inbound: Queue | null,
    outbound: Queue | null,
    token: string | null,
    reads: ReadEnd | null = null,
    peer: ReadEnd | null = null,
  ) {
    this.#in = inbound;
    this.#out = outbound;
    this.#reads = reads;
    this.#peer = peer;
    if (token !== null) broker().post('adopt', undefined, [token, ...this.#ids()]);
    this.#write = outbound === null ? null : watchReaders(outbound);
  }

  /** The directions this handle counts in, as the broker's messages name them: [out, in]. */
  #ids(): [string | null, string | null] {
    return [this.#out?._id ?? null, this.#in?._id ?? null];
  }

  get readable(): boolean {
    return this.#in !== null;
  }
  get writable(): boolean {
    return this.#out !== null;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** @internal The broker's id of the direction this handle reads (tests ask its state). */
  get _inId(): string | null {
    return this.#in?._id ?? null;
  }

  /**
   * Sends `obj` (structured-cloned) to the other end.
   * @throws OSError when this handle is closed or read-only.
   * @throws BrokenPipeError once every handle of the other end is closed (in every process) —
   * known at once within the thread that made the Pipe while the other end never left it,
   * else from the next turn of this thread's event loop after the broker saw the last close:
   * what is sent before that is dropped, as the unread rest is.
   */
  send(obj: unknown): void {
    if (this.#closed) throw closedError();
    if (!this.#out) throw readOnly();
    if (this.#write?.broken || this.#peer?.state === 'closed') throw new BrokenPipeError(BROKEN);
    this.#out.putNowait(obj);
  }

  /**
   * Python's `send_bytes(buf, offset, size)`: sends a copy of `size` bytes of `buf` from byte
   * `offset` (default: to its end). The other end gets a Buffer, from `recvBytes()` or `recv()`.
   * @throws TypeError when `buf` is not binary or a count not an integer; RangeError (Python's
   * ValueError) when a count is negative or past the end of `buf`; as `send` otherwise.
   */
  sendBytes(buf: ArrayBufferView | ArrayBufferLike, offset = 0, size?: number): void {
    const bytes = bytesOf(buf, 'Connection.sendBytes');
    checkCount('Connection.sendBytes', 'offset', offset);
    if (offset > bytes.length)
      throw new RangeError(
        `Connection.sendBytes: offset ${offset} is past the end of the buffer (${bytes.length} bytes)`,
      );
    const n =
      size === undefined ? bytes.length - offset : checkCount('Connection.sendBytes', 'size', size);
    if (offset + n > bytes.length)
      throw new RangeError(
        `Connection.sendBytes: offset + size (${offset} + ${n}) is past the end of the buffer (${bytes.length} bytes)`,
      );
    // A view: the put copies a binary message (broker-item.ts), once.
    this.send(Buffer.from(bytes.buffer, bytes.byteOffset + offset, n));
  }

  /**
   * Resolves to the next object sent from the other end.
   *
   * **Cancellation:** an aborted `signal` (by default, inside a `weft/asyncio` task, the task's)
   * rejects with its reason and withdraws the wait: an object sent later goes to the next
   * `recv`.
   * @throws EOFError when nothing is left and every handle of the other end is closed.
   */
  recv(options: RecvOptions = {}): Promise<unknown> {
    return this.#recv(options, false);
  }

  /** `recv`; `asBytes`: the message as recvBytes gives it (queue.ts `kAsBytes`). */
  async #recv(options: RecvOptions, asBytes: boolean): Promise<unknown> {
    const signal = checkSignal('Connection.recv', options?.signal) ?? currentTaskSignal();
    if (this.#closed) throw closedError();
    if (!this.#in) throw writeOnly();
    if (signal?.aborted) throw signal.reason;
    // close() withdraws it: a recv left waiting at the broker would take items meant for the
    // end's other handles (a child's) into this closed one.
    const closing = this.#closing();
    const q = this.#in;
    if (signal === null) return q.get(getOptions(closing, asBytes));
    return untilEither(
      signal,
      closing,
      () => closing.reason,
      (s) => q.get(getOptions(s, asBytes)),
    );
  }

  /**
   * The signal close() aborts, under every recv and poll of this handle still waiting. Any number
   * of them may wait at once (each removes its listener when it ends): no limit, else Node
   * printed a MaxListenersExceededWarning from the eleventh.
   */
  #closing(): AbortSignal {
    if (this.#recvAbort === null) {
      this.#recvAbort = new AbortController();
      setMaxListeners(0, this.#recvAbort.signal);
    }
    return this.#recvAbort.signal;
  }

  /**
   * Python's `recv_bytes(maxlength)`: resolves to the next message as a Buffer — the bytes a
   * `sendBytes` sent, or, for an object sent with `send`, its bytes in v8's serialization format
   * (`v8.deserialize` reads it back), as Python's are its pickle.
   * @throws OSError when the message is longer than `maxlength`: as in Python, this handle is then
   * closed and the message dropped. RangeError (Python's ValueError) for a negative `maxlength`.
   * EOFError, cancellation: as `recv`.
   */
  async recvBytes(maxlength: number | null = null, options: RecvOptions = {}): Promise<Buffer> {
    if (maxlength !== null && maxlength !== undefined)
      checkCount('Connection.recvBytes', 'maxlength', maxlength);
    const buf = (await this.#recv(options, true)) as Buffer;
    if (maxlength !== null && maxlength !== undefined && buf.length > maxlength) {
      this.close();
      throw new OSError(
        `Bad message length: received ${buf.length} bytes, more than maxlength ${maxlength}; this handle is now closed, as in Python`,
        '',
        'ERR_WEFT_BAD_MESSAGE_LENGTH',
      );
    }
    return buf;
  }

  /**
   * Python's `recv_bytes_into(buffer, offset)`: receives the next message (its bytes, as
   * `recvBytes` gives them) into `buf` from byte `offset` on, and resolves to its length in
   * bytes. `buf` is a Buffer, a typed array, a DataView or an (Shared)ArrayBuffer; `offset`
   * counts bytes whatever its item size, as Python's does.
   * @throws BufferTooShort (a ProcessError) when the message is longer than the room after
   * `offset`: the message is the error's `data`, and `buf` is left as it was.
   * @throws TypeError when `buf` is not binary or `offset` not an integer; RangeError (Python's
   * ValueError) when `offset` is negative or past the end of `buf`. EOFError, cancellation: as
   * `recv`.
   */
  async recvBytesInto(
    buf: ArrayBufferView | ArrayBufferLike,
    offset = 0,
    options: RecvOptions = {},
  ): Promise<number> {
    const room = bytesOf(buf, 'Connection.recvBytesInto');
    checkCount('Connection.recvBytesInto', 'offset', offset);
    if (offset > room.length)
      throw new RangeError(
        `Connection.recvBytesInto: offset ${offset} is past the end of the buffer (${room.length} bytes)`,
      );
    const data = await this.recvBytes(null, options);
    if (data.length > room.length - offset) {
      throw new BufferTooShort(
        `Connection.recvBytesInto: the message is ${data.length} bytes, and the buffer has ${room.length - offset} after offset ${offset}; the message is this error's data`,
        data,
      );
    }
    room.set(data, offset);
    return data.length;
  }

  /**
   * Whether `recv()` would answer within `timeout` ms (default 0; null waits for ever): an object
   * is ready (it stays to be recv'd) or the other end is closed (recv raises EOFError), as in
   * Python. An aborted `signal` (by default, inside a `weft/asyncio` task, the task's) rejects
   * with its reason at once. A poll still waiting when this handle is closed answers true (a
   * `recv()` then raises OSError at once).
   *
   * It waits at the broker, which answers when an object arrives or the last writer closes:
   * one request per call, however long it waits.
   * @throws OSError when this handle is closed or write-only.
   */
  async poll(timeout: number | null = 0, options: RecvOptions = {}): Promise<boolean> {
    if (this.#closed) throw closedError();
    if (!this.#in) throw writeOnly();
    const t = checkTimeout('Connection.poll', timeout);
    const signal = checkSignal('Connection.poll', options?.signal) ?? currentTaskSignal();
    if (signal?.aborted) throw signal.reason;
    if (t === 0) {
      // Only a look, answered without waiting: no listener on the signal (wait() makes one such
      // poll per Connection at once, all on the caller's or the task's signal).
      const ready = await this.#in._pipePoll(0, null);
      if (this.#closed) return true;
      if (signal?.aborted) throw signal.reason;
      return ready;
    }
    // Closing this handle withdraws the poll, as it does a recv: Python's timed poll then answers
    // True, and a recv() now raises at once, so it would not wait (its untimed poll waits for
    // ever there; this one answers true too).
    const q = this.#in;
    return untilEither(
      signal,
      this.#closing(),
      () => kClosed,
      (s) =>
        q._pipePoll(t, s).catch((e: unknown) => {
          if (s.reason === kClosed) return true;
          throw e;
        }),
    );
  }

  /**
   * Closes this handle: the other end sees EOF once every handle of this end is closed, and its
   * `send` raises BrokenPipeError. Objects this handle had fetched and not received go back for
   * the end's other handles (or are dropped with the rest when there are none).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#recvAbort?.abort(
      new EOFError('This end of the Pipe was closed while recv() waited: nothing more will come'),
    );
    this.#write?.watch?.withdraw(kClosed);
    if (this.#reads?.state === 'here') this.#reads.state = 'closed';
    this.#in?._returnHeld();
    broker().post('unhold', undefined, this.#ids());
  }

  /**
   * `using conn = …` closes it at the end of the block, as Python's `with conn:` (a Connection is
   * a context manager there): `close()`, which a Listener/Client connection overrides.
   */
  [Symbol.dispose](): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  [kShared](): SharedState {
    if (this.#closed)
      throw new OSError(
        'A closed Connection cannot be sent: send an open one',
        '',
        'ERR_WEFT_CONNECTION_CLOSED',
      );
    // Its creator's session owner first: the broker tells a drop by another thread by it.
    const token = `${broker().owner}/${++tokenSeq}`;
    broker().post('holdToken', undefined, [token, ...this.#ids()]);
    noteTransfer(token);
    // Another handle of this end may now exist: only the broker knows when they are all closed.
    if (this.#reads !== null) this.#reads.state = 'away';
    return { kind: 'mp:Connection', state: { in: this.#in, out: this.#out, token } };
  }
}

registerKind(
  'mp:Connection',
  (s) => {
    const st = s as unknown as { in: Queue | null; out: Queue | null; token: string };
    return new Connection(st.in, st.out, st.token);
  },
  import.meta.url,
  // A handle that will never be revived (a pool task withdrawn or stolen after its batch
  // reached a worker) stops counting: its token goes.
  (s) => dropTransfers([(s as unknown as { token: string }).token]),
);

/** A recv's options for its direction's `get` (`asBytes`: recvBytes's). */
function getOptions(signal: AbortSignal, asBytes: boolean): InternalGetOptions {
  return asBytes ? { signal, [kAsBytes]: true } : { signal };
}

/**
 * Runs `wait` under a signal that `signal` (if any) aborts with its reason and `closing` (a
 * handle's close()) with `closedAs()`. One controller per call, its listeners removed when the
 * wait ends, rather than AbortSignal.any: the handle's closing signal lives as long as the
 * handle and would gather a dependent signal per wait.
 */
async function untilEither<T>(
  signal: AbortSignal | null,
  closing: AbortSignal,
  closedAs: () => unknown,
  wait: (either: AbortSignal) => Promise<T>,
): Promise<T> {
  const either = new AbortController();
  const onAbort = (): void => either.abort(signal?.reason);
  const onClose = (): void => either.abort(closedAs());
  signal?.addEventListener('abort', onAbort, { once: true });
  closing.addEventListener('abort', onClose, { once: true });
  try {
    return await wait(either.signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    closing.removeEventListener('abort', onClose);
  }
}

/**
 * Python's `multiprocessing.Pipe(duplex)`: two connected ends. Duplex (the default): both ends
 * send and receive; otherwise the first end only receives and the second only sends.
 */
export function Pipe(duplex = true): [Connection, Connection] {
  const ab = Queue._pipeDirection();
  const abReader: ReadEnd = { state: 'here' };
  if (!duplex)
    return [
      new Connection(ab, null, null, abReader, null),
      new Connection(null, ab, null, null, abReader),
    ];
  const ba = Queue._pipeDirection();
  const baReader: ReadEnd = { state: 'here' };
  return [
    new Connection(ba, ab, null, baReader, abReader),
    new Connection(ab, ba, null, abReader, baReader),
  ];
}
