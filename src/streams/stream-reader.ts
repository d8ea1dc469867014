/**
 * StreamReader: asyncio's buffered byte reader, fed by a connection (or by `feedData`).
 *
 * Implementation notes
 * --------------------
 * The buffer is a list of chunks as they arrived (Node hands each `data` chunk over owned, so
 * nothing is copied on arrival); `read(n)` of a whole chunk returns it as it is, and only a read
 * that spans chunks, or a separator search, joins them. At most one call waits at a time (as in
 * asyncio, a second concurrent read is a usage error), through one `Waiter` of the waiter
 * engine: cancelling the task (or aborting `signal`) ends the wait and leaves every buffered
 * byte in place, so a cancelled read loses nothing.
 *
 * Back pressure: past `2 × limit` buffered bytes the transport is paused (Node stops reading the
 * socket, the kernel's receive window fills, the peer's writes block); it resumes when a read
 * brings the buffer down to `limit` — asyncio's `_maybe_resume_transport`.
 */
import { argumentError, RuntimeError, TimeoutError } from '../internal/errors.js';
import { parseWait } from '../internal/wait-options.js';
import { Waiter } from '../internal/waiter.js';
import { IncompleteReadError, LimitOverrunError } from './errors.js';

/** asyncio's `_DEFAULT_LIMIT`: 64 KiB. */
export const DEFAULT_LIMIT = 2 ** 16;

const EMPTY = Buffer.alloc(0);

/** What a reader needs of the connection that feeds it. */
export interface ReadTransport {
  pauseReading(): void;
  resumeReading(): void;
}

export interface ReadOptions {
  signal?: AbortSignal;
  /**
   * Fail this wait after this many ms with a `TimeoutError` (overrides `readTimeout`); null or
   * `Infinity`: no limit. A negative or NaN timeout, or one that is not a number, fails the
   * call (RangeError, TypeError), as every waiting call of weft's does.
   */
  timeout?: number | null;
}

/**
 * @internal Checks a stream call's `{ timeout, signal }` with the rules of every waiting call
 * (src/internal/wait-options.ts): TypeError for a wrong type (NaN among them), RangeError for a
 * negative timeout (as `readTimeout`). Returns the timeout, null for none.
 */
export function parseReadOptions(what: string, options: ReadOptions | undefined): number | null {
  return parseWait(what, options, 'reject').timeout;
}

/** `parseReadOptions` for a call that returns a promise: the error to reject with, or null. */
function badReadOptions(what: string, options: ReadOptions): unknown {
  try {
    parseReadOptions(what, options);
    return null;
  } catch (e) {
    return e;
  }
}

export interface StreamReaderOptions {
  /** Buffer limit in bytes for `readuntil`/`readline` and for back pressure (default 64 KiB). */
  limit?: number;
  /** Fail any single wait for data longer than this many ms with a `TimeoutError`. */
  readTimeout?: number | null;
}

type Separator = string | Uint8Array;

/** @internal The reader options with their defaults; throws TypeError for one of the wrong type,
 * RangeError for a bad value. Exported so that a connection's options are checked before the
 * connection is made. */
export function checkReaderOptions(options: StreamReaderOptions): {
  limit: number;
  readTimeout: number | null;
} {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit)) {
    throw new TypeError(`StreamReader limit must be an integer: received ${String(limit)}`);
  }
  if (limit <= 0) {
    throw new RangeError(`StreamReader limit must be a positive integer: received ${limit}`);
  }
  const t = options.readTimeout ?? null;
  if (t !== null && (typeof t !== 'number' || Number.isNaN(t))) {
    throw new TypeError(`readTimeout must be a number of ms: received ${String(t)}`);
  }
  if (t !== null && t < 0) {
    throw new RangeError(`readTimeout must be a number of ms >= 0: received ${t}`);
  }
  return { limit, readTimeout: t };
}

