/**
 * Request: what a handler receives (aiohttp's `web.Request`).
 *
 * Everything is computed on first use — the decoded path, the query, the cookies, the URL, the
 * body reader — so a handler that reads only `matchInfo` pays for nothing else.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { StreamReader } from '../streams/stream-reader.js';
import type { Application } from './application.js';
import { HTTPBadRequest, HTTPRequestEntityTooLarge } from './http-exceptions.js';

export type MatchInfo = Record<string, string>;

const EMPTY_MATCH: MatchInfo = Object.freeze(Object.create(null));

export class Request {
  /** The (sub-)application whose route matched. */
  app: Application;
  /** Path parameters of the matched route: `{ id: '42' }` for `/{id}` and `/42`. */
  matchInfo: MatchInfo = EMPTY_MATCH;
  /** @internal */ readonly _req: IncomingMessage;
  /** @internal */ readonly _res: ServerResponse;
  /** @internal the methods the path allows, when the method did not match (405). */
  _allowed: Set<string> | null = null;
  /** @internal ask the server to close the connection after this response. */
  _closeAfter = false;
  /** @internal the task running the handler. */
  _task: import('../asyncio/task.js').Task<void> | null = null;
  /** @internal neighbours in the runner's list of requests in flight. */
  _prev: Request | null = null;
  /** @internal */ _next: Request | null = null;
  private readonly maxSize: number;
  private _rawPath: string | null = null;
  private _path: string | null = null;
  private _query: URLSearchParams | null = null;
  private _cookies: Record<string, string> | null = null;
  private _url: URL | null = null;
  private _content: StreamReader | null = null;
  private _body: Buffer | null = null;
  private _state: Map<unknown, unknown> | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, app: Application, maxSize: number) {
    this._req = req;
    this._res = res;
    this.app = app;
    this.maxSize = maxSize;
  }

  get method(): string {
    return this._req.method as string;
  }

  /** The request target as sent: path and query string, undecoded. */
  get rawPathQs(): string {
    return this._req.url as string;
  }

  /** The path as sent (percent-encoded), without the query string. */
  get rawPath(): string {
    if (this._rawPath === null) {
      const u = this._req.url as string;
      const q = u.indexOf('?');
      this._rawPath = q === -1 ? u : u.slice(0, q);
    }
    return this._rawPath;
  }

  /** The decoded path: `/a b` for `/a%20b`. */
  get path(): string {
    if (this._path === null) {
      const raw = this.rawPath;
      if (raw.indexOf('%') === -1) this._path = raw;
      else {
        try {
          this._path = decodeURIComponent(raw);
        } catch {
          throw new HTTPBadRequest({ text: 'Malformed percent-encoding in the path' });
        }
      }
    }
    return this._path;
  }

  /** The raw query string, without the `?` ('' when there is none). */
  get queryString(): string {
    const u = this._req.url as string;
    const q = u.indexOf('?');
    return q === -1 ? '' : u.slice(q + 1);
  }

  /** The query as a multi-map: `query.get('a')`, `query.getAll('a')`. */
  get query(): URLSearchParams {
    this._query ??= new URLSearchParams(this.queryString);
    return this._query;
  }

  /** Request headers, lower-cased names (Node's parsed headers). */
  get headers(): IncomingHttpHeaders {
    return this._req.headers;
  }

  /** The `Host` header (or `localhost`). */
  get host(): string {
    return this._req.headers.host ?? 'localhost';
  }

  get scheme(): string {
    return (this._req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }

  /** The absolute URL of the request. */
  get url(): URL {
    if (this._url === null) {
      try {
        this._url = new URL(this._req.url as string, `${this.scheme}://${this.host}`);
      } catch {
        throw new HTTPBadRequest({ text: 'Malformed request target or Host header' });
      }
    }
    return this._url;
  }

  /** The peer's IP address (null once the connection is gone). */
  get remote(): string | null {
    return this._req.socket.remoteAddress ?? null;
  }

  /** HTTP version as `[major, minor]`. */
  get version(): [number, number] {
    return [this._req.httpVersionMajor, this._req.httpVersionMinor];
  }

  get keepAlive(): boolean {
    return this._res.shouldKeepAlive;
  }

  /** Cookies sent by the client, by name. */
  get cookies(): Readonly<Record<string, string>> {
    if (this._cookies === null) {
      const out: Record<string, string> = Object.create(null);
      const h = this._req.headers.cookie;
      if (h) {
        for (const part of h.split(';')) {
          const eq = part.indexOf('=');
          if (eq === -1) continue;
          const name = part.slice(0, eq).trim();
          if (name === '' || name in out) continue;
          let value = part.slice(eq + 1).trim();
          if (value.length >= 2 && value[0] === '"' && value[value.length - 1] === '"') {
            value = value.slice(1, -1);
          }
          try {
            out[name] = value.indexOf('%') === -1 ? value : decodeURIComponent(value);
          } catch {
            out[name] = value;
          }
        }
      }
      this._cookies = out;
    }
    return this._cookies;
  }

  /** The media type of the body, without parameters (`application/json`). */
  get contentType(): string {
    const ct = this._req.headers['content-type'];
    if (!ct) return 'application/octet-stream';
    const semi = ct.indexOf(';');
    return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
  }

  /** The `charset` parameter of `Content-Type`, or null. */
  get charset(): string | null {
    const m = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(this._req.headers['content-type'] ?? '');
    return m ? (m[1] as string).toLowerCase() : null;
  }

  /** The declared body length, or null (chunked or no body). */
  get contentLength(): number | null {
    const v = this._req.headers['content-length'];
    return v === undefined ? null : Number(v);
  }

  /** Whether the request declares a body. */
  get canReadBody(): boolean {
    const h = this._req.headers;
    return (
      (h['content-length'] !== undefined && h['content-length'] !== '0') ||
      h['transfer-encoding'] !== undefined
    );
  }

  /** A per-request store for middlewares and handlers (aiohttp's `request['key']`). */
  get state(): Map<unknown, unknown> {
    this._state ??= new Map();
    return this._state;
  }

  /**
   * The body as a `StreamReader` (from `weft/streams`): `read(n)`, `readline()`,
   * `readexactly(n)`, line iteration. Past the application's `clientMaxSize` a read raises
   * `HTTPRequestEntityTooLarge` (answered 413).
   */
  get content(): StreamReader {
    if (this._content === null) {
      const reader = new StreamReader();
      this._content = reader;
      const req = this._req;
      const max = this.maxSize;
      const declared = this.contentLength;
      if (declared !== null && declared > max) {
        this._closeAfter = true;
        reader.setException(new HTTPRequestEntityTooLarge(max, declared));
        return reader;
      }
      let total = 0;
      reader._setTransport({ pauseReading: () => req.pause(), resumeReading: () => req.resume() });
      const onData = (chunk: Buffer): void => {
        total += chunk.length;
        if (total > max) {
          this._closeAfter = true;
          req.off('data', onData);
          req.pause();
          reader.setException(new HTTPRequestEntityTooLarge(max, null));
          return;
        }
        reader._feedOwned(chunk);
      };
      req.on('data', onData);
      req.once('end', () => reader.feedEof());
      req.once('error', (e) => reader.setException(e));
      req.once('close', () => {
        if (!req.complete) {
          const e = new Error('The client closed the connection before the body ended');
          (e as NodeJS.ErrnoException).code = 'ECONNRESET';
          reader.setException(e);
        }
      });
    }
    return this._content;
  }

  /** The whole body as bytes (read once, then cached). */
  async read(): Promise<Buffer> {
    if (this._body === null) {
      if (!this.canReadBody && this._content === null) this._body = Buffer.alloc(0);
      else this._body = await this.content.read();
    }
    return this._body;
  }

  /** The body decoded as text (the request's charset, UTF-8 by default). */
  async text(): Promise<string> {
    const b = await this.read();
    const cs = this.charset;
    if (cs === null || cs === 'utf-8' || cs === 'utf8') return b.toString('utf8');
    try {
      return new TextDecoder(cs).decode(b);
    } catch {
      throw new HTTPBadRequest({ text: `Unsupported charset: ${cs}` });
    }
  }

  /**
   * The body parsed as JSON.
   * @throws {HTTPBadRequest} the body is not valid JSON (answered 400 if not caught).
   */
  async json<T = unknown>(loads: (text: string) => T = JSON.parse): Promise<T> {
    const t = await this.text();
    try {
      return loads(t);
    } catch (e) {
      throw new HTTPBadRequest({ text: 'The request body is not valid JSON', cause: e });
    }
  }

  /**
   * The form data of an `application/x-www-form-urlencoded` or `multipart/form-data` body:
   * text fields as strings, uploaded files as `File`s. Other content types give an empty form.
   * Parsing is undici's (the platform's `FormData`), after the size limit is applied.
   * @throws {HTTPBadRequest} malformed multipart data.
   */
  async post(): Promise<FormData> {
    const ct = this.contentType;
    if (ct !== 'application/x-www-form-urlencoded' && ct !== 'multipart/form-data') {
      return new FormData();
    }
    const body = await this.read();
    try {
      const r = new globalThis.Response(body, {
        headers: { 'content-type': this._req.headers['content-type'] as string },
      });
      return await r.formData();
    } catch (e) {
      throw new HTTPBadRequest({ text: 'Malformed form data', cause: e });
    }
  }

  /** The underlying Node request (weft's own escape hatch). */
  get raw(): IncomingMessage {
    return this._req;
  }

  get [Symbol.toStringTag](): string {
    return 'Request';
  }
}
