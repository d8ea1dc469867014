/**
 * Request: what a handler receives (aiohttp's `web.Request`).
 *
 * Everything is computed on first use — the decoded path, the query, the cookies, the URL, the
 * body reader — so a handler that reads only `matchInfo` pays for nothing else.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { RuntimeError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';
import { StreamReader } from '../streams/stream-reader.js';
import type { Application } from './application.js';
import { HTTPBadRequest, HTTPRequestEntityTooLarge } from './http-exceptions.js';
import { charsetOf, decodeText } from './mime-types.js';
import { abandonUpgradeBody, bodySource } from './upgrade-body.js';

export type MatchInfo = Record<string, string>;

const SLASH = 0x2f;
/** How long the rest of a half-read body is read and dropped (aiohttp's lingering_time, 10 s). */
const DRAIN_MS = 10_000;
/** `scheme://authority` at the start of an absolute-form target; the rest is path and query. */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/** `/path?query` of an absolute-form target; any other target (`*`, garbage) as it is. */
function originForm(target: string): string {
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) return target;
  const rest = target.slice(m[0].length);
  return rest.charCodeAt(0) === SLASH ? rest : `/${rest}`;
}

function authorityOf(target: string): string | null {
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null || m[1] === '') return null;
  // userinfo@ is not part of the host (and is deprecated in http URIs).
  const at = (m[1] as string).lastIndexOf('@');
  return at === -1 ? (m[1] as string) : (m[1] as string).slice(at + 1);
}