/**
 * Reads bytes from a stream: `read(n)`, `readexactly(n)`, `readuntil(sep)`, `readline()`, and
 * line by line with `for await`.
 *
 * Every read returns a Promise, even when the buffer can answer at once. A read waits until data
 * or EOF arrives; at EOF `read` gives an empty buffer, `readexactly`/`readuntil` raise
 * `IncompleteReadError` carrying the bytes that did arrive. Once the connection failed (a reset),
 * reads raise its error (`ConnectionResetError`).
 *
 * **Cancellation:** a cancelled read consumes nothing; the bytes stay buffered for the next read.
 *
 * @example
 * const r = new StreamReader();
 * r.feedData(Buffer.from('hello\nworld'));
 * r.feedEof();
 * await r.readline(); // <Buffer 'hello\n'>
 * await r.read();     // <Buffer 'world'>
 */
export class StreamReader {
  readonly limit: number;
  private chunks: (Buffer | undefined)[] = [];
  private first = 0;
  private size = 0;
  private eof = false;
  private exc: unknown = null;
  private waiter: Waiter<void> | null = null;
  private transport: ReadTransport | null = null;
  private paused = false;
  /** The `n` of the read waiting now. */
  private readWant = 0;
  private readonly readTimeout: number | null;
  /** @internal Called when the reader may have become readable (weft/selectors listens). */
  _onActivity: (() => void) | null = null;
  /** @internal Called when a read starts to wait for data (Process: hold the child again). */
  _onWait: (() => void) | null = null;
  /** Who reads the stream in the reader's place (`_hold`): every read raises while set. */
  private holder: string | null = null;

  constructor(options: StreamReaderOptions = {}) {
    const { limit, readTimeout } = checkReaderOptions(options);
    this.limit = limit;
    this.readTimeout = readTimeout;
  }

  /** @internal Connects the reader to the transport it may pause. */
  _setTransport(transport: ReadTransport): void {
    this.transport = transport;
    // A new transport under a reader that paused the old one (startTls): it must not read on.
    if (this.paused) transport.pauseReading();
  }

  /**
   * @internal While `holder` (e.g. "communicate() of process 12") is set, every read raises
   * RuntimeError 'ERR_WEFT_READ_BUSY' naming it; null ends that. For a reader whose stream
   * someone else takes at the end (Process.communicate(), asyncio's one reading task of the
   * pipe): a read meanwhile would take bytes from under it, which asyncio refuses (its read
   * would have to wait for data while communicate's waits).
   */
  _hold(holder: string | null): void {
    this.holder = holder;
  }

  /** @internal A read is waiting for data. */
  _waiting(): boolean {
    return this.waiter !== null;
  }

  private held(what: string): RuntimeError {
    return new RuntimeError(
      `${what}() called while ${this.holder} is reading this stream (it takes all of it): one reading task at a time`,
      'ERR_WEFT_READ_BUSY',
    );
  }

  /** The error the stream failed with, or null. */
  exception(): unknown {
    return this.exc;
  }

  /** Fails the stream: the waiting read and every later one raise `exc`. */
  setException(exc: unknown): void {
    this.exc = exc;
    const w = this.waiter;
    if (w !== null) w.fail(exc);
    this._onActivity?.();
  }

