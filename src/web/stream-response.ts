/**
 * StreamResponse: a response whose body the handler writes piece by piece (aiohttp's
 * `web.StreamResponse`): set status and headers, `await prepare(request)` sends the head,
 * `await write(chunk)` sends body bytes (waiting while the socket's buffer is full), `await
 * writeEof()` ends it. `Response` and `FileResponse` are StreamResponses that know their body.
 */
import type { ServerResponse } from 'node:http';
import { argumentError, rangeError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';
import type { HeadersInput } from './http-exceptions.js';
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
  reason?: string;
  headers?: HeadersInput;
}

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const COOKIE_VALUE_BAD = /[\u0000-\u001f\u007f;,\s"\\]/;

export class StreamResponse {
  status: number;
  reason: string | undefined;
  /** @internal */ _headers: Headers | null = null;
  /** @internal */ _cookies: string[] | null = null;
  /** @internal */ _res: ServerResponse | null = null;
  private eofSent = false;
  /** Body bytes the head's `Content-Length` still promises (null: no length was declared). */
  private remaining: number | null = null;

  constructor(options: StreamResponseOptions = {}) {
    const status = options.status ?? 200;
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw rangeError('Response status must be an integer from 100 to 999', status);
    }
    this.status = status;
    this.reason = options.reason;
    if (options.headers !== undefined) this._headers = new Headers(options.headers);
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

  /** True once the head was sent. */
  get prepared(): boolean {
    return this._res !== null;
  }

  /** Adds a `Set-Cookie` header. */
  setCookie(name: string, value: string, options: CookieOptions = {}): void {
    if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
      throw argumentError('Cookie name must be a token', name);
    }
    value = String(value);
    if (COOKIE_VALUE_BAD.test(value)) {
      throw argumentError(
        'Cookie value must not contain spaces, quotes, commas or semicolons',
        value,
      );
    }
    let c = `${name}=${value}`;
    if (options.domain) c += `; Domain=${options.domain}`;
    c += `; Path=${options.path ?? '/'}`;
    if (options.maxAge !== undefined) c += `; Max-Age=${Math.trunc(options.maxAge)}`;
    if (options.expires !== undefined) {
      const e = options.expires instanceof Date ? options.expires.toUTCString() : options.expires;
      c += `; Expires=${e}`;
    }
    if (options.secure) c += '; Secure';
    if (options.httpOnly) c += '; HttpOnly';
    if (options.sameSite) c += `; SameSite=${options.sameSite}`;
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
    this._writeHead(res, null);
    // Node sends whatever is written whatever the head declared; the length is kept here so
    // that a body of another length cannot break the framing of a keep-alive connection.
    const declared = this.contentLength;
    const hasBody = (res as { _hasBody?: boolean })._hasBody !== false;
    if (declared !== null && Number.isSafeInteger(declared) && declared >= 0 && hasBody) {
      this.remaining = declared;
    }
  }

  /** Sends body bytes; resolves when the socket can take more (back pressure). */
  async write(data: string | Uint8Array): Promise<void> {
    const res = this._res;
    if (res === null) throw new Error('Cannot write: call prepare(request) first');
    if (this.eofSent) throw new Error('Cannot write: writeEof() was already called');
    if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
      throw argumentError('write() expects a string or bytes', data);
    }
    if (res.destroyed) throw connectionLost();
    const chunk = this.fit(data);
    if (chunk === null) return;
    if (!res.write(chunk)) await drained(res);
  }

  /**
   * `data` cut to what the declared `Content-Length` still allows, as aiohttp does: bytes past
   * it would be read by the client as the start of the next response. Null: nothing to send.
   */
  private fit(data: string | Uint8Array): string | Uint8Array | null {
    const left = this.remaining;
    if (left === null) return data;
    const n = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (n <= left) {
      this.remaining = left - n;
      return n === 0 ? null : data;
    }
    this.remaining = 0;
    if (left === 0) return null;
    return (typeof data === 'string' ? Buffer.from(data) : data).subarray(0, left);
  }

  /** Ends the body (with `data` as its last piece); resolves when everything was handed over. */
  async writeEof(data?: string | Uint8Array): Promise<void> {
    const res = this._res;
    if (res === null) throw new Error('Cannot end the response: call prepare(request) first');
    if (this.eofSent) return;
    this.eofSent = true;
    if (res.destroyed) return;
    const last = data === undefined ? null : this.fit(data);
    if (this.remaining !== null && this.remaining > 0) {
      // Shorter than the declared length: the client waits for the missing bytes, and on a
      // kept-alive connection would take the next response for them. Closing the connection
      // once the body is out tells it that the body is incomplete.
      (res as { _last?: boolean })._last = true;
      res.shouldKeepAlive = false;
    }
    await new Promise<void>((resolve) => {
      if (last === null) res.end(resolve);
      else res.end(last, resolve);
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

  /** @internal Writes the head: status, the headers set, `extra` header pairs. */
  _writeHead(res: ServerResponse, extra: (string | number)[] | null): void {
    const flat: (string | number)[] = extra ?? [];
    const h = this._headers;
    if (h !== null) for (const [k, v] of h) if (k !== 'set-cookie') flat.push(k, v);
    const cookies = this._cookies;
    if (cookies !== null) for (const c of cookies) flat.push('set-cookie', c);
    if (h !== null) for (const c of h.getSetCookie()) flat.push('set-cookie', c);
    if (this.reason === undefined) res.writeHead(this.status, flat as unknown as string[]);
    else res.writeHead(this.status, this.reason, flat as unknown as string[]);
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }
}

function connectionLost(): Error {
  return new ConnectionResetError('Cannot write: the client closed the connection');
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', closed);
      resolve();
    };
    const closed = (): void => {
      res.off('drain', done);
      reject(connectionLost());
    };
    res.on('drain', done);
    res.once('close', closed);
  });
}