/** The head announces a body: a `Transfer-Encoding`, or a `Content-Length` other than 0. */
function hasBodyFraming(raw: string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
    if (name.length === 14 && name.toLowerCase() === 'content-length' && raw[i + 1] !== '0') {
      return true;
    }
  }
  return false;
}

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
  private _rawPathQs: string | null = null;
  private _rawPath: string | null = null;
  private _path: string | null = null;
  private _query: URLSearchParams | null = null;
  private _cookies: Record<string, string> | null = null;
  private _url: URL | null = null;
  private _content: StreamReader | null = null;
  private _body: Buffer | null = null;
  /** Why `read()` failed: a second call raises it again rather than give a partial body. */
  private _bodyError: unknown = null;
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

  /**
   * The path and query string as sent, undecoded. An absolute-form target
   * (`GET http://host/a?b HTTP/1.1`, which RFC 9112 §3.2.2 obliges a server to accept) gives its
   * path and query (`/a?b`): that is what routes.
   */
  get rawPathQs(): string {
    if (this._rawPathQs === null) {
      const u = this._req.url as string;
      this._rawPathQs = u.charCodeAt(0) === SLASH ? u : originForm(u);
    }
    return this._rawPathQs;
  }

  /** The path as sent (percent-encoded), without the query string. */
  get rawPath(): string {
    if (this._rawPath === null) {
      const u = this.rawPathQs;
      const q = u.indexOf('?');
      this._rawPath = q === -1 ? u : u.slice(0, q);
    }
    return this._rawPath;
  }

  /**
   * The decoded path: `/a b` for `/a%20b`. As aiohttp's (yarl's), an escape that is not part of
   * valid UTF-8 stays as sent: `/%E9` is `/%E9`.
   */
  get path(): string {
    this._path ??= unquotePath(this.rawPath);
    return this._path;
  }

  /** The query string as it came, without the `?` ('' when there is none): `b=x%20y+z`. */
  get rawQueryString(): string {
    const u = this.rawPathQs;
    const q = u.indexOf('?');
    return q === -1 ? '' : u.slice(q + 1);
  }

  /**
   * The decoded query string, as aiohttp's `query_string`: `b=x y z` for `b=x%20y+z`. The
   * escapes of `&`, `=`, `;` and `+` stay escaped, so that it still splits into the same pairs;
   * `query` parses the raw one.
   */
  get queryString(): string {
    return decodeQueryString(this.rawQueryString);
  }

  /** The query as a multi-map: `query.get('a')`, `query.getAll('a')`. */
  get query(): URLSearchParams {
    this._query ??= new URLSearchParams(this.rawQueryString);
    return this._query;
  }

  /** Request headers, lower-cased names (Node's parsed headers). */
  get headers(): IncomingHttpHeaders {
    return this._req.headers;
  }

  /**
   * The `Host` header (or `localhost`); for an absolute-form target, the target's authority,
   * which the server must use instead of `Host` (RFC 9112 §3.2.2).
   */
  get host(): string {
    const u = this._req.url as string;
    if (u.charCodeAt(0) !== SLASH) {
      const authority = authorityOf(u);
      if (authority !== null) return authority;
    }
    return this._req.headers.host ?? 'localhost';
  }

  get scheme(): string {
    return (this._req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  }

  /** The absolute URL of the request. */
  get url(): URL {
    if (this._url === null) {
      try {
        const target = this.rawPathQs;
        // An origin-form target is appended to the authority, not resolved against it: resolved,
        // a path starting with `//` (`GET //evil.example/x`) would name another host.
        this._url =
          target.charCodeAt(0) === SLASH
            ? new URL(`${this.scheme}://${this.host}${target}`)
            : new URL(target, `${this.scheme}://${this.host}`);
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

  /**
   * Cookies sent by the client, by name. As aiohttp's (Python's `SimpleCookie`): a name sent
   * twice keeps its last value, a double-quoted value may hold `;` and backslash escapes and is
   * unquoted, `$`-names (RFC 2109 attributes such as `$Path`) are not cookies. More lenient than
   * it (docs/web.md): percent-escapes are decoded, a value runs to the next `;`, reserved names
   * are cookies, and a pair it cannot read is skipped alone.
   */
  get cookies(): Readonly<Record<string, string>> {
    if (this._cookies === null) {
      const h = this._req.headers.cookie;
      this._cookies = h ? parseCookieHeader(h) : Object.create(null);
    }
    return this._cookies as Record<string, string>;
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
    // As sent (`UTF-8` stays `UTF-8`), as aiohttp's.
    return charsetOf(this._req.headers['content-type']);
  }

  /**
   * `If-Modified-Since` as a date (UTC), or null when absent or not an HTTP date — aiohttp's
   * `if_modified_since`. The three forms of RFC 9110 are read (`Sun, 06 Nov 1994 08:49:37 GMT`,
   * `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`); the zone is taken as UTC.
   */
  get ifModifiedSince(): Date | null {
    return parseHttpDate(this._req.headers['if-modified-since']);
  }

  /** `If-Unmodified-Since` as a date, as `ifModifiedSince` (aiohttp's `if_unmodified_since`). */
  get ifUnmodifiedSince(): Date | null {
    return parseHttpDate(this._req.headers['if-unmodified-since']);
  }

  /** `If-Range` as a date, as `ifModifiedSince` (null for an entity tag: aiohttp's `if_range`). */
  get ifRange(): Date | null {
    const v = this._req.headers['if-range'];
    return parseHttpDate(typeof v === 'string' ? v : undefined);
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
   * `readexactly(n)`, line iteration, for bodies too large to hold. It is not capped: as in
   * aiohttp, `clientMaxSize` bounds what `read()`, `text()`, `json()` and `post()` would hold in
   * memory, and a handler streaming the body decides its own limit.
   */
  get content(): StreamReader {
    if (this._content === null) {
      const reader = new StreamReader();
      this._content = reader;
      const req = bodySource(this._req);
      reader._setTransport({ pauseReading: () => req.pause(), resumeReading: () => req.resume() });
      req.on('data', (chunk: Buffer) => reader._feedOwned(chunk));
      req.once('end', () => reader.feedEof());
      req.once('error', (e) => reader.setException(e));
      req.once('close', () => {
        // The first failure wins: a request destroyed with an error (a malformed body of an
        // upgrade request, upgrade-body.ts) has already said why.
        if (!req.complete && reader.exception() === null) {
          reader.setException(
            new ConnectionResetError('The client closed the connection before the body ended'),
          );
        }
      });
      // Ended before the handler first asked for its body: no event will come any more.
      if (req.destroyed && !req.complete) {
        reader.setException(
          req.errored ??
            new ConnectionResetError('The client closed the connection before the body ended'),
        );
      }
    }
    return this._content;
  }

  /**
   * @internal The handler is done: the rest of the body is read and dropped, so that the
   * kept-alive connection goes on to its next request (else it stalls until the keep-alive
   * timeout closes it, and a pipelined request is lost). aiohttp drains it too — for at most
   * its lingering time, then it closes the connection: so here, for a body the handler began to
   * stream through `content` and left, and for one it never touched (which Node would otherwise
   * read and drop for as long as the client sends).
   */
  _discardBody(): void {
    const req = bodySource(this._req);
    if (this._closeAfter) {
      // Node closes an ordinary request's connection after such an answer; an upgrade request's
      // body is weft's to stop reading (upgrade-body.ts).
      abandonUpgradeBody(this._req);
      return;
    }
    if (req.complete || req.destroyed) return;
    const reader = this._content;
    if (reader === null) {
      // The common case, a request without a body, costs a scan of its header names.
      if (!hasBodyFraming(this._req.rawHeaders)) return;
    } else {
      // A task the handler left reading the body must not take the cut body for a whole one:
      // its next read raises (aiohttp sets PayloadAccessError there).
      if (reader.exception() === null && !reader.atEof()) {
        reader.setException(
          new RuntimeError(
            'The request body was discarded: the handler returned before reading it whole',
          ),
        );
      }
      req.removeAllListeners('data');
    }
    // As aiohttp's lingering_time: a client that goes on sending (an endless chunked body, a
    // huge declared length) is cut off after DRAIN_MS rather than read from for ever.
    const cut = setTimeout(() => this._req.socket?.destroy(), DRAIN_MS);
    // It ends with the body or the connection; it does not hold the process meanwhile.
    cut.unref();
    const done = (): void => clearTimeout(cut);
    req.once('end', done);
    req.once('close', done);
    req.resume();
  }

  /**
   * The whole body as bytes (read once, then cached).
   * @throws {HTTPRequestEntityTooLarge} the body is larger than the application's
   *   `clientMaxSize` (answered 413, and the connection closed, if not caught): a declared
   *   length is refused before any byte is read, a chunked body as soon as it grows past it.
   *   A `clientMaxSize` of 0 is no limit, as in aiohttp.
   */
  async read(): Promise<Buffer> {
    if (this._bodyError !== null) throw this._bodyError;
    if (this._body === null) {
      if (!this.canReadBody && this._content === null) this._body = Buffer.alloc(0);
      else {
        try {
          this._body = await this.readCapped();
        } catch (e) {
          if (e instanceof HTTPRequestEntityTooLarge) this._bodyError = e;
          throw e;
        }
      }
    }
    return this._body;
  }

  private async readCapped(): Promise<Buffer> {
    // 0 is no limit, as aiohttp's `if self._client_max_size:`.
    const max = this.maxSize === 0 ? Number.POSITIVE_INFINITY : this.maxSize;
    const declared = this.contentLength;
    if (declared !== null && declared > max) {
      this._closeAfter = true;
      throw new HTTPRequestEntityTooLarge(max, declared);
    }
    const reader = this.content;
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = await reader.read(reader.limit);
      if (chunk.length === 0) break;
      total += chunk.length;
      if (total > max) {
        // The rest of the body is left unread: the connection cannot be reused.
        this._closeAfter = true;
        throw new HTTPRequestEntityTooLarge(max, total);
      }
      chunks.push(chunk);
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
  }

  /**
   * The body decoded as text in the request's charset (UTF-8 when it names none), strictly, as
   * aiohttp's `bytes.decode(charset)`: the codecs of mime-types.ts (utf-8, utf-8-sig, utf-16
   * and its -le and -be, latin-1, ascii, cp1250–cp1258, cp866, iso-8859-9, iso-8859-11,
   * tis-620) as Python has them, under any of Python's names for them; another charset through
   * the platform's `TextDecoder`. A UTF-8 body is decoded by one decoder shared by every
   * request, not one made per call.
   * @throws {HTTPBadRequest} bytes the charset cannot decode, or a charset weft does not know
   *   (answered 400 if not caught; aiohttp's UnicodeDecodeError or LookupError would be a 500).
   *   The RangeError is its `cause`.
   */
  async text(): Promise<string> {
    const b = await this.read();
    const cs = this.charset ?? 'utf-8';
    try {
      return decodeText(b, cs, 'Request body');
    } catch (e) {
      throw new HTTPBadRequest({ text: (e as Error).message, cause: e });
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

/**
 * A `Cookie` header's pairs, last value of a name winning. A value in double quotes runs to its
 * closing quote (a `;` inside does not end it) and is unquoted as Python's `http.cookies` does:
 * `\\ooo` is the octal code of a character, `\\c` is `c`. Percent-escapes are then decoded (a
 * malformed one stays as sent). A pair without `=`, or whose name is empty or starts with `$`,
 * is skipped.
 */
function parseCookieHeader(h: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const n = h.length;
  let i = 0;
  while (i < n) {
    let semi = h.indexOf(';', i);
    if (semi === -1) semi = n;
    // Looked for before the `;` only: a search to the end for every pair would make a header
    // of many pairs without `=` cost the square of its length.
    let eq = -1;
    for (let k = i; k < semi; k++) {
      if (h.charCodeAt(k) === 0x3d /* = */) {
        eq = k;
        break;
      }
    }
    if (eq === -1) {
      i = semi + 1;
      continue;
    }
    const name = h.slice(i, eq).trim();
    let v = eq + 1;
    while (v < n && (h[v] === ' ' || h[v] === '\t')) v++;
    let value: string;
    let next = semi + 1;
    if (h[v] === '"') {
      let j = v + 1;
      while (j < n && h[j] !== '"') j += h[j] === '\\' ? 2 : 1;
      if (j < n) {
        value = unquoteCookie(h.slice(v + 1, j));
        const after = h.indexOf(';', j + 1);
        next = after === -1 ? n : after + 1;
      } else value = h.slice(v, semi).trim();
    } else value = h.slice(v, semi).trim();
    i = next;
    if (name === '' || name.charCodeAt(0) === 0x24 /* $ */) continue;
    if (value.indexOf('%') !== -1) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // kept as sent
      }
    }
    out[name] = value;
  }
  return out;
}

/** The inside of a quoted cookie value with its escapes resolved (Python's `_unquote`). */
function unquoteCookie(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  return s.replace(/\\(?:([0-3][0-7][0-7])|([\s\S]))/g, (_m, oct: string | undefined, c: string) =>
    oct !== undefined ? String.fromCharCode(Number.parseInt(oct, 8)) : c,
  );
}

const MONTHS = 'jan feb mar apr may jun jul aug sep oct nov dec';
// IMF-fixdate and RFC 850 (the day name optional), then asctime.
const HTTP_DATE =
  /^\s*(?:[a-z]+,?\s+)?(\d{1,2})[\s-]+([a-z]{3})[\s-]+(\d{4}|\d{2})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s+\S+)?\s*$/i;
const ASCTIME = /^\s*[a-z]+\s+([a-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})\s*$/i;

/** An HTTP date as UTC (whatever zone it names, as aiohttp's), or null. */
function parseHttpDate(v: string | undefined): Date | null {
  if (v === undefined) return null;
  let day: string;
  let mon: string;
  let year: string;
  let hms: [string, string, string];
  let m = HTTP_DATE.exec(v);
  if (m !== null) {
    [, day, mon, year] = m as unknown as [string, string, string, string];
    hms = [m[4] as string, m[5] as string, m[6] as string];
  } else {
    m = ASCTIME.exec(v);
    if (m === null) return null;
    [, mon, day] = m as unknown as [string, string, string];
    hms = [m[3] as string, m[4] as string, m[5] as string];
    year = m[6] as string;
  }
  const month = MONTHS.indexOf(mon.toLowerCase());
  if (month === -1 || month % 4 !== 0) return null;
  let y = Number(year);
  // Years below 100 as Python's email.utils takes them, by value (`0001` too): 69-99 are 19xx,
  // 0-68 20xx. (Date.UTC would take 0-99 as 1900-1999 itself.)
  if (y < 100) y += y > 68 ? 1900 : 2000;
  const [h, mi, sec] = hms.map(Number) as [number, number, number];
  const d = Number(day);
  const t = Date.UTC(y, month / 4, d, h, mi, sec);
  const date = new Date(t);
  // A day, hour or minute out of range (31 Feb, 25:00) is no date, as Python's datetime says.
  if (date.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) return null;
  return date;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * @internal `raw` with its percent-escapes decoded as yarl decodes a path: the bytes of each run
 * of escapes are read as UTF-8, and an escape whose byte is not part of a valid UTF-8 sequence
 * stays as sent (`%E9`; `%ZZ` is no escape at all).
 */
export function unquotePath(raw: string): string {
  if (raw.indexOf('%') === -1) return raw;
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeEscapes);
}

function decodeEscapes(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    // Some of the bytes are not UTF-8: decoded sequence by sequence below.
  }
  const n = run.length / 3;
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Number.parseInt(run.slice(3 * i + 1, 3 * i + 3), 16);
  let out = '';
  let i = 0;
  while (i < n) {
    const len = utf8SequenceLength(bytes[i] as number);
    if (len !== 0 && i + len <= n) {
      try {
        out += strictUtf8.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // not a valid sequence: this byte stays as sent
      }
    }
    out += run.slice(3 * i, 3 * i + 3);
    i++;
  }
  return out;
}

/** The length of the UTF-8 sequence `lead` starts, or 0 for a byte no sequence starts with. */
function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Escapes that `decodeQueryString` keeps: they would change how the string splits into pairs. */
const KEPT_ESCAPES = /%(?:26|3[Dd]|3[Bb]|2[Bb])/;

/**
 * `raw` with `+` as a space and its percent-escapes decoded as UTF-8 (yarl's `query_string`),
 * except those of `KEPT_ESCAPES`; an escape that is not valid UTF-8 is left as it came.
 */
function decodeQueryString(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  return raw.replace(/\+/g, ' ').replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    let out = '';
    let from = 0;
    // Each kept escape splits the run; the pieces between are decoded on their own.
    for (let i = 0; i < run.length; i += 3) {
      const esc = run.slice(i, i + 3);
      if (!KEPT_ESCAPES.test(esc)) continue;
      out += decodePiece(run.slice(from, i)) + esc;
      from = i + 3;
    }
    return out + decodePiece(run.slice(from));
  });
}

function decodePiece(escapes: string): string {
  if (escapes === '') return '';
  try {
    return decodeURIComponent(escapes);
  } catch {
    return escapes;
  }
}