  /**
   * Appends bytes to the buffer (copied: the caller may reuse `data`).
   * @throws {RuntimeError} after `feedEof()` (asyncio asserts): the stream has ended, and bytes
   *   after its end would be read as if they came before it.
   * @throws {TypeError} when `data` is neither bytes nor a string.
   */
  feedData(data: Uint8Array | string): void {
    if (this.eof) {
      throw new RuntimeError(
        'Cannot call feedData() after feedEof(): the stream has ended',
        'ERR_WEFT_FEED_AFTER_EOF',
      );
    }
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw new TypeError(
        `StreamReader.feedData() expects bytes or a string: received ${data === null ? 'null' : typeof data}`,
      );
    }
    const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this._feedOwned(buf);
  }

  /** @internal Appends a buffer that nobody else will touch (a `data` chunk of Node's). */
  _feedOwned(buf: Buffer): void {
    if (buf.length === 0) return;
    this.chunks.push(buf);
    this.size += buf.length;
    const w = this.waiter;
    if (w !== null) w.wake(undefined);
    if (this.transport !== null && !this.paused && this.size > 2 * this.limit) {
      this.paused = true;
      this.transport.pauseReading();
    }
    this._onActivity?.();
  }

  /** Marks the end of the stream: reads return what is buffered, then EOF. */
  feedEof(): void {
    this.eof = true;
    const w = this.waiter;
    if (w !== null) w.wake(undefined);
    this._onActivity?.();
  }

  /** @internal True when a read would not wait (data, EOF or an error). */
  _ready(): boolean {
    return this.size > 0 || this.eof || this.exc !== null;
  }

  /** @internal `read(n)` that never waits: null when it would have to. */
  _readNowait(n: number): Buffer | null {
    if (this.exc !== null) throw this.exc;
    if (this.size === 0) {
      if (this.eof) return EMPTY;
      // A paused transport must read again, or the caller's selector would never wake.
      if (this.paused) {
        this.paused = false;
        this.transport?.resumeReading();
      }
      return null;
    }
    return this.take(Math.min(n, this.size));
  }

  /**
   * @internal `_readNowait` for weft/socket, whose recv is Python's socket.recv: the bytes that
   * arrived before a failure come out first, as recv(2) returns what the kernel holds before
   * it reports a reset; the failure after them. (asyncio's StreamReader, and `read` here, raise
   * a stored exception before the buffer.)
   */
  _recvNowait(n: number): Buffer | null {
    if (this.size > 0) return this.take(Math.min(n, this.size));
    // recv(2) returns 0 for ever once the peer's FIN was read, whatever failed after it (the
    // EPIPE of a send to that closed peer, its RST): Python's recv gives b'' there.
    if (this.eof) return EMPTY;
    return this._readNowait(n);
  }

  /** @internal Ends the waiting read, if any, with what is buffered (an empty buffer if
   * nothing): weft/socket's shutdown(SHUT_RD), which makes a pending recv return b''. */
  _wakeReader(): void {
    this.waiter?.wake(undefined);
  }

  /** True when the stream ended and the buffer is empty. */
  atEof(): boolean {
    return this.eof && this.size === 0;
  }

  /** Bytes buffered and not yet read (a snapshot). */
  get buffered(): number {
    return this.size;
  }

  /**
   * Reads up to `n` bytes (`n < 0`: everything until EOF). Waits when the buffer is empty;
   * resolves to an empty buffer at EOF.
   */
  read(n = -1, options?: ReadOptions): Promise<Buffer> {
    // Not an async function: the common answers (bytes buffered, EOF) skip a promise frame.
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      return Promise.reject(argumentError('read: size must be an integer', n));
    }
    if (options !== undefined) {
      const bad = badReadOptions('StreamReader.read', options);
      if (bad !== null) return Promise.reject(bad);
    }
    if (this.exc !== null) return Promise.reject(this.exc);
    // read(0) takes nothing and never waits: asyncio answers it whoever reads the stream.
    if (n === 0) return Promise.resolve(EMPTY);
    if (this.holder !== null) return Promise.reject(this.held('read'));
    if (n < 0) return this.readAll(options);
    if (this.size > 0 || this.eof) return Promise.resolve(this.take(Math.min(n, this.size)));
    return this.readWaiting(n, options);
  }

  /**
   * `read(n)` that must wait: one Waiter and one `then` — no async frame, no closure per call
   * (the callbacks are the reader's own; `readWant` carries `n`). A wait that ends in error or
   * cancellation takes nothing.
   */
  private readWaiting(n: number, options: ReadOptions | undefined): Promise<Buffer> {
    const w = this.startWait('read', options);
    if (!(w instanceof Waiter)) return w;
    this.readWant = n;
    return w.block().then(this.readWoken, this.waitFailed);
  }

  private readonly readWoken = (): Buffer => {
    this.waiter = null;
    return this.take(Math.min(this.readWant, this.size));
  };

  private readonly waitFailed = (e: unknown): never => {
    this.waiter = null;
    throw e;
  };

  /**
   * `read(-1)`: waits for EOF with the bytes left in the buffer, then takes them all. Taking them
   * block by block as they came (asyncio's way) would lose those already taken when the wait is
   * cancelled or times out; here a cancelled read consumes nothing, as every read. (Each wait
   * resumes a transport paused for back pressure: the whole stream is wanted.)
   */
  private async readAll(options: ReadOptions | undefined): Promise<Buffer> {
    while (!this.eof) await this.waitForData('read', options);
    if (this.exc !== null) throw this.exc;
    return this.take(this.size);
  }

  /**
   * Reads exactly `n` bytes. At EOF first, raises `IncompleteReadError` whose `partial` holds the
   * bytes that did arrive (consumed from the buffer).
   * @throws {IncompleteReadError}
   */
  async readexactly(n: number, options?: ReadOptions): Promise<Buffer> {
    checkCount('readexactly', n);
    if (n < 0) throw new RangeError(`readexactly size can not be less than zero: received ${n}`);
    if (options !== undefined) parseReadOptions('StreamReader.readexactly', options);
    if (this.exc !== null) throw this.exc;
    if (this.holder !== null) throw this.held('readexactly');
    if (n === 0) return EMPTY;
    while (this.size < n) {
      if (this.eof) throw new IncompleteReadError(this.take(this.size), n);
      await this.waitForData('readexactly', options);
    }
    return this.take(n);
  }

  /**
   * Reads up to and including `separator` (or the first-ending of several separators).
   * @throws {IncompleteReadError} at EOF before a separator (`partial` = everything, consumed).
   * @throws {LimitOverrunError} when no separator is found within `limit` bytes (nothing is
   *   consumed; `consumed` tells how many bytes may be skipped).
   */
  async readuntil(
    separator: Separator | readonly Separator[] = '\n',
    options?: ReadOptions,
  ): Promise<Buffer> {
    const seps = normalizeSeparators(separator);
    if (options !== undefined) parseReadOptions('StreamReader.readuntil', options);
    let minLen = Number.POSITIVE_INFINITY;
    let maxLen = 0;
    for (const s of seps) {
      minLen = Math.min(minLen, s.length);
      maxLen = Math.max(maxLen, s.length);
    }
    if (this.exc !== null) throw this.exc;
    if (this.holder !== null) throw this.held('readuntil');
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    for (;;) {
      const buf = this.coalesce();
      if (buf.length - offset >= minLen) {
        for (const s of seps) {
          const i = buf.indexOf(s, offset);
          if (i !== -1 && (matchEnd === -1 || i + s.length < matchEnd)) {
            matchStart = i;
            matchEnd = i + s.length;
          }
        }
        if (matchEnd !== -1) break;
        offset = Math.max(0, buf.length + 1 - maxLen);
        if (offset > this.limit) {
          throw new LimitOverrunError(
            `Separator is not found, and chunk exceed the limit (${this.limit} bytes)`,
            offset,
          );
        }
      }
      if (this.eof) throw new IncompleteReadError(this.take(this.size), null);
      await this.waitForData('readuntil', options);
    }
    if (matchStart > this.limit) {
      throw new LimitOverrunError(
        `Separator is found, but chunk is longer than limit (${this.limit} bytes)`,
        matchStart,
      );
    }
    return this.take(matchEnd);
  }

  /**
   * Reads one line, ending with `\n`. At EOF returns what is left (possibly empty). A line longer
   * than `limit` is dropped and raises a `RangeError` (Python's ValueError).
   */
  async readline(options?: ReadOptions): Promise<Buffer> {
    try {
      return await this.readuntil(NEWLINE, options);
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial;
      if (e instanceof LimitOverrunError) {
        const buf = this.coalesce();
        if (buf.indexOf(NEWLINE, e.consumed) === e.consumed) this.take(e.consumed + 1);
        else this.take(this.size);
        throw new RangeError(e.message, { cause: e });
      }
      throw e;
    }
  }

  /** Iterates the stream line by line until EOF. */
  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const line = await this.readline();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** For deadlock reports. */
  describe(): string {
    return 'StreamReader';
  }

  /**
   * Starts the one wait for data and returns its promise (not an async function: one promise
   * frame less on the hot path). `this.waiter` is cleared when the wait ends, however it ends.
   */
  private waitForData(what: string, options: ReadOptions | undefined): Promise<void> {
    const w = this.startWait(what, options);
    if (!(w instanceof Waiter)) return w;
    return w.block().then(
      () => {
        if (this.waiter === w) this.waiter = null;
      },
      (e: unknown) => {
        if (this.waiter === w) this.waiter = null;
        throw e;
      },
    );
  }

  /** Starts the one wait for data: its Waiter (not yet blocked on), or a rejected promise when
   * the wait cannot start. */
  private startWait(what: string, options: ReadOptions | undefined): Waiter<void> | Promise<never> {
    if (this.waiter !== null) {
      return Promise.reject(
        new RuntimeError(
          `${what}() called while another task is already waiting for incoming data: one reader has one reading task at a time`,
          'ERR_WEFT_READ_BUSY',
        ),
      );
    }
    // A failure that came after the bytes that woke the last wait (feedData then setException in
    // one turn) woke nobody: a loop of readexactly/readuntil/read() waiting again would hang.
    if (this.exc !== null) return Promise.reject(this.exc);
    // A read between two of its waits (readexactly, readuntil, read()) when the hold began.
    if (this.holder !== null) return Promise.reject(this.held(what));
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // A paused transport must read again, or nothing could wake us.
    if (this.paused) {
      this.paused = false;
      this.transport?.resumeReading();
    }
    this._onWait?.();
    const w = new Waiter<void>(this);
    this.waiter = w;
    if (signal) w.setSignal(signal);
    const t = options?.timeout ?? this.readTimeout;
    if (t !== null) {
      w.setTimeout(t, (x) =>
        x.withdraw(false, new TimeoutError(`${what}() got no data for ${t} ms`)),
      );
    }
    return w;
  }

  /** Joins the buffered chunks into one (for separator search) and returns it. */
  private coalesce(): Buffer {
    const live = this.chunks.length - this.first;
    if (live === 0) return EMPTY;
    if (live === 1) return this.chunks[this.first] as Buffer;
    const joined = Buffer.concat(this.chunks.slice(this.first) as Buffer[], this.size);
    this.chunks = [joined];
    this.first = 0;
    return joined;
  }

  /** Removes and returns the first `k` buffered bytes (`k <= size`). */
  private take(k: number): Buffer {
    if (k === 0) return EMPTY;
    const head = this.chunks[this.first] as Buffer;
    let out: Buffer;
    if (head.length === k) {
      out = head;
      this.chunks[this.first++] = undefined;
    } else if (head.length > k) {
      out = head.subarray(0, k);
      this.chunks[this.first] = head.subarray(k);
    } else {
      out = Buffer.allocUnsafe(k);
      let filled = 0;
      while (filled < k) {
        const c = this.chunks[this.first] as Buffer;
        const want = k - filled;
        if (c.length <= want) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks[this.first++] = undefined;
        } else {
          c.copy(out, filled, 0, want);
          this.chunks[this.first] = c.subarray(want);
          filled = k;
        }
      }
    }
    this.size -= k;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    if (this.paused && this.size <= this.limit) {
      this.paused = false;
      this.transport?.resumeReading();
    }
    return out;
  }
}

const NEWLINE = Buffer.from('\n');

function normalizeSeparators(separator: Separator | readonly Separator[]): Buffer[] {
  const list = Array.isArray(separator) ? separator : [separator as Separator];
  if (list.length === 0) throw new RangeError('readuntil: separator list must not be empty');
  return list.map((s) => {
    if (typeof s !== 'string' && !(s instanceof Uint8Array)) {
      throw new TypeError(
        `readuntil: separator must be a string or bytes: received ${typeof s === 'object' ? 'an object' : String(s)}`,
      );
    }
    const b = Buffer.from(s as string);
    if (b.length === 0) throw new RangeError('readuntil: separator should be at least one-byte');
    return b;
  });
}

function checkCount(what: string, n: unknown): void {
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw argumentError(`${what}: size must be an integer`, n);
  }
}
