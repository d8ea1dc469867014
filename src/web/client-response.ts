/**
 * ClientResponse: what `ClientSession.get()` and friends resolve to (aiohttp's
 * `ClientResponse`): status and headers at once, the body on demand — `text()`, `json()`,
 * `read()`, or `content` as a `StreamReader` for streaming.
 *
 * The connection (and the session's `limit` slot) is held until the body has been read to the
 * end or the response is released: read it, or `release()` it, or `await using` it.
 *
 * Implementation notes
 * --------------------
 * A body sent with a `Content-Encoding` of gzip, deflate or br is decoded (aiohttp's
 * `auto_decompress`) by piping undici's body through a zlib stream; every reader (`read()`,
 * `content`) reads the decoded stream:
 *
 *   undici body ──pipe──► decoder ──► read() / content
 *     'end'  → release (the connection and the limit slot go back; the decoder still flushes)
 *     'error'→ decoder.destroy(error)      release() before 'end' → unpipe, destroy the decoder
 *
 * Errors that come from the body (a cut connection, an abort) keep their meaning; an error of
 * the decoder's own (bytes that are not what the coding says) is aiohttp's ClientPayloadError.
 */
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from 'node:zlib';
import { kErrorField } from '../internal/error-registry.js';
import { CancelledError, rangeError } from '../internal/errors.js';
import { StreamReader } from '../streams/stream-reader.js';
import { type Cookie, readSetCookie } from './cookie-jar.js';
import {
  ClientConnectionError,
  ClientError,
  ClientPayloadError,
  ClientResponseError,
  ContentTypeError,
  type RequestInfo,
} from './errors.js';
import { charsetOf, decodeText, pythonCodec } from './mime-types.js';

export interface JsonOptions<T> {
  /** Parses the text (default `JSON.parse`). */
  loads?: (text: string) => T;
  /**
   * The media type the response must have (default `application/json`); `null` or `''` skips
   * the check. As aiohttp 3.8's: the response's `Content-Type` header, lower-cased, parameters
   * and all, must start with `application/json` or `application/<subtype>+json` for the
   * default, and contain the given type for another (`'text/plain'`).
   */
  contentType?: string | null;
  /** Decodes the body (default: the response's charset, else UTF-8), strictly. */
  encoding?: string;
}

/**
 * Python's decoding error handlers that weft knows: `'strict'` raises `RangeError` (Python's
 * UnicodeDecodeError) on bytes the encoding cannot decode, `'replace'` puts U+FFFD there.
 */
export type DecodeErrors = 'strict' | 'replace';

/** @internal how the session learns that a response is finished with. */
export interface ResponseOwner {
  _released(response: ClientResponse): void;
  /** `inBody`: the error ended the body after the head had arrived. */
  _mapError(e: unknown, inBody?: boolean): unknown;
}

export class ClientResponse implements AsyncDisposable {
  readonly status: number;
  /** The reason phrase the server sent on its status line (`Not Found`), maybe empty. */
  readonly reason: string;
  readonly headers: Headers;
  readonly method: string;
  /** The final URL (after redirects). */
  readonly url: URL;
  /** The redirect responses that led here, oldest first. */
  readonly history: readonly ClientResponse[];
  /** The request this answers, as sent (aiohttp's `request_info`). */
  readonly requestInfo: RequestInfo;
  /** undici's body: the bytes as they came. */
  private readonly body: Readable;
  /** The body decoded from its Content-Encoding, or null when it is read as it came. */
  private readonly decoder: Transform | null;
  /** The coding `decoder` undoes (`gzip`, `deflate`, `br`). */
  private readonly coding: string | null;
  /** The first error of undici's body, when it failed (abort, timeout, cut connection). */
  private bodyError: unknown = undefined;
  private readonly owner: ResponseOwner;
  private _content: StreamReader | null = null;
  private _bytes: Buffer | null = null;
  /** The read of the whole body in progress (or done): every `read()` shares it. */
  private _reading: Promise<Buffer> | null = null;
  private _cookies: ReadonlyMap<string, Cookie> | null = null;
  private released = false;
  /** The caller released it (`release()`, `close()`, `await using`, `raiseForStatus()`). */
  private releasedByCaller = false;
  /** HEAD, 204, 304: reads as empty whatever happens to it (aiohttp's `EMPTY_PAYLOAD`). */
  private readonly noContent: boolean;
  /** Released before the body reached its end: what was left is gone. */
  private discarded = false;
  /** Ends `content`, which reads the raw body, with the error of a body lost (giveBack). */
  private detachContent: (() => void) | null = null;

