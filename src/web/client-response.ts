/**
 * ClientResponse: what `ClientSession.get()` and friends resolve to (aiohttp's
 * `ClientResponse`): status and headers at once, the body on demand — `text()`, `json()`,
 * `read()`, or `content` as a `StreamReader` for streaming.
 *
 * The connection (and the session's `limit` slot) is held until the body has been read to the
 * end or the response is released: read it, or `release()` it, or `await using` it.
 */
import type { Readable } from 'node:stream';
import { StreamReader } from '../streams/stream-reader.js';
import {
  ClientConnectionError,
  ClientResponseError,
  ContentTypeError,
  type RequestInfo,
} from './errors.js';
import { charsetOf } from './mime-types.js';

export interface JsonOptions<T> {
  /** Parses the text (default `JSON.parse`). */
  loads?: (text: string) => T;
  /**
   * The media type the response must have (default `application/json`, which also accepts any
   * `+json` type such as `application/problem+json`); `null` skips the check.
   */
  contentType?: string | null;
  /** Decodes the body (default: the response's charset, else UTF-8). */
  encoding?: string;
}

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
  private readonly body: Readable;
  private readonly owner: ResponseOwner;
  private _content: StreamReader | null = null;
  private _bytes: Buffer | null = null;
  private released = false;

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
    this.body.once('end', () => this.release());
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
      if (this._bytes !== null) {
        if (this._bytes.length > 0) reader.feedData(this._bytes);
        reader.feedEof();
        return reader;
      }
      if (this.released) {
        reader.setException(connectionClosed());
        return reader;
      }
      const body = this.body;
      reader._setTransport({
        pauseReading: () => body.pause(),
        resumeReading: () => body.resume(),
      });
      body.on('data', (chunk: Buffer) => reader._feedOwned(chunk));
      body.once('end', () => reader.feedEof());
      body.once('error', (e) => reader.setException(this.owner._mapError(e, true)));
    }
    return this._content;
  }

  /**
   * The whole body as bytes (cached: later calls give the same bytes).
   * @throws {ClientConnectionError} the response was released before its body was read.
   *   {ClientPayloadError} the body ended early (the server closed the connection before
   *   sending all of it).
   */
  async read(): Promise<Buffer> {
    if (this._bytes !== null) return this._bytes;
    if (this._content !== null) {
      this._bytes = await this._content.read();
      return this._bytes;
    }
    // Released unread, the rest of the body was dumped or the stream destroyed: even when the
    // dump reached the end, what it read is gone, so an empty result would be a wrong answer.
    if (this.released) throw connectionClosed();
    const chunks: Buffer[] = [];
    try {
      for await (const c of this.body) chunks.push(c as Buffer);
    } catch (e) {
      throw this.owner._mapError(e, true);
    } finally {
      this.release();
    }
    this._bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    return this._bytes;
  }

  /**
   * The body decoded as text: with `encoding`, else the charset of the response, else UTF-8.
   * A charset the response names that has no decoder is ignored (UTF-8 then), as aiohttp does;
   * `latin-1` (`iso-8859-1`) is Python's: every byte is the code point of its value.
   * @throws {RangeError} `encoding` names no known encoding.
   */
  async text(encoding?: string): Promise<string> {
    return this.decode(await this.read(), encoding);
  }

  /**
   * The body parsed as JSON (aiohttp's `json()`). The response's media type must be
   * `contentType` (default `application/json`, or any `+json` type) — checked before the body
   * is looked at, as aiohttp does; `contentType: null` skips the check. An empty or
   * whitespace-only body gives `null` (aiohttp's `None`) without calling `loads`.
   * @throws {ContentTypeError} the media type is not the expected one (the body is read first,
   *   so the connection is free). {ClientConnectionError} the response was released unread.
   * @example
   * const data = await resp.json();                        // application/json or +json only
   * const any = await resp.json({ contentType: null });    // whatever the server said it is
   */
  async json<T = unknown>(options: JsonOptions<T> | ((text: string) => T) = {}): Promise<T | null> {
    const o: JsonOptions<T> = typeof options === 'function' ? { loads: options } : options;
    const b = await this.read();
    const expected = o.contentType === undefined ? 'application/json' : o.contentType;
    if (expected !== null && expected !== '' && !isExpectedType(this.contentType, expected)) {
      throw new ContentTypeError({
        status: this.status,
        message: `Attempt to decode JSON with unexpected mimetype: ${this.contentType}`,
        headers: this.headers,
        url: this.url.href,
        method: this.method,
        requestInfo: this.requestInfo,
        history: this.history,
      });
    }
    const text = this.decode(b, o.encoding);
    // Python's bytes.strip(): ASCII whitespace only.
    if (/^[ \t\n\r\v\f]*$/.test(text)) return null;
    return (o.loads ?? (JSON.parse as (text: string) => T))(text);
  }

  private decode(b: Buffer, encoding: string | undefined): string {
    if (encoding !== undefined) return decode(b, encoding);
    const cs = this.charset;
    return decode(b, cs !== null && isKnownEncoding(cs) ? cs : 'utf-8');
  }

  /**
   * Gives the connection back without reading the rest of the body (the connection is closed
   * if bytes were left). Idempotent.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    const body = this.body as Readable & { dump?: (o: { limit: number }) => Promise<void> };
    if (!body.readableEnded) {
      body.on('error', ignore);
      // undici's dump() reads a small rest to keep the connection reusable, else closes it.
      if (typeof body.dump === 'function') body.dump({ limit: 64 * 1024 }).catch(ignore);
      else body.destroy();
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
}

const EMPTY = Buffer.alloc(0);

// Python's names of ISO-8859-1 (codecs normalises case and punctuation). The platform's
// decoder takes these labels for windows-1252, which reads 0x80–0x9F as other characters.
const LATIN_1 = new Set([
  'latin_1',
  'latin1',
  'latin',
  'l1',
  'iso_8859_1',
  'iso8859_1',
  '8859',
  'cp819',
  'ibm819',
  'iso_ir_100',
  'csisolatin1',
  'iso_8859_1_1987',
]);

function isLatin1(encoding: string): boolean {
  return LATIN_1.has(
    encoding
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '_'),
  );
}

function isKnownEncoding(encoding: string): boolean {
  if (isLatin1(encoding)) return true;
  try {
    new TextDecoder(encoding);
    return true;
  } catch {
    return false;
  }
}

function decode(b: Buffer, encoding: string): string {
  if (isLatin1(encoding)) return b.toString('latin1');
  return new TextDecoder(encoding).decode(b);
}

function connectionClosed(): ClientConnectionError {
  return new ClientConnectionError('Connection closed: the response was released unread');
}

// aiohttp's test: for JSON, `application/json` or any `type/subtype+json`, case-insensitively;
// for another expected type, a substring of the media type.
const JSON_TYPE = /^(?:application\/|[\w.-]+\/[\w.+-]+?\+)json$/i;

function isExpectedType(actual: string, expected: string): boolean {
  if (expected.toLowerCase() === 'application/json') return JSON_TYPE.test(actual);
  return actual.includes(expected.toLowerCase());
}

function ignore(): void {}
