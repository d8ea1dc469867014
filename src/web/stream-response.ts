/**
 * StreamResponse: a response whose body the handler writes piece by piece (aiohttp's
 * `web.StreamResponse`): set status and headers, `await prepare(request)` sends the head,
 * `await write(chunk)` sends body bytes (waiting while the socket's buffer is full), `await
 * writeEof()` ends it. `Response` and `FileResponse` are StreamResponses that know their body.
 */
import type { ServerResponse } from 'node:http';
import { argumentError, RuntimeError, rangeError } from '../internal/errors.js';
import { BodyCoder } from './body-coder.js';
import { connectionGone, connectionLost, onConnectionClose } from './connection-close.js';
import {
  addVary,
  type Compression,
  ContentCoding,
  checkCoding,
  negotiateCoding,
} from './content-coding.js';
import { checkReason, type HeadersInput, reasonPhrase } from './http-exceptions.js';
import { checkUtf8 } from './mime-types.js';
import type { Request } from './request.js';

export interface CookieOptions {
  domain?: string;
  path?: string;
  /** Seconds, as in the `Max-Age` attribute. */
  maxAge?: number;
  expires?: Date | string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface StreamResponseOptions {
  status?: number;
  /**
   * The status line's reason (default: Python's phrase for the status, as aiohttp sends).
   * @throws {RangeError} a CR, LF or other control character (aiohttp's ValueError).
   */
  reason?: string;
  headers?: HeadersInput;
}

/** Python's legal characters of a cookie name, and of a value sent unquoted (`http.cookies`). */
const COOKIE_LEGAL = /^[!#$%&'*+\-.^_`|~:0-9A-Za-z]+$/;
/** The other characters a quoted value holds as they are; the rest are escaped. */
const COOKIE_UNESCAPED = /[!#$%&'*+\-.^_`|~:0-9A-Za-z ()/<=>?@[\]{}]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const COOKIE_ATTRIBUTE_BAD = /[\u0000-\u001f\u007f;]|[^\u0000-\u00ff]/;

/**
 * `value` as Python's `SimpleCookie` sends it (aiohttp's `set_cookie`): as it is when every
 * character is legal, else in double quotes, with `"` and `\` escaped by a backslash and the
 * other characters up to U+00FF outside `COOKIE_UNESCAPED` as a backslash and three octal digits
 * (`a;b` → `"a\073b"`; `request.cookies` reads them back).
 * @throws {RangeError} a character above U+00FF, which a header cannot carry.
 */
function quoteCookieValue(value: string): string {
  if (COOKIE_LEGAL.test(value)) return value;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    const c = ch.charCodeAt(0);
    if (c > 0xff) {
      throw rangeError('Cookie value must hold only characters up to U+00FF', value);
    }
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (COOKIE_UNESCAPED.test(ch)) out += ch;
    else out += `\\${c.toString(8).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** An attribute value as given. @throws {RangeError} a `;` or a control character. */
function cookieAttribute(name: string, value: string): string {
  if (COOKIE_ATTRIBUTE_BAD.test(value)) {
    throw rangeError(`Cookie ${name} must not hold ';' or control characters`, value);
  }
  return value;
}

/** `status` if it is an integer from 100 to 999. @throws {TypeError} {RangeError} */
function checkStatus(status: unknown): number {
  if (typeof status !== 'number') throw argumentError('Response status must be a number', status);
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw rangeError('Response status must be an integer from 100 to 999', status);
  }
  return status;
}

export class StreamResponse {
  /** @internal */ _headers: Headers | null = null;
  /** @internal */ _cookies: string[] | null = null;
  /** @internal */ _res: ServerResponse | null = null;
  private _status: number;
  /** The reason given, or undefined for the status's own phrase. */
  private _reason: string | undefined;
  /**
   * The end of the body the first writeEof() began, null before it. A later call waits for it
   * too (the server's, after a handler that did not await its own): until then the request is
   * in flight, and a graceful shutdown does not close its connection under a body still going
   * out (through a compressor, or the socket). It never rejects: the first caller has the error.
   */
  private ended: Promise<void> | null = null;
  /**
   * @internal Body bytes the head's `Content-Length` still promises (null: no length was
   * declared). A Response that its handler prepares sets it to its body's length.
   */
  _remaining: number | null = null;
  /** @internal enableCompression() was called; `_compressionForce` is its coding, or null. */
  _compression = false;
  /** @internal */ _compressionForce: ContentCoding | null = null;
  /** The compressor the body's writes go through, once prepared with a coding. */
  private coder: BodyCoder | null = null;
  private chosen: ContentCoding | null = null;

  constructor(options: StreamResponseOptions = {}) {
    this._status = checkStatus(options.status ?? 200);
    this._reason = options.reason === undefined ? undefined : checkReason(options.reason);
    if (options.headers !== undefined) this._headers = new Headers(options.headers);
  }

  /**
   * The status code. Set before `prepare()` (a change after it has no effect).
   * @throws {TypeError} (set) a value that is not a number. {RangeError} (set) one that is not
   *   an integer from 100 to 999, which Node would send as a broken status line (aiohttp's
   *   `set_status` takes any `int(status)`).
   */
  get status(): number {
    return this._status;
  }

  set status(value: number) {
    this._status = checkStatus(value);
  }

  /**
   * The status line's reason: the one given, else Python's phrase for the status (`Not Found`;
   * empty for a status Python does not know), as aiohttp's. Setting `undefined` goes back to
   * the phrase. @throws {RangeError} (set) a CR, LF or other control character.
   */
  get reason(): string {
    return this._reason ?? reasonPhrase(this.status);
  }

  set reason(value: string | undefined) {
    this._reason = value === undefined ? undefined : checkReason(value);
  }

  /** The response headers (case-insensitive); changes after `prepare()` have no effect. */
  get headers(): Headers {
    this._headers ??= new Headers();
    return this._headers;
  }

  get contentType(): string | null {
    return this._headers?.get('content-type') ?? null;
  }

  set contentType(value: string) {
    this.headers.set('content-type', value);
  }

  get contentLength(): number | null {
    const v = this._headers?.get('content-length');
    return v == null ? null : Number(v);
  }

  set contentLength(value: number | null) {
    if (value === null) this.headers.delete('content-length');
    else this.headers.set('content-length', String(value));
  }

  /** True once `enableCompression()` was called (aiohttp's `compression`). */
  get compression(): boolean {
    return this._compression;
  }

  /**
   * Compresses the body (aiohttp's `enable_compression`). At `prepare()` the coding is chosen
   * from the request's `Accept-Encoding` — deflate, then gzip, then br, among those it accepts
   * with the highest q-value — and `Vary: Accept-Encoding` is added; `force` sends that coding
   * whatever the client said (`ContentCoding.identity`: none). A coded body goes out with
   * `Content-Encoding` and without `Content-Length` (chunked), each `write()` through a
   * compressor on libuv's thread pool; a `Response` codes its whole body once, and keeps a
   * `Content-Length`. A response that carries no body (204, 304, 1xx) and one whose headers
   * already name a `Content-Encoding` are sent as they are.
   * @throws {TypeError} a `force` that is not a string (a boolean too: aiohttp's deprecated
   *   form). {RangeError} a coding weft does not know. {RuntimeError} the response was prepared
   *   already: its head is out (aiohttp ignores the call then).
   */
  enableCompression(force?: ContentCoding | null): void {
    const coding = force === undefined || force === null ? null : checkCoding(force);
    if (this._res !== null) {
      throw new RuntimeError(
        'Cannot enable compression: the response was already prepared (its head is sent)',
        'ERR_WEFT_WEB_PREPARED',
      );
    }
    this._compression = true;
    this._compressionForce = coding;
  }

  /**
   * @internal The coding enableCompression() gives this response's body for `request`
   * (identity: none), adding `Vary: Accept-Encoding` when the client's header chose it. The
   * caller sets `Content-Encoding` where a body goes out. Chosen once: a prepare() that Node
   * refused (a bad header) is tried again with the headers set here.
   */
  _chooseCoding(request: Request): ContentCoding {
    if (this.chosen !== null) return this.chosen;
    let coding: ContentCoding = ContentCoding.identity;
    // A body the handler coded itself is not coded twice.
    if (!this.headers.has('content-encoding')) {
      coding = this._compressionForce ?? negotiateCoding(request.headers['accept-encoding']);
      if (this._compressionForce === null) addVary(this.headers);
    }
    this.chosen = coding;
    return coding;
  }

  /** True once the head was sent. */
  get prepared(): boolean {
    return this._res !== null;
  }

  /**
   * Adds a `Set-Cookie` header. The value is sent as aiohttp (Python's `SimpleCookie`) sends it:
   * as it is, or quoted with escapes when it holds other characters than a token's (`x y` →
   * `"x y"`, `''` → `""`).
   * @throws {TypeError} a name that is not a token (`:` allowed, as Python does).
   *   {RangeError} a value character above U+00FF, or an attribute (`path`, `domain`, `expires`)
   *   holding `;` or a control character, which would forge other attributes.
   */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    if (typeof name !== 'string' || !COOKIE_LEGAL.test(name)) {
      throw argumentError('Cookie name must be a token', name);
    }
    let c = `${name}=${quoteCookieValue(String(value))}`;
    if (options.domain) c += `; Domain=${cookieAttribute('domain', options.domain)}`;
    c += `; Path=${cookieAttribute('path', options.path ?? '/')}`;
    if (options.maxAge !== undefined) c += `; Max-Age=${Math.trunc(options.maxAge)}`;
    if (options.expires !== undefined) {
      const e = options.expires instanceof Date ? options.expires.toUTCString() : options.expires;
      c += `; Expires=${cookieAttribute('expires', e)}`;
    }
    if (options.secure) c += '; Secure';
    if (options.httpOnly) c += '; HttpOnly';
    if (options.sameSite) c += `; SameSite=${cookieAttribute('sameSite', options.sameSite)}`;
    (this._cookies ??= []).push(c);
  }

  /** Asks the client to forget a cookie (an expired `Set-Cookie`). */
  delCookie(name: string, options: { domain?: string; path?: string } = {}): void {
    this.setCookie(name, '', {
      ...options,
      maxAge: 0,
      expires: new Date(0),
    });
  }

  /**
   * Sends the status line and headers. Called by the handler before `write`; the server calls it
   * for a response returned unprepared.
   */
  async prepare(request: Request): Promise<void> {
    if (this._res !== null) return;
    const res = request._res;
    if (res.headersSent) {
      throw new Error(
        'Cannot prepare a response: another response was already sent for this request',
      );
    }
    let coding = this._compression ? this._chooseCoding(request) : ContentCoding.identity;
    if (coding !== ContentCoding.identity) {
      if (carriesBody(this.status)) {
        this.headers.set('content-encoding', coding);
        this.headers.delete('content-length');
      } else coding = ContentCoding.identity;
    }
    this._res = res;
    // aiohttp types an untyped stream as bytes; a status without a body gets no type.
    const status = this.status;
    if (
      status >= 200 &&
      status !== 204 &&
      status !== 304 &&
      this._headers?.has('content-type') !== true
    )
      this.headers.set('content-type', 'application/octet-stream');
    try {
      this._writeHead(res, null);
    } catch (e) {
      // A head Node refuses (a bad header value) was not sent: the response is not prepared, so
      // a handler that catches this, mends the header and prepares again sends its own head
      // (else the next write made Node send a bare default head).
      this._res = null;
      throw e;
    }
    // Node sends whatever is written whatever the head declared; the length is kept here so
    // that a body of another length cannot break the framing of a keep-alive connection.
    const declared = this.contentLength;
    const hasBody = (res as { _hasBody?: boolean })._hasBody !== false;
    if (declared !== null && Number.isSafeInteger(declared) && declared >= 0 && hasBody) {
      this._remaining = declared;
    }
    if (coding !== ContentCoding.identity && hasBody) this._startCoder(res, coding);
  }

  /** @internal Sends the body's writes through a compressor from now on. */
  _startCoder(res: ServerResponse, coding: Compression): void {
    this.coder = new BodyCoder(res, coding);
  }

  /**
   * Sends body bytes (a string as UTF-8); resolves when the socket can take more (back
   * pressure).
   * @throws {RangeError} a string holding a lone surrogate, which UTF-8 cannot encode (Node
   *   would send U+FFFD in its place; aiohttp's `str.encode` raises UnicodeEncodeError).
   *   {Error} zlib's own failure under `enableCompression()` (see `writeEof`).
   */
  async write(data: string | Uint8Array): Promise<void> {
    const res = this._res;
    if (res === null) throw new Error('Cannot write: call prepare(request) first');
    // A FileResponse (or a Response) ends itself: that is an ended body too, not a lost client.
    if (this.ended !== null || res.writableEnded) {
      throw new Error('Cannot write: writeEof() was already called');
    }
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw argumentError('write() expects a string or bytes', data);
    }
    if (typeof data === 'string') checkUtf8(data);
    if (connectionGone(res)) throw connectionLost();
    if ((res as { _hasBody?: boolean })._hasBody === false) {
      await bodyDropped(res);
      return;
    }
    const coder = this.coder;
    if (coder !== null) {
      await coder.write(typeof data === 'string' ? Buffer.from(data) : data);
      return;
    }
    const chunk = this.fit(data);
    if (chunk === null) return;
    if (!res.write(chunk)) await drained(res);
  }

  /**
   * `data` cut to what the declared `Content-Length` still allows, as aiohttp does: bytes past
   * it would be read by the client as the start of the next response. Null: nothing to send.
   */
  private fit(data: string | Uint8Array): string | Uint8Array | null {
    const left = this._remaining;
    if (left === null) return data;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (n <= left) {
      this._remaining = left - n;
      return n === 0 ? null : data;
    }
    this._remaining = 0;
    if (left === 0) return null;
    return (typeof data === 'string' ? Buffer.from(data) : data).subarray(0, left);
  }

  /**
   * Ends the body (with `data` as its last piece); resolves when everything was handed over. A
   * later call ignores its `data` and resolves with the first one.
   * @throws {TypeError} `data` that is not a string or bytes. {RangeError} as `write`.
   *   {Error} zlib's own failure under `enableCompression()` (out of memory): the connection is
   *   closed, so that the client sees the body cut short.
   */
  async writeEof(data?: string | Uint8Array): Promise<void> {
    const res = this._res;
    if (res === null) throw new Error('Cannot end the response: call prepare(request) first');
    if (this.ended !== null) return this.ended;
    if (data !== undefined && typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw argumentError('writeEof() expects a string or bytes', data);
    }
    if (typeof data === 'string') checkUtf8(data);
    const ending = this.endBody(res, data);
    this.ended = ending.then(
      () => {},
      () => {},
    );
    return ending;
  }

  /** writeEof()'s work, once: `data` through the compressor or the length check, then the end. */
  private async endBody(res: ServerResponse, data: string | Uint8Array | undefined): Promise<void> {
    if (connectionGone(res)) return;
    let last: string | Uint8Array | null = null;
    const coder = this.coder;
    if (coder !== null) {
      // A client gone meanwhile ends the body as below, without an error.
      if (data !== undefined) {
        await coder
          .write(typeof data === 'string' ? Buffer.from(data) : data)
          .catch(() => undefined);
      }
      await coder.finish();
      if (coder.failure !== null) {
        // Ending the response would frame a truncated coded body as complete (the last chunk),
        // for the client and any cache: cutting the connection tells it the body is not whole.
        res.destroy();
        throw coder.failure;
      }
    } else if (data !== undefined) last = this.fit(data);
    if (this._remaining !== null && this._remaining > 0) {
      // Shorter than the declared length: the client waits for the missing bytes, and on a
      // kept-alive connection would take the next response for them. Closing the connection
      // once the body is out tells it that the body is incomplete.
      (res as { _last?: boolean })._last = true;
      res.shouldKeepAlive = false;
    }
    await new Promise<void>((resolve) => {
      // A response still queued behind an earlier one on its connection (pipelining) never
      // finishes once the connection is gone: its socket's closing ends the wait too.
      const done = (): void => {
        stop();
        resolve();
      };
      const stop = onConnectionClose(res.req.socket, done);
      if (last === null) res.end(done);
      else res.end(last, done);
    });
  }

  /** @internal Sends a response the handler returned (prepare + the body it knows). */
  _send(request: Request): Promise<void> | undefined {
    return this.sendAll(request);
  }

  private async sendAll(request: Request): Promise<void> {
    if (this._res === null) await this.prepare(request);
    await this.writeEof();
  }

  /**
   * @internal Writes the head: status, the headers set, `extra` header pairs. `head.status`
   * sends another status than the response's, with its own phrase; `head.bodyHeaders: false`
   * leaves out the `Content-Type` and `Content-Length` of the headers set (`extra` has the
   * caller's). The response is not changed, so that the caller updates it only once Node took
   * the head (Node refuses a bad header value by throwing, before it sends anything).
   */
  _writeHead(
    res: ServerResponse,
    extra: (string | number)[] | null,
    head: { status?: number; bodyHeaders?: boolean } = {},
  ): void {
    const flat: (string | number)[] = extra ?? [];
    const h = this._headers;
    const skipBodyHeaders = head.bodyHeaders === false;
    if (h !== null) {
      for (const [k, v] of h) {
        if (k === 'set-cookie') continue;
        if (skipBodyHeaders && (k === 'content-type' || k === 'content-length')) continue;
        flat.push(k, v);
      }
    }
    const cookies = this._cookies;
    if (cookies !== null) for (const c of cookies) flat.push('set-cookie', c);
    if (h !== null) for (const c of h.getSetCookie()) flat.push('set-cookie', c);
    // The reason always given: Node's phrases are not all Python's, and a reason a failed
    // writeHead left on the response must not be reused.
    const status = head.status ?? this.status;
    const reason = head.status === undefined ? this.reason : reasonPhrase(status);
    res.writeHead(status, reason, flat as unknown as string[]);
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }
}

/** @internal Whether a response of `status` has a body (none for 1xx, 204, 304). */
export function carriesBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

/**
 * A write to a response that carries no body (the answer to HEAD, a 204, a 304): its bytes are
 * dropped, as HTTP requires (aiohttp 3.8 sends them, and waits on the socket while the client
 * does not read them). Node drops them without touching the socket, so nothing would pace a
 * handler that writes in a loop: each such write yields one turn of the event loop (other
 * connections, timers and this one's closing go on), and raises ConnectionResetError once the
 * client has gone, as aiohttp's write does. The head goes out at the first of them, so that the
 * client has its answer (Node would hold it back until the end).
 */
async function bodyDropped(res: ServerResponse): Promise<void> {
  if ((res as { _headerSent?: boolean })._headerSent !== true) res.flushHeaders();
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (connectionGone(res)) throw connectionLost();
}

/** Until `res` can take more; rejects once the connection is gone (see connectionGone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const off = (): void => {
      res.off('drain', done);
      res.off('close', closed);
      stop();
    };
    const done = (): void => {
      off();
      resolve();
    };
    const closed = (): void => {
      off();
      reject(connectionLost());
    };
    res.on('drain', done);
    res.once('close', closed);
    const stop = onConnectionClose(res.req.socket, closed);
  });
}