  /** @internal */
  constructor(
    init: {
      status: number;
      reason: string;
      headers: Headers;
      method: string;
      url: URL;
      history: ClientResponse[];
      requestInfo: RequestInfo;
      body: Readable;
      /** The exchange carries no body (HEAD, 204, 304, `Content-Length: 0`). */
      empty?: boolean;
      /**
       * No content by the protocol (HEAD, 204, 304): aiohttp's `EMPTY_PAYLOAD`, which reads as
       * empty even once released (a `Content-Length: 0` body is a stream there, gone when released).
       */
      noContent?: boolean;
      /** Decode a gzip, deflate or br `Content-Encoding` (aiohttp's `auto_decompress`). */
      decompress?: boolean;
      /** The most bytes one network read of a coded body may decode to (0: no bound; 2²⁵). */
      maxDecompressSize?: number;
    },
    owner: ResponseOwner,
  ) {
    this.status = init.status;
    this.reason = init.reason;
    this.headers = init.headers;
    this.method = init.method;
    this.url = init.url;
    this.history = init.history;
    this.requestInfo = init.requestInfo;
    this.body = init.body;
    this.owner = owner;
    // An empty body is known from the head alone: it reads as no bytes even once the
    // connection has gone back to the pool, which the session does at once for such a response.
    if (init.empty === true) this._bytes = EMPTY;
    this.noContent = init.noContent === true;
    this.coding =
      init.decompress === true && init.empty !== true
        ? contentCoding(this.headers.get('content-encoding'))
        : null;
    this.decoder =
      this.coding === null
        ? null
        : new CodingDecoder(this.coding, init.maxDecompressSize ?? DEFAULT_MAX_DECOMPRESS_SIZE);
    const decoder = this.decoder;
    if (decoder !== null) {
      // Its error reaches a reader through the reader's own listener; unread, it is nobody's.
      decoder.on('error', ignore);
      this.body.on('error', (e) => {
        this.bodyError ??= e;
        decoder.destroy(e);
      });
      this.body.pipe(decoder);
    }
    // The whole body has arrived: the connection goes back. A coded body may still be
    // unread in the decoder; only an explicit release() discards it.
    this.body.once('end', () => this.giveBack());
  }

  /**
   * The cookies this response's `Set-Cookie` headers set, by name (a later header wins a name
   * sent twice), as the server sent them — whether or not the jar kept them (aiohttp's
   * `resp.cookies`, a `SimpleCookie`). A redirect's are on its response in `history`.
   */
  get cookies(): ReadonlyMap<string, Cookie> {
    if (this._cookies === null) {
      const out = new Map<string, Cookie>();
      for (const line of this.headers.getSetCookie()) {
        const c = readSetCookie(line, this.url);
        if (c !== null) out.set(c.name, c);
      }
      this._cookies = out;
    }
    return this._cookies;
  }

  /** True for a status below 400. */
  get ok(): boolean {
    return this.status < 400;
  }

  /** The media type without parameters (`application/json`). */
  get contentType(): string {
    const ct = this.headers.get('content-type');
    if (ct === null) return 'application/octet-stream';
    return (ct.split(';')[0] as string).trim().toLowerCase();
  }

  get charset(): string | null {
    const cs = charsetOf(this.headers.get('content-type'));
    return cs === null ? null : cs.toLowerCase();
  }

  get contentLength(): number | null {
    const v = this.headers.get('content-length');
    return v === null ? null : Number(v);
  }

  /** @throws {ClientResponseError} the status is 400 or more (the body is released). */
  raiseForStatus(): void {
    if (this.status < 400) return;
    this.release();
    throw new ClientResponseError({
      status: this.status,
      message: this.reason,
      headers: this.headers,
      url: this.url.href,
      method: this.method,
      requestInfo: this.requestInfo,
      history: this.history,
    });
  }

  /**
   * The body as a `StreamReader` (`read(n)`, `readline()`, `readexactly(n)`, line
   * iteration), for bodies too large to hold at once.
   */
  get content(): StreamReader {
    if (this._content === null) {
      const reader = new StreamReader();
      this._content = reader;
      if (this.releasedByCaller) {
        // aiohttp's release() ends its content ("Connection closed"), whatever has arrived.
        reader.setException(this.lost());
        return reader;
      }
      if (this._bytes !== null) {
        if (this._bytes.length > 0) reader.feedData(this._bytes);
        reader.feedEof();
        return reader;
      }
      if (this._reading !== null) {
        // `read()` has the body: the stream gives what it gets (the body, or its error).
        this._reading.then(
          (b) => {
            if (b.length > 0) reader.feedData(b);
            reader.feedEof();
          },
          (e) => reader.setException(e),
        );
        return reader;
      }
      if (this.discarded) {
        reader.setException(this.lost());
        return reader;
      }
      const body = this.decoder ?? this.body;
      reader._setTransport({
        pauseReading: () => body.pause(),
        resumeReading: () => body.resume(),
      });
      const onData = (chunk: Buffer): void => reader._feedOwned(chunk);
      const onEnd = (): void => reader.feedEof();
      const onError = (e: Error): void => {
        this.detachContent = null;
        reader.setException(this.failure(e));
        // The body is lost (a cut connection, a bad coding): its connection and its slot go
        // back now, as read()'s do, not when the caller remembers to release the response.
        this.giveBack();
      };
      body.on('data', onData);
      body.once('end', onEnd);
      body.once('error', onError);
      if (this.decoder === null) {
        // Released before its end: what undici's dump() reads to keep the connection is not
        // the reader's, nor are the errors that dump ends with (giveBack).
        this.detachContent = () => {
          body.off('data', onData);
          body.off('end', onEnd);
          body.off('error', onError);
          reader.setException(this.lost());
        };
      }
    }
    return this._content;
  }

  /**
   * The whole body as bytes (cached: later calls, and calls made while it reads, give the same
   * bytes).
   * @throws {ClientConnectionError} the response was released before its body was read.
   *   {ClientPayloadError} the body ended early (the server closed the connection before
   *   sending all of it), is not what its `Content-Encoding` says, or one piece of it as it came
   *   decodes to more than the session's `maxDecompressSize` bytes (a decompression bomb).
   */
  read(): Promise<Buffer> {
    // Set once read() is called: a body it gave stays readable after release().
    if (this._bytes !== null) return (this._reading ??= Promise.resolve(this._bytes));
    // Two reads at once share one: each would otherwise take part of the body.
    this._reading ??= this.readAll();
    return this._reading;
  }

  private async readAll(): Promise<Buffer> {
    if (this._content !== null) {
      this._bytes = await this._content.read();
      return this._bytes;
    }
    // Released unread, the rest of the body was dumped or the stream destroyed: even when the
    // dump reached the end, what it read is gone, so an empty result would be a wrong answer.
    if (this.discarded) throw this.lost();
    const chunks: Buffer[] = [];
    try {
      for await (const c of this.decoder ?? this.body) chunks.push(c as Buffer);
    } catch (e) {
      chunks.length = 0;
      // Released meanwhile by the caller, what ended the read (undici's dump giving up on the
      // rest, say) is the release's; an abort or a timeout that released it is its own error.
      throw this.discarded && e !== this.bodyError ? this.lost() : this.failure(e);
    } finally {
      this.giveBack();
    }
    this._bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    return this._bytes;
  }

  /**
   * The body decoded as text: with `encoding`, else the charset of the response, else UTF-8.
   * A charset the response names that has no decoder is ignored (UTF-8 then), as aiohttp does;
   * `latin-1` (`iso-8859-1`) is Python's: every byte is the code point of its value, and
   * `ascii` (`us-ascii`) is Python's 7-bit one.
   *
   * `errors` is Python's: `'strict'` raises on bytes the encoding cannot decode, `'replace'`
   * puts U+FFFD in their place. By default decoding is strict when the encoding is given or
   * named by the response, or the response is `application/json` (whose charset is UTF-8), as
   * aiohttp's `text()` is; when weft falls back to UTF-8 (where aiohttp guesses the encoding,
   * which never fails) it replaces.
   * @throws {RangeError} `encoding` names no known encoding, `errors` is neither `'strict'` nor
   *   `'replace'`, or (strict) bytes the encoding cannot decode — Python's UnicodeDecodeError.
   */
  async text(encoding?: string, errors?: DecodeErrors): Promise<string> {
    checkErrors(errors);
    return this.decode(await this.read(), encoding, errors);
  }

  /**
   * The body parsed as JSON (aiohttp's `json()`). The response's `Content-Type` must be
   * `contentType` — by default one that starts with `application/json` or
   * `application/<subtype>+json`, parameters and case aside, as aiohttp 3.8's regex has it —
   * checked before the body is looked at, as aiohttp does; `contentType: null` skips the
   * check. An empty or whitespace-only body gives `null` (aiohttp's `None`) without calling
   * `loads`.
   * @throws {ContentTypeError} the media type is not the expected one (the body is read first,
   *   so the connection is free). {ClientConnectionError} the response was released unread.
   *   {RangeError} bytes the encoding cannot decode (Python's UnicodeDecodeError).
   * @example
   * const data = await resp.json();                        // application/json, application/…+json
   * const any = await resp.json({ contentType: null });    // whatever the server said it is
   */
  async json<T = unknown>(options: JsonOptions<T> | ((text: string) => T) = {}): Promise<T | null> {
    const o: JsonOptions<T> = typeof options === 'function' ? { loads: options } : options;
    const b = await this.read();
    const expected = o.contentType === undefined ? 'application/json' : o.contentType;
    // aiohttp's test is on the whole header, lower-cased ('' when there is none).
    // aiohttp decodes header bytes as UTF-8 (surrogateescape), undici as Latin-1: as aiohttp's.
    const ctype = Buffer.from(this.headers.get('content-type') ?? '', 'latin1')
      .toString('utf8')
      .toLowerCase();
    if (expected !== null && expected !== '' && !isExpectedType(ctype, expected)) {
      throw new ContentTypeError({
        status: this.status,
        message: `Attempt to decode JSON with unexpected mimetype: ${ctype}`,
        headers: this.headers,
        url: this.url.href,
        method: this.method,
        requestInfo: this.requestInfo,
        history: this.history,
      });
    }
    // Always strict, as aiohttp's `json()`: a replaced byte would change the data silently.
    const text = this.decode(b, o.encoding, 'strict');
    // Python's bytes.strip(): ASCII whitespace only.
    if (/^[ \t\n\r\v\f]*$/.test(text)) return null;
    return (o.loads ?? (JSON.parse as (text: string) => T))(text);
  }

  /**
   * What a read of a body already lost raises: the error that ended it when `timeout.total`,
   * the request's `signal` or a cut connection did (the request's cancelled task, which is not
   * the reader's, is a closed connection), else the error of a response released unread.
   */
  private lost(): unknown {
    if (this.bodyError === undefined) return connectionClosed();
    const e = this.failure(this.bodyError);
    if (e instanceof CancelledError) {
      return new ClientConnectionError(
        'Connection closed: the request was cancelled before its body was read',
        'ERR_WEFT_CLIENT_CONNECTION',
        { cause: e },
      );
    }
    return e;
  }

  /** What a read of the body raises for `e`. */
  private failure(e: unknown): unknown {
    if (e instanceof DecompressLimit) {
      return new ClientPayloadError(
        `Decompressed data exceeds the configured limit of ${e.limit} bytes (maxDecompressSize)`,
      );
    }
    if (this.decoder !== null && e !== this.bodyError && !(e instanceof ClientError)) {
      // The decoder's own error: the bytes are not what the Content-Encoding says (aiohttp's).
      return new ClientPayloadError(`Can not decode content-encoding: ${this.coding}`, {
        cause: e,
      });
    }
    return this.owner._mapError(e, true);
  }

  private decode(
    b: Buffer,
    encoding: string | undefined,
    errors: DecodeErrors | undefined,
  ): string {
    if (encoding !== undefined) return decode(b, encoding, errors ?? 'strict');
    const cs = this.charset;
    if (cs !== null && isKnownEncoding(cs)) return decode(b, cs, errors ?? 'strict');
    // JSON's charset is UTF-8 (RFC 8259), aiohttp's too for application/json and
    // application/rdap(+json): strict, as a named charset is. Elsewhere aiohttp guesses.
    const type = this.contentType.split('+')[0];
    const strict = type === 'application/json' || type === 'application/rdap';
    return decode(b, 'utf-8', errors ?? (strict ? 'strict' : 'replace'));
  }

  /**
   * Gives the connection back without reading the rest of the body (the connection is closed
   * if bytes were left). Idempotent. As aiohttp's: `content` is ended ("Connection closed")
   * whatever has arrived — bytes it holds unread are gone — and a body `read()` has not given
   * can no longer be read (`ClientConnectionError`); what `read()` gave stays (`text()`, `json()`).
   */
  release(): void {
    if (!this.releasedByCaller && !this.noContent) {
      this.releasedByCaller = true;
      const content = this._content;
      if (content !== null && content.exception() === null) content.setException(this.lost());
      if (this._bytes !== null && this._reading === null) {
        // An empty body, known from the head, that nobody read: gone, as aiohttp's is.
        this._bytes = null;
        this.discarded = true;
      }
    }
    this._letGo();
  }

  /**
   * @internal The connection goes back (the session's: a response with no body, an abort, the
   * session closing): unlike `release()`, a body that has wholly arrived stays readable (one
   * still arriving has its `content` ended as `release()` ends it).
   */
  _letGo(): void {
    const decoder = this.decoder;
    if (
      decoder !== null &&
      this.body.readableEnded &&
      this._bytes === null &&
      !decoder.readableEnded &&
      !decoder.destroyed
    ) {
      // The raw body has ended (and given the connection back) while its decoded bytes wait
      // unread in the decoder: released, they are gone, as aiohttp's release() ends its
      // content whatever has arrived. A read in progress fails as one released unread. (A body
      // still arriving is `giveBack`'s, which fails the decoder with the body's own error.)
      this.discarded = true;
      decoder.destroy(connectionClosed());
    }
    this.giveBack();
  }

  /** The connection (and the `limit` slot) goes back; what the body has left unread is dropped. */
  private giveBack(): void {
    if (this.released) return;
    this.released = true;
    const body = this.body as Readable & {
      dump?: (o: { limit: number; signal?: AbortSignal }) => Promise<void>;
    };
    if (!body.readableEnded) {
      this.discarded = true;
      // An abort or a timeout released it (undici has destroyed the body by then): a read, now
      // or later, fails with that error; else as one released unread.
      this.bodyError ??= body.errored ?? undefined;
      // A reader of `content` gets no more: as aiohttp's release() ends it, buffered bytes and all.
      this.detachContent?.();
      this.detachContent = null;
      if (this.decoder !== null && !this.decoder.destroyed) {
        body.unpipe(this.decoder);
        this.decoder.destroy((body.errored as Error | null) ?? connectionClosed());
      }
      body.on('error', ignore);
      if (typeof body.dump === 'function') {
        // undici's dump() reads a small rest to keep the connection reusable, else closes it.
        // The connection is busy until then, so the session's slot goes back only then: a
        // request waiting for one waits in weft's queue, where it can be cancelled, not in
        // undici's, where it cannot. A rest that does not come within DUMP_MS ms closes it.
        const stop = new AbortController();
        const timer = setTimeout(() => stop.abort(), DUMP_MS);
        timer.unref();
        body
          .dump({ limit: 64 * 1024, signal: stop.signal })
          .catch(ignore)
          .finally(() => {
            clearTimeout(timer);
            this.owner._released(this);
          });
        return;
      }
      body.destroy();
    }
    this.owner._released(this);
  }

  /** Same as `release()` (aiohttp's `close()`). */
  close(): void {
    this.release();
  }

  get closed(): boolean {
    return this.released;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }

  get [Symbol.toStringTag](): string {
    return 'ClientResponse';
  }

  /**
   * @internal What a ClientResponseError's `history` carries of it to another thread or process:
   * its head, not its body or connection (aiohttp's cannot be pickled at all).
   */
  [kErrorField](): Record<string, unknown> {
    const { status, reason, headers, method, url, history, requestInfo } = this;
    return { status, reason, headers, method, url, history, requestInfo };
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * How long a response released before its end may take to deliver the rest of its body (at most
 * 64 KiB) so that its connection is kept. The rest usually sits in the socket already; a longer
 * wait keeps more connections over slow links, but holds the request's slot that long when the
 * server stalls or streams instead (aiohttp closes the connection at once).
 */
const DUMP_MS = 100;

/** aiohttp's `DEFAULT_MAX_DECOMPRESS_SIZE`: 32 MiB. */
export const DEFAULT_MAX_DECOMPRESS_SIZE = 2 ** 25;

/** One piece of a coded body decoded to more than `maxDecompressSize` bytes. */
class DecompressLimit extends Error {
  constructor(readonly limit: number) {
    super(`decoded past ${limit} bytes`);
  }
}

/** A charset weft decodes: one of Python's codecs weft has (any of its names), or the platform's. */
function isKnownEncoding(encoding: string): boolean {
  if (pythonCodec(encoding) !== null) return true;
  try {
    new TextDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}

function checkErrors(errors: unknown): void {
  if (errors !== undefined && errors !== 'strict' && errors !== 'replace') {
    throw rangeError(`errors must be 'strict' or 'replace'`, errors);
  }
}

/** `b` decoded as Python's `b.decode(encoding, errors)` would (mime-types.ts `decodeText`). */
function decode(b: Buffer, encoding: string, errors: DecodeErrors): string {
  return decodeText(b, encoding, 'Response body', errors);
}

/**
 * The coding a `Content-Encoding` value names that weft decodes (`x-gzip` is gzip), or null:
 * none, `identity`, or another or several codings (left as they came, as aiohttp does).
 */
function contentCoding(value: string | null): string | null {
  const v = value?.trim().toLowerCase();
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate' || v === 'br') return v;
  return null;
}

/**
 * Undoes `coding` (gzip, deflate or br) with the platform's zlib, started on the first byte: a
 * body with no bytes at all is empty, as in aiohttp (zlib would call it a truncated stream).
 * `deflate` is meant to be zlib-wrapped (RFC 9110), but some servers send a bare deflate
 * stream: its first byte tells which (a zlib header's low nibble is 8, the deflate method), as
 * aiohttp and browsers decide.
 */
class CodingDecoder extends Transform {
  private inner: Transform | null = null;
  /** Bytes decoded since the piece now being decoded came in. */
  private sinceInput = 0;

  /**
   * @param limit the most bytes one piece of the body, as it came from the network, may decode
   *   to (0: no bound): aiohttp's `max_decompress_size`, which bounds each network read's
   *   decoding, so a few kilobytes standing for gigabytes (a decompression bomb) fail at once
   *   while a large body sent coded in ordinary pieces reads whole.
   */
  constructor(
    private readonly coding: string,
    private readonly limit: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (chunk.length === 0) {
      done();
      return;
    }
    this.sinceInput = 0;
    if (this.inner === null) {
      const inner =
        this.coding === 'gzip'
          ? createGunzip()
          : this.coding === 'br'
            ? createBrotliDecompress()
            : ((chunk[0] as number) & 0x0f) === 8
              ? createInflate()
              : createInflateRaw();
      this.inner = inner;
      // Decoded no further ahead of the reader than the readable side's high-water mark: a
      // few hundred bytes of brotli can stand for gigabytes (a decompression bomb).
      inner.on('data', (d: Buffer) => {
        this.sinceInput += d.length;
        if (this.limit > 0 && this.sinceInput > this.limit) {
          this.destroy(new DecompressLimit(this.limit));
          return;
        }
        if (!this.push(d)) inner.pause();
      });
      inner.on('error', (e) => this.destroy(e));
    }
    // Its callback runs once the chunk has been decoded: the inner stream's pace is ours.
    this.inner.write(chunk, () => done());
  }

  /** The reader wants more: the inner stream, paused when the readable side was full, goes on. */
  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _flush(done: TransformCallback): void {
    const inner = this.inner;
    if (inner === null) {
      done();
      return;
    }
    inner.once('end', () => done());
    inner.end();
  }

  override _destroy(e: Error | null, done: (error?: Error | null) => void): void {
    this.inner?.destroy();
    done(e);
  }
}

function connectionClosed(): ClientConnectionError {
  return new ClientConnectionError('Connection closed: the response was released unread');
}

/**
 * aiohttp 3.8's `json_re`, matched (not searched) against the lower-cased `Content-Type` header:
 * `application/json` or `application/<subtype>+json` at its start, whatever follows
 * (parameters; `application/jsonp` and `application/json-seq` pass too, `text/x+json` does
 * not). Python's `\w` is Unicode's letters, digits and `_`.
 */
const JSON_TYPE = /^application\/(?:[\p{L}\p{N}_.+-]+?\+)?json/u;

/**
 * aiohttp's `_is_expected_content_type`: for `application/json`, `JSON_TYPE`; for another
 * expected type, a substring of the whole header (`ctype`, lower-cased). `expected` is
 * lower-cased too (aiohttp compares it as given, so one with a capital letter never matches).
 */
function isExpectedType(ctype: string, expected: string): boolean {
  const e = expected.toLowerCase();
  if (e === 'application/json') return JSON_TYPE.test(ctype);
  return ctype.includes(e);
}

function ignore(): void {}
