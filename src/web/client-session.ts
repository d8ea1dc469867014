/**
 * ClientSession: an HTTP client with a connection pool, default headers, a base URL, a cookie
 * jar and timeouts (aiohttp's `ClientSession`), on undici's `Agent`.
 *
 * Implementation notes
 * --------------------
 * undici does the HTTP (parsing, keep-alive pools per origin; the smaller of `limitPerHost`
 * and `limit` is its `connections`). Two things are weft's: the session-wide `limit` on
 * concurrent requests (aiohttp's connector `limit`, default 100), a `Semaphore` whose slot is
 * held from the request until the response body is read or released — so `limit` bounds
 * connections in use as in aiohttp; and redirects, followed here (not by undici) so that every hop's `Set-Cookie` reaches
 * the jar and the history is kept.
 *
 * Cancellation: a request made inside a weft task is aborted when the task is cancelled (the
 * task's `signal` is passed to undici), raising `CancelledError`; `timeout.total` aborts it
 * with weft's `TimeoutError`. Both cover the whole exchange, body included.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, errors as undiciErrors } from 'undici';
import { Semaphore } from '../asyncio/semaphore.js';
import { currentTask } from '../asyncio/task.js';
import {
  argumentError,
  CancelledError,
  describeValue,
  RuntimeError,
  rangeError,
  TimeoutError,
} from '../internal/errors.js';
import { MAX_TIMER as MAX_TIMER_MS } from '../internal/long-timer.js';
import {
  ClientResponse,
  DEFAULT_MAX_DECOMPRESS_SIZE,
  type ResponseOwner,
} from './client-response.js';
import type { ClientWebSocketResponse } from './client-web-socket.js';
import { CookieJar } from './cookie-jar.js';
import {
  ClientConnectionError,
  ClientConnectorError,
  ClientError,
  ClientPayloadError,
  ClientResponseError,
  InvalidURL,
  type RequestInfo,
  ServerDisconnectedError,
  ServerTimeoutError,
  TooManyRedirects,
} from './errors.js';
import { SockReadTimeout, withSockRead } from './sock-read-timer.js';
import { connectWebSocket, type WSConnectOptions } from './ws-connect.js';

export interface ClientTimeout {
  /** The whole exchange, body included, ms (default 300 000, aiohttp's 5 minutes). */
  total?: number | null;
  /**
   * Getting a connection, ms: waiting for a free slot under `limit`, then establishing the
   * connection (`ClientConnectorError` when it passes). Given per request, it bounds the wait
   * for a slot only: establishing uses the session's value (undici's connector is per session).
   */
  connect?: number | null;
  /**
   * Longest silence from the server while the client waits for it, ms (0 or null: none): for
   * the head once the request has been written, then between body chunks; not while the
   * caller leaves the body unread (back pressure).
   */
  sockRead?: number | null;
}

/**
 * Request headers: an object (a name may map to several values), a `Headers`, or a list of
 * `[name, value]` pairs (a name may come more than once, as in aiohttp's multidict). Names are
 * case-insensitive; the values of one name are sent as one field, joined with `, ` (`; ` for
 * `Cookie`), which HTTP reads as the same. A value `undefined` is left out.
 */
export type RequestHeaders =
  | Record<string, string | number | readonly (string | number)[] | undefined>
  | Headers
  | Iterable<readonly [string, string | number]>;

export interface ClientSessionOptions {
  /**
   * Relative request URLs resolve against it, as `new URL(url, baseUrl)` (RFC 3986, aiohttp
   * 3.10's join): `'x'` under its path, `'/x'` from the root; an absolute URL is used as it is.
   * An absolute http(s) URL whose path ends in `/` (`http://h/api/`), without query or fragment.
   */
  baseUrl?: string | URL;
  /**
   * Sent with every request (a request's own headers win). `Accept: *\/*`,
   * `Accept-Encoding: gzip, deflate, br` and a `User-Agent` are sent unless given here or per
   * request.
   */
  headers?: RequestHeaders;
  /**
   * Initial cookies (name → value): shared cookies, sent to every host whatever its domain,
   * path or scheme, as aiohttp's `cookies=` (the jar's `updateCookies` without a URL).
   */
  cookies?: Record<string, string>;
  cookieJar?: CookieJar;
  /** Concurrent requests (open connections) in the whole session; 0 = no limit (default 100). */
  limit?: number;
  /** Connections per host; 0 = no limit (default 0). */
  limitPerHost?: number;
  timeout?: ClientTimeout;
  /** Call `raiseForStatus()` on every response (default false). */
  raiseForStatus?: boolean;
  /**
   * Decode response bodies sent with a `Content-Encoding` of gzip, deflate or br (default
   * true, aiohttp's `auto_decompress`); false gives the bytes as they came.
   */
  autoDecompress?: boolean;
  /**
   * The most bytes one piece of a coded body, as one network read brings it, may decode to
   * (default 2²⁵, 32 MiB, aiohttp's `DEFAULT_MAX_DECOMPRESS_SIZE`; 0: no bound): past it the
   * body fails with `ClientPayloadError` (`read()`, `text()`, `json()` and `content`), so a few
   * kilobytes that stand for gigabytes (a decompression bomb) fail at once, while a large body
   * coded in ordinary pieces reads whole, as in aiohttp.
   */
  maxDecompressSize?: number;
}

/** A query parameter's or a form field's value: an array gives the name once per element. */
export type FieldValue = string | number | readonly (string | number)[];

export type RequestData =
  | string
  | Uint8Array
  | ArrayBufferView
  | ArrayBuffer
  | URLSearchParams
  | FormData
  | Record<string, FieldValue>
  | [string, string | number][]
  | AsyncIterable<Uint8Array>
  | null;

export interface RequestOptions {
  /** Query parameters added to the URL (after those it already has). */
  params?: Record<string, FieldValue> | URLSearchParams | [string, string | number][] | string;
  /** Replace the session's headers of the same names (case-insensitive). */
  headers?: RequestHeaders;
  /**
   * A body: text, bytes (a Uint8Array, another typed array or DataView, an ArrayBuffer), form
   * fields (a plain object, a list of pairs or URLSearchParams: urlencoded), FormData, or an
   * async iterable of bytes (streamed). Its default `Content-Type` is sent unless the headers
   * give one.
   */
  data?: RequestData;
  /** A body serialised as JSON; `null` is no json (aiohttp's `json=None`), not the body `null`. */
  json?: unknown;
  /**
   * Follow redirects (a boolean, default true), at most `maxRedirects` (an integer >= 0,
   * default 10).
   */
  allowRedirects?: boolean;
  maxRedirects?: number;
  timeout?: ClientTimeout;
  raiseForStatus?: boolean;
  signal?: AbortSignal;
}

/** A timeout in ms, checked; null when not given, 0 for none (0, Infinity, or past a timer's reach). */
function ms(v: number | null | undefined, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') {
    throw new TypeError(`timeout.${name} must be a number of ms: received ${typeof v}`);
  }
  if (Number.isNaN(v) || v < 0) {
    throw new RangeError(`timeout.${name} must be a number of ms >= 0: received ${String(v)}`);
  }
  // Some 24.8 days and more can be no deadline a request meets: none at all, rather than
  // Node's overflowed timer that fires at once.
  return v > MAX_TIMER_MS ? 0 : v;
}

/**
 * A `timeout` option: an object of ms values (or nothing). A number would have been dropped
 * without a word, leaving the default five minutes (aiohttp 3.8 reads a request's number as
 * its total in seconds, and fails on a session's): a TypeError says which form to give.
 */
function timeoutObject(t: unknown, name: string): ClientTimeout {
  if (t === undefined || t === null) return {};
  if (typeof t !== 'object' || Array.isArray(t)) {
    throw new TypeError(
      `${name} must be an object of milliseconds such as { total: 5000 }: received ${describeValue(t)}`,
    );
  }
  checkOptions(t, name, TIMEOUT_OPTIONS);
  return t as ClientTimeout;
}

/** RFC 9110's token: what a method may be made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Sent unless the session's or the request's headers give them (aiohttp sends its own: the
 * codings are those it sends with brotli installed, all of which the platform decodes).
 */
const DEFAULT_HEADERS: Readonly<Record<string, string>> = {
  accept: '*/*',
  'accept-encoding': 'gzip, deflate, br',
  'user-agent': `Node.js/${process.versions.node} weft`,
};

class TotalTimeout extends Error {}

interface HostSlots {
  sem: Semaphore;
  /** Requests holding or waiting for one of `sem`'s slots. */
  users: number;
}
class PoolTimeout extends Error {}

export class ClientSession implements AsyncDisposable, ResponseOwner {
  readonly cookieJar: CookieJar;
  readonly headers: Record<string, string>;
  readonly baseUrl: URL | null;
  private readonly agent: Agent;
  private readonly limiter: Semaphore | null;
  private readonly limit: number;
  private readonly perHost: number;
  /** `limitPerHost`'s slots by origin, while a request holds or waits for one. */
  private readonly hosts = new Map<string, HostSlots>();
  private readonly timeout: ClientTimeout;
  private readonly raise: boolean;
  private readonly decompress: boolean;
  private readonly maxDecompressSize: number;
  private readonly open = new Map<ClientResponse, () => void>();
  /** The session's header names as the caller spelt them, by lower-cased name. */
  private readonly headerNames = new Map<string, string>();
  /** WebSockets open or opening: the session's close() drops them, as aiohttp's does. */
  private readonly sockets = new Set<() => void>();
  private _closed = false;

  /**
   * @throws {TypeError} an option of the wrong type (`raiseForStatus`/`autoDecompress` not a
   *   boolean, `limit` not a number, `cookieJar` not a CookieJar, `baseUrl` not a string or a
   *   URL, …). {RangeError} a bad number or timeout, a `baseUrl` whose path does not end in `/`
   *   or that has a query or a fragment. {InvalidURL} a `baseUrl` that is not an absolute
   *   http(s) URL.
   */
  constructor(options: ClientSessionOptions | null = {}) {
    options ??= {};
    checkOptions(options, 'ClientSession options', SESSION_OPTIONS);
    const limit = options.limit ?? 100;
    const perHost = options.limitPerHost ?? 0;
    const maxDecompressSize = options.maxDecompressSize ?? DEFAULT_MAX_DECOMPRESS_SIZE;
    for (const [n, v] of [
      ['limit', limit],
      ['limitPerHost', perHost],
      ['maxDecompressSize', maxDecompressSize],
    ] as const) {
      if (typeof v !== 'number') throw argumentError(`${n} must be a number`, v);
      if (!Number.isInteger(v) || v < 0) {
        throw new RangeError(`${n} must be an integer >= 0: received ${String(v)}`);
      }
    }
    this.baseUrl =
      options.baseUrl === undefined || options.baseUrl === null
        ? null
        : checkBaseUrl(options.baseUrl);
    // A plain object again (headerRecord's has no prototype): the spread keeps a `constructor`
    // or `__proto__` header as an own property.
    this.headers = { ...headerRecord(options.headers, 'headers', this.headerNames) };
    checkTransportHeaders(this.headers, null);
    if (
      options.cookieJar !== undefined &&
      options.cookieJar !== null &&
      !(options.cookieJar instanceof CookieJar)
    ) {
      throw argumentError('cookieJar must be a CookieJar', options.cookieJar);
    }
    if (
      options.cookies !== undefined &&
      options.cookies !== null &&
      !isPlainObject(options.cookies)
    ) {
      throw argumentError('cookies must be a plain object of name → value', options.cookies);
    }
    this.cookieJar = options.cookieJar ?? new CookieJar();
    this.timeout = { total: 300_000, ...timeoutObject(options.timeout, 'timeout') };
    ms(this.timeout.total, 'total');
    const connect = ms(this.timeout.connect, 'connect');
    ms(this.timeout.sockRead, 'sockRead');
    this.raise = bool(options.raiseForStatus, 'raiseForStatus') ?? false;
    this.decompress = bool(options.autoDecompress, 'autoDecompress') ?? true;
    this.maxDecompressSize = maxDecompressSize;
    this.limit = limit;
    this.perHost = perHost;
    this.limiter = limit === 0 ? null : new Semaphore(limit);
    this.agent = new Agent({
      // The slot goes back when a body ends, a moment before undici counts its connection free:
      // uncapped, the pool would open a new one for the next request (2 × limit in all).
      connections:
        perHost === 0 ? (limit === 0 ? null : limit) : Math.min(perHost, limit || perHost),
      connect: connect === null ? {} : { timeout: connect },
      // Off: undici's defaults (300 s) would cut a long `total`, and its clock is too coarse
      // for `sockRead` (see sock-read-timer.ts); weft's own timers bound the wait.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    if (options.cookies) this.cookieJar.updateCookies(options.cookies);
  }

  get closed(): boolean {
    return this._closed;
  }

  get(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('GET', url, options);
  }
  post(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('POST', url, options);
  }
  put(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('PUT', url, options);
  }
  patch(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('PATCH', url, options);
  }
  delete(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    return this.request('DELETE', url, options);
  }
  head(url: string | URL, options?: RequestOptions): Promise<ClientResponse> {
    // Not followed by default, as aiohttp's head(). Options that are not an object are
    // request()'s to refuse.
    if (options === undefined || options === null) options = {};
    if (typeof options !== 'object' || Array.isArray(options))
      return this.request('HEAD', url, options);
    return this.request('HEAD', url, {
      ...options,
      allowRedirects: options.allowRedirects ?? false,
    });
  }

  /**
   * Opens a WebSocket (aiohttp's `ws_connect`): the handshake is a GET with the session's
   * `baseUrl`, headers and cookies, and holds a connection slot under `limit` and
   * `limitPerHost` until the WebSocket closes. `ws:`/`wss:` URLs are taken as `http:`/`https:`.
   *
   * **Cancellation:** cancelling the calling task, aborting `signal`, or the session's
   * `timeout.total` passing aborts the handshake; once open, the WebSocket is the caller's
   * until it is closed (or the session is).
   * @throws {WSServerHandshakeError} the server answered other than a valid 101.
   *   {ClientConnectorError} cannot connect. {TimeoutError} `timeout.total` passed.
   *   {CancelledError} {RuntimeError} the session is closed. {TypeError} an option of the wrong
   *   type or unknown. {RangeError} a bad number, a subprotocol that is not a token or comes
   *   twice, a header the handshake sets itself.
   */
  wsConnect(
    url: string | URL,
    options: WSConnectOptions | null = {},
  ): Promise<ClientWebSocketResponse> {
    if (this._closed) {
      return Promise.reject(new RuntimeError('Session is closed', 'ERR_WEFT_SESSION_CLOSED'));
    }
    return connectWebSocket(this, url, options ?? {});
  }

  /**
   * @internal The request a WebSocket handshake is: `url` resolved as a request's, and the
   * headers a request would carry (weft's defaults, the session's, the caller's, the jar's
   * cookies, URL credentials as Basic auth), by lower-cased name and as they go out.
   */
  _handshakeRequest(
    url: string | URL,
    params: RequestOptions['params'],
    headers: RequestHeaders | undefined,
  ): { target: URL; headers: Record<string, string>; spelt: Record<string, string> } {
    const target = this.resolveUrl(url, params);
    const givenNames = new Map<string, string>();
    const given = headerRecord(headers, 'headers', givenNames);
    const urlAuth = takeCredentials(target);
    if (urlAuth !== null && ('authorization' in this.headers || 'authorization' in given)) {
      throw new RangeError(
        'Cannot combine an Authorization header with credentials encoded in the URL',
      );
    }
    const h: Record<string, string> = { ...DEFAULT_HEADERS, ...this.headers, ...given };
    if (urlAuth !== null) h.authorization = urlAuth;
    const cookies = this.cookieJar.filterCookies(target);
    if (cookies.size > 0) h.cookie = mergeCookies(h.cookie, cookies);
    return { target, headers: h, spelt: spelt(h, givenNames, this.headerNames) };
  }

  /**
   * @internal A connection slot to `origin` under `limitPerHost` then `limit`, waited for within
   * the session's `connect` timeout, for a WebSocket's lifetime; resolves to its release (which
   * may be called more than once).
   */
  async _connectionSlot(origin: string, signal: AbortSignal): Promise<() => void> {
    const connect = ms(this.timeout.connect, 'connect');
    const deadline = connect !== null && connect > 0 ? performance.now() + connect : null;
    let entry: HostSlots | null = null;
    if (this.perHost > 0) {
      entry = this.hostEntry(origin);
      try {
        await this.takeSlot(entry.sem, signal, deadline, connect, `limitPerHost ${this.perHost}`);
      } catch (e) {
        this.leaveHost(origin, entry);
        throw e;
      }
    }
    const dropHost = (): void => {
      if (entry === null) return;
      entry.sem.release();
      this.leaveHost(origin, entry);
    };
    if (this.limiter !== null) {
      try {
        await this.takeSlot(this.limiter, signal, deadline, connect, `limit ${this.limit}`);
      } catch (e) {
        dropHost();
        throw e;
      }
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.limiter?.release();
      dropHost();
    };
  }

  /** @internal The session's `timeout.connect` in ms, or null for none. */
  _connectTimeout(): number | null {
    const connect = ms(this.timeout.connect, 'connect');
    return connect === null || connect === 0 ? null : connect;
  }

  /** @internal The session's `timeout.total` in ms, or null for none. */
  _totalTimeout(): number | null {
    const total = ms(this.timeout.total, 'total');
    return total === null || total === 0 ? null : total;
  }

  /**
   * @internal Registers a WebSocket (or its handshake) for the session's close(), which calls
   * `drop`; returns the call that unregisters it.
   */
  _adoptSocket(drop: () => void): () => void {
    this.sockets.add(drop);
    return () => this.sockets.delete(drop);
  }

  /**
   * Sends a request; resolves once the status and headers arrived.
   *
   * **Cancellation:** cancelling the calling task, aborting `signal`, or `timeout.total`
   * passing aborts the request and closes its connection.
   * @throws {ClientConnectorError} cannot connect. {ServerTimeoutError} `sockRead` passed.
   *   {TimeoutError} `total` passed. {ClientResponseError} with `raiseForStatus`, or status
   *   400 for a head that is not HTTP/1.1.
   *   {TooManyRedirects} {InvalidURL} {CancelledError} {RuntimeError} the session is closed.
   *   {TypeError} `url`, `method` or an option of the wrong type (options that are not an
   *   object, `allowRedirects` or `raiseForStatus` not a boolean, a `signal` that is not an
   *   AbortSignal, `data` or `params` that have no fields to send, `json` that has no JSON form,
   *   a header value that is not a string or a number, a `timeout` that is not an object).
   *   {RangeError} `data` with `json` (aiohttp's ValueError), a method that is not an HTTP
   *   token, a bad `maxRedirects` or timeout, a `params` value that is NaN or infinite, URL credentials
   *   with an `Authorization` header, a header that belongs to the connection
   *   (`Transfer-Encoding`, `Expect`, …) or a `Content-Length` that is not the body's.
   */
  async request(
    method: string,
    url: string | URL,
    options: RequestOptions | null = {},
  ): Promise<ClientResponse> {
    options ??= {};
    if (this._closed) throw new RuntimeError('Session is closed', 'ERR_WEFT_SESSION_CLOSED');
    checkOptions(options, 'request options', REQUEST_OPTIONS);
    if (typeof method !== 'string') {
      throw argumentError(`method must be a string`, method);
    }
    if (!TOKEN.test(method)) {
      throw new RangeError(`method must be an HTTP token: received ${JSON.stringify(method)}`);
    }
    method = method.toUpperCase();
    const maxRedirects = options.maxRedirects ?? 10;
    if (typeof maxRedirects !== 'number') {
      throw argumentError(`maxRedirects must be a number`, maxRedirects);
    }
    if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
      throw rangeError(`maxRedirects must be an integer >= 0`, maxRedirects);
    }
    const allowRedirects = bool(options.allowRedirects, 'allowRedirects') ?? true;
    const raiseForStatus = bool(options.raiseForStatus, 'raiseForStatus') ?? this.raise;
    if (
      options.signal !== undefined &&
      options.signal !== null &&
      !(options.signal instanceof AbortSignal)
    ) {
      throw argumentError('signal must be an AbortSignal', options.signal);
    }
    let target = this.resolveUrl(url, options.params);
    const givenNames = new Map<string, string>();
    const given = headerRecord(options.headers, 'headers', givenNames);
    // Credentials in the URL become Basic auth, as aiohttp's (undici would drop them): never
    // along with an Authorization header, which one to send being unclear.
    let urlAuth = takeCredentials(target);
    if (urlAuth !== null && ('authorization' in this.headers || 'authorization' in given)) {
      throw new RangeError(
        'Cannot combine an Authorization header with credentials encoded in the URL',
      );
    }
    const firstUrl = target.href;
    const timeout = { ...this.timeout, ...timeoutObject(options.timeout, 'timeout') };
    const total = ms(timeout.total, 'total');
    const sockRead = ms(timeout.sockRead, 'sockRead');
    const signals: AbortSignal[] = [];
    const controller = new AbortController();
    signals.push(controller.signal);
    if (options.signal) signals.push(options.signal);
    const task = currentTask();
    if (task !== null) signals.push(task.signal);
    const signal = signals.length === 1 ? controller.signal : AbortSignal.any(signals);
    let timer: NodeJS.Timeout | null = null;
    if (total !== null && total > 0) {
      timer = setTimeout(() => controller.abort(new TotalTimeout()), total);
    }
    const clear = (): void => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    };
    // As in aiohttp, `connect` also bounds each wait for a free slot (under `limitPerHost`, then
    // under `limit`): it is the time to get a connection, from the pool or a new one.
    const connect = ms(timeout.connect, 'connect');
    // The origin whose `limitPerHost` slot this request holds. The host's slot is taken before
    // the session's, so a request waiting for a busy host holds no slot another host could use.
    let host: string | null = null;
    // One deadline for a hop's waits, the host's then the session's (aiohttp's connect timeout
    // covers getting the connection, however many waits that takes).
    let slotDeadline: number | null = null;
    const takeHost = async (origin: string): Promise<void> => {
      if (this.perHost === 0) return;
      const entry = this.hostEntry(origin);
      try {
        await this.takeSlot(
          entry.sem,
          signal,
          slotDeadline,
          connect,
          `limitPerHost ${this.perHost}`,
        );
      } catch (e) {
        this.leaveHost(origin, entry);
        throw e;
      }
      host = origin;
    };
    const dropHost = (): void => {
      if (host === null) return;
      const entry = this.hosts.get(host) as HostSlots;
      entry.sem.release();
      this.leaveHost(host, entry);
      host = null;
    };
    let holding = false;
    /** The slots of a hop to `origin`: its host's, then the session's, under one deadline. */
    const takeSlots = async (origin: string): Promise<void> => {
      slotDeadline = connect !== null && connect > 0 ? performance.now() + connect : null;
      await takeHost(origin);
      if (this.limiter !== null) {
        await this.takeSlot(this.limiter, signal, slotDeadline, connect, `limit ${this.limit}`);
        holding = true;
      }
    };
    const giveSlots = (): void => {
      if (holding) {
        holding = false;
        this.limiter?.release();
      }
      dropHost();
    };
    const releaseSlot = (): void => {
      clear();
      giveSlots();
    };
    try {
      await takeSlots(target.origin);
    } catch (e) {
      releaseSlot();
      throw e;
    }
    try {
      let { headers, body } = await this.buildBody(options);
      const history: ClientResponse[] = [];
      // Set once a redirect left the origin the credentials were given for.
      let leftOrigin = false;
      // Set once a redirect turned the request into a GET without its body.
      let bodyDropped = false;
      for (;;) {
        const h: Record<string, string> = { ...DEFAULT_HEADERS, ...this.headers, ...given };
        // The body's default Content-Type only where the caller gave none (aiohttp too).
        for (const [k, v] of Object.entries(headers)) if (!(k in h)) h[k] = v;
        if (leftOrigin) {
          // The caller's credentials were for the first origin: aiohttp drops the same three
          // (the jar's cookies still go where their domain matches).
          delete h.authorization;
          delete h.cookie;
          delete h['proxy-authorization'];
        }
        if (urlAuth !== null) h.authorization = urlAuth;
        // The caller's Content-Length was the dropped body's (aiohttp pops it there too).
        if (bodyDropped) delete h['content-length'];
        checkTransportHeaders(h, body);
        const cookies = this.cookieJar.filterCookies(target);
        if (cookies.size > 0) h.cookie = mergeCookies(h.cookie, cookies);
        const sent: RequestInfo = { url: target, method, headers: new Headers(h), realUrl: target };
        let r: Dispatcher.ResponseData;
        const via =
          sockRead !== null && sockRead > 0 ? withSockRead(this.agent, sockRead) : this.agent;
        try {
          r = await via.request({
            origin: target.origin,
            path: target.pathname + target.search,
            method: method as Dispatcher.HttpMethod,
            headers: spelt(h, givenNames, this.headerNames),
            body: body as Dispatcher.DispatchOptions['body'],
            signal,
          });
        } catch (e) {
          if (
            !signal.aborted &&
            (e instanceof undiciErrors.HTTPParserError ||
              e instanceof undiciErrors.HeadersOverflowError)
          ) {
            // A head that is not HTTP/1.1 (a bad status line or header, headers too large):
            // aiohttp's ClientResponseError with status 400 and the parser's words.
            throw new ClientResponseError({
              status: 400,
              message: (e as Error).message,
              headers: null,
              url: target.href,
              method,
              requestInfo: sent,
              history: [...history],
            });
          }
          throw this._mapError(signal.aborted ? signal.reason : e);
        }
        const resHeaders = toHeaders(r.headers);
        const setCookies = resHeaders.getSetCookie();
        if (setCookies.length > 0) this.cookieJar.updateCookies(setCookies, target);
        const status = r.statusCode;
        const location = resHeaders.get('location');
        const isRedirect =
          (status === 301 ||
            status === 302 ||
            status === 303 ||
            status === 307 ||
            status === 308) &&
          location !== null;
        // 303 (but for HEAD), and 301/302 after a POST, go on as a GET without the body.
        const toGet =
          (status === 303 && method !== 'HEAD') ||
          ((status === 301 || status === 302) && method === 'POST');
        // A streamed body has been consumed: a hop that would send it again is not followed
        // (the 3xx response is the answer); aiohttp would send it again empty.
        const replayable =
          toGet || !(body !== null && typeof body === 'object' && Symbol.asyncIterator in body);
        if (isRedirect && allowRedirects && replayable) {
          const resp = new ClientResponse(
            {
              status,
              reason: r.statusText,
              headers: resHeaders,
              method,
              url: target,
              history: [],
              requestInfo: sent,
              body: r.body,
            },
            noOwner,
          );
          resp.release();
          history.push(resp);
          if (history.length > maxRedirects) {
            // As aiohttp's, it names the request that started the chain.
            throw new TooManyRedirects({
              status,
              message: 'Too many redirects',
              headers: resHeaders,
              url: firstUrl,
              method,
              // As aiohttp's: the first request, and every redirect response.
              requestInfo: history[0]?.requestInfo ?? sent,
              history: [...history],
            });
          }
          let next: URL;
          try {
            next = new URL(location as string, target);
          } catch (e) {
            throw new InvalidURL(location as string, { cause: e });
          }
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            throw new InvalidURL(next.href);
          }
          if (toGet) {
            method = 'GET';
            body = null;
            headers = {};
            bodyDropped = true;
          }
          // Credentials are not forwarded to another origin, whichever headers (the session's
          // or the request's, in any case) gave them — nor brought back by a later hop.
          if (next.origin !== target.origin) {
            leftOrigin = true;
            urlAuth = null;
          }
          urlAuth = takeCredentials(next) ?? urlAuth;
          if (next.origin !== target.origin && this.perHost > 0) {
            // Another host: both slots go back and are taken again in the usual order, host
            // first. Waiting for the new host while holding a session slot could deadlock
            // with requests that hold that host's slots and wait for a session slot.
            giveSlots();
            await takeSlots(next.origin);
          }
          target = next;
          continue;
        }
        // HEAD, 204 and 304 carry no content whatever their headers say (RFC 9110 §6.4.1);
        // Content-Length: 0 says there is none.
        const noContent = method === 'HEAD' || status === 204 || status === 304;
        const empty = noContent || resHeaders.get('content-length') === '0';
        const resp = new ClientResponse(
          {
            status,
            reason: r.statusText,
            headers: resHeaders,
            method,
            url: target,
            history,
            requestInfo: sent,
            body: r.body as Readable,
            empty,
            noContent,
            decompress: this.decompress,
            maxDecompressSize: this.maxDecompressSize,
          },
          this,
        );
        this.open.set(resp, releaseSlot);
        signal.addEventListener('abort', () => resp._letGo(), { once: true });
        // Nothing is left to read: the connection and the `limit` slot go back now, and the
        // body still reads as empty.
        if (empty) resp._letGo();
        if (raiseForStatus) resp.raiseForStatus();
        return resp;
      }
    } catch (e) {
      releaseSlot();
      throw e;
    }
  }

  /**
   * A slot of `sem`, waiting until `deadline` (`performance.now()` ms; null: no bound) when none
   * is free; `connect` is what the error reports.
   * @throws {ClientConnectorError} the deadline passed. The mapped abort reason when `signal` aborts.
   */
  private async takeSlot(
    sem: Semaphore,
    signal: AbortSignal,
    deadline: number | null,
    connect: number | null,
    what: string,
  ): Promise<void> {
    const timedOut = (): ClientConnectorError =>
      new ClientConnectorError(
        `Timeout waiting for a free connection: ${what} reached for ${connect} ms`,
      );
    const bounded = deadline !== null && sem.locked();
    if (bounded && deadline - performance.now() <= 0) throw timedOut();
    const waiting = bounded ? new AbortController() : null;
    const waitTimer =
      waiting === null
        ? null
        : setTimeout(
            () => waiting.abort(new PoolTimeout()),
            (deadline as number) - performance.now(),
          );
    try {
      await sem.acquire({
        signal: waiting === null ? signal : AbortSignal.any([signal, waiting.signal]),
      });
    } catch (e) {
      if (waiting?.signal.aborted && !signal.aborted) throw timedOut();
      throw this._mapError(signal.aborted ? signal.reason : e);
    } finally {
      if (waitTimer !== null) clearTimeout(waitTimer);
    }
  }

  /** The `limitPerHost` slots of `origin`, counted as used by one more request. */
  private hostEntry(origin: string): HostSlots {
    let entry = this.hosts.get(origin);
    if (entry === undefined) {
      entry = { sem: new Semaphore(this.perHost), users: 0 };
      this.hosts.set(origin, entry);
    }
    entry.users++;
    return entry;
  }

  /** One request less uses `origin`'s slots; the last one's leaving forgets them. */
  private leaveHost(origin: string, entry: HostSlots): void {
    if (--entry.users === 0) this.hosts.delete(origin);
  }

  /** @internal */
  _released(response: ClientResponse): void {
    const release = this.open.get(response);
    if (release === undefined) return;
    this.open.delete(response);
    release();
  }

  /** @internal undici's errors, aborts and timeouts → aiohttp's classes. */
  _mapError(e: unknown, inBody = false): unknown {
    if (inBody && e instanceof undiciErrors.HTTPParserError) {
      // The body is not what its framing says (a chunk size that is no number).
      return new ClientPayloadError(`Response payload is not valid HTTP/1.1: ${e.message}`, {
        cause: e,
      });
    }
    if (inBody && isCut(e)) {
      // aiohttp's answer to a body the server stopped sending before its end (connection
      // closed, or fewer bytes than its Content-Length): the exchange had begun, the payload
      // is what failed.
      return new ClientPayloadError('Response payload is not completed', { cause: e });
    }
    if (e instanceof TotalTimeout) return new TimeoutError('The request exceeded timeout.total');
    if (e instanceof CancelledError || e instanceof ClientError || e instanceof TimeoutError)
      return e;
    if (e instanceof SockReadTimeout) {
      return new ServerTimeoutError('Timeout on reading data from socket', { cause: e });
    }
    if (e instanceof undiciErrors.ConnectTimeoutError) {
      return new ClientConnectorError('Timeout connecting to the server', { cause: e });
    }
    if (e instanceof undiciErrors.RequestAbortedError || (e as Error)?.name === 'AbortError') {
      return e;
    }
    const code = (e as NodeJS.ErrnoException)?.code;
    if (
      code === 'ECONNREFUSED' ||
      code === 'ENOTFOUND' ||
      code === 'EAI_AGAIN' ||
      code === 'EHOSTUNREACH' ||
      code === 'ENETUNREACH'
    ) {
      return new ClientConnectorError(`Cannot connect: ${(e as Error).message}`, { cause: e });
    }
    if (e instanceof undiciErrors.SocketError || code === 'ECONNRESET' || code === 'EPIPE') {
      return new ServerDisconnectedError(`Server disconnected: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (
      e instanceof undiciErrors.ClientDestroyedError ||
      e instanceof undiciErrors.ClientClosedError
    ) {
      // close() was called while this exchange was still running.
      return new ClientConnectionError(
        'Connection closed: the session was closed',
        'ERR_WEFT_CLIENT_CONNECTION',
        { cause: e },
      );
    }
    if (e instanceof undiciErrors.ResponseContentLengthMismatchError) {
      return new ClientPayloadError('The response body ended early', { cause: e });
    }
    if (e instanceof undiciErrors.RequestContentLengthMismatchError) {
      // A streamed body that is not as long as the caller's Content-Length says.
      return new RangeError(
        'The request body is not as long as its Content-Length header says: it was not sent whole',
        { cause: e },
      );
    }
    if (
      e instanceof undiciErrors.InvalidArgumentError ||
      e instanceof undiciErrors.NotSupportedError
    ) {
      // What undici refuses to send (checkTransportHeaders catches the known cases first).
      return new RangeError(`Cannot send this request: ${(e as Error).message}`, { cause: e });
    }
    return e;
  }

  /** Releases open responses and closes every pooled connection. Idempotent. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    for (const r of [...this.open.keys()]) r._letGo();
    for (const drop of [...this.sockets]) drop();
    await this.agent.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private resolveUrl(url: string | URL, params: RequestOptions['params']): URL {
    // `new URL(null, base)` would be base + "/null": refuse what is not a URL (aiohttp too).
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw argumentError(`url must be a string or a URL`, url);
    }
    let u: URL;
    try {
      u = this.baseUrl !== null ? new URL(url, this.baseUrl) : new URL(url);
    } catch (e) {
      throw new InvalidURL(String(url), { cause: e });
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidURL(u.href);
    if (params !== undefined && params !== null) {
      const extra =
        typeof params === 'string' || params instanceof URLSearchParams
          ? new URLSearchParams(params)
          : new URLSearchParams(fields(params, 'params'));
      for (const [k, v] of extra) u.searchParams.append(k, v);
    }
    return u;
  }

  private async buildBody(o: RequestOptions): Promise<{
    headers: Record<string, string>;
    body: string | Uint8Array | AsyncIterable<Uint8Array> | null;
  }> {
    // `null` is none, for both (as aiohttp's `data=None`, `json=None`: no body then).
    const json = o.json ?? undefined;
    if (json !== undefined && o.data !== undefined && o.data !== null) {
      // aiohttp's ValueError, in its words.
      throw new RangeError('data and json parameters can not be used at the same time');
    }
    if (json !== undefined) {
      const text: string | undefined = JSON.stringify(json);
      // A function or a symbol has no JSON (aiohttp's json.dumps raises TypeError): no body at
      // all would go out labelled application/json.
      if (text === undefined) throw argumentError('json must be serialisable as JSON', json);
      return { headers: { 'content-type': 'application/json' }, body: text };
    }
    const d = o.data;
    if (d === undefined || d === null) return { headers: {}, body: null };
    if (typeof d === 'string') {
      return { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: d };
    }
    if (d instanceof Uint8Array) {
      return { headers: { 'content-type': 'application/octet-stream' }, body: d };
    }
    // Other bytes-like objects are bytes too, as aiohttp sends a bytearray or a memoryview.
    if (ArrayBuffer.isView(d)) {
      return {
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from(d.buffer, d.byteOffset, d.byteLength),
      };
    }
    if (d instanceof ArrayBuffer || d instanceof SharedArrayBuffer) {
      return { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(d) };
    }
    if (d instanceof URLSearchParams) {
      return {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: d.toString(),
      };
    }
    if (d instanceof FormData) {
      // The platform encodes multipart (boundary and all); the bytes are then replayable.
      const r = new globalThis.Response(d);
      const type = r.headers.get('content-type') as string;
      return { headers: { 'content-type': type }, body: Buffer.from(await r.arrayBuffer()) };
    }
    if (typeof d !== 'object') {
      throw argumentError(
        `data must be a string, bytes, form fields, FormData or an async iterable of bytes`,
        d,
      );
    }
    if (Symbol.asyncIterator in d) {
      // Bytes of no known kind, as aiohttp labels a streamed body.
      return {
        headers: { 'content-type': 'application/octet-stream' },
        body: d as AsyncIterable<Uint8Array>,
      };
    }
    // Form fields are a plain object or a list of pairs: another object (a Map, a Blob, a class
    // instance) has no own fields to send, and would go out as an empty form.
    if (!Array.isArray(d) && !isPlainObject(d)) {
      throw argumentError(
        `data must be a string, bytes, form fields (a plain object, a list of pairs or URLSearchParams), FormData or an async iterable of bytes`,
        d,
      );
    }
    const form = new URLSearchParams(fields(d as Record<string, FieldValue>, 'data'));
    return {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    };
  }
}

/**
 * Headers as one lower-cased name → value record: several values of a name joined as one
 * field (`, `; `; ` for Cookie), `undefined` values left out.
 * @throws {TypeError} not an object, a pair that is not `[name, value]`, a name that is not a
 *   string, or a value that is not a string or a number (aiohttp's TypeError).
 */
function headerRecord(
  input: RequestHeaders | undefined | null,
  what: string,
  names?: Map<string, string>,
): Record<string, string> {
  // No prototype: a header named `constructor` or `__proto__` is a name like any other.
  const out: Record<string, string> = Object.create(null);
  if (input === undefined || input === null) return out;
  if (typeof input !== 'object') {
    throw argumentError(
      `${what} must be an object, a Headers or a list of [name, value] pairs`,
      input,
    );
  }
  const pairs: Iterable<unknown> =
    Symbol.iterator in input ? (input as Iterable<unknown>) : Object.entries(input);
  for (const pair of pairs) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw argumentError(`${what} pairs must be [name, value]`, pair);
    }
    const [k, v] = pair as [unknown, unknown];
    if (typeof k !== 'string') throw argumentError(`${what} names must be strings`, k);
    const name = k.toLowerCase();
    if (names !== undefined && !names.has(name)) names.set(name, k);
    for (const x of Array.isArray(v) ? v : [v]) {
      if (x === undefined) continue;
      if (typeof x !== 'string' && typeof x !== 'number') {
        throw new TypeError(
          `${what} values must be strings or numbers: received ${describeValue(x)} for ${JSON.stringify(k)}`,
        );
      }
      const value = String(x);
      const had = out[name];
      out[name] = had === undefined ? value : `${had}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return out;
}

/**
 * The headers to send, named as the caller spelt them (the request's spelling over the
 * session's), and weft's own in their usual case (`Accept-Encoding`), as aiohttp sends them:
 * HTTP names are case-insensitive, but some servers and signing schemes are not so forgiving.
 */
function spelt(
  h: Record<string, string>,
  ...spellings: Map<string, string>[]
): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(h)) {
    let name: string | undefined;
    for (const names of spellings) {
      name = names.get(k);
      if (name !== undefined) break;
    }
    out[
      name ?? k.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
    ] = v;
  }
  return out;
}

/**
 * Refuses the headers that belong to the connection, which undici writes itself and will not
 * take from the caller (aiohttp sends them as given, `Transfer-Encoding: chunked` beside a
 * `Content-Length` and an unchunked body, a malformed request): a `RangeError` before anything
 * is sent, rather than undici's own error classes. A `Content-Length` must be a number of bytes,
 * and that of a body of known length (`body` not streamed; null for the session's headers).
 * @throws {RangeError}
 */
function checkTransportHeaders(
  h: Record<string, string>,
  body: string | Uint8Array | AsyncIterable<Uint8Array> | null,
): void {
  for (const name of ['transfer-encoding', 'keep-alive', 'upgrade', 'expect']) {
    if (h[name] === undefined) continue;
    const why =
      name === 'transfer-encoding'
        ? ' (a body given as an async iterable is sent chunked)'
        : name === 'expect'
          ? ' (Expect: 100-continue is not supported)'
          : '';
    throw new RangeError(
      `The ${name} header belongs to the connection and cannot be given${why}: received ${JSON.stringify(h[name])}`,
    );
  }
  const connection = h.connection;
  if (connection !== undefined) {
    for (const part of connection.split(',')) {
      const token = part.trim();
      if (!TOKEN.test(token)) {
        throw new RangeError(
          `The connection header takes a list of tokens such as close or keep-alive: received ${JSON.stringify(connection)}`,
        );
      }
    }
  }
  const length = h['content-length'];
  if (length === undefined) return;
  if (!/^\d+$/.test(length)) {
    throw new RangeError(
      `The content-length header must be a number of bytes: received ${JSON.stringify(length)}`,
    );
  }
  const size =
    typeof body === 'string'
      ? Buffer.byteLength(body)
      : body instanceof Uint8Array
        ? body.byteLength
        : body === null
          ? null
          : undefined;
  if (size !== undefined && size !== null && Number(length) !== size) {
    throw new RangeError(`The content-length header says ${length} but the body has ${size} bytes`);
  }
  // Without a body undici would send 0 in its place (or drop it), and the server that believed
  // the header would wait for bytes that never come.
  if (size === null && Number(length) !== 0) {
    throw new RangeError(`The content-length header says ${length} but there is no body`);
  }
}

/**
 * The option names each object takes (`satisfies`: a name added to the interface and not here
 * fails to compile). A name that is not one of them would be dropped without a word — a Python
 * habit such as `allow_redirects` or `ssl` doing nothing — where aiohttp raises TypeError for an
 * unexpected keyword argument.
 */
const SESSION_OPTIONS = new Set(
  Object.keys({
    baseUrl: 1,
    headers: 1,
    cookies: 1,
    cookieJar: 1,
    limit: 1,
    limitPerHost: 1,
    timeout: 1,
    raiseForStatus: 1,
    autoDecompress: 1,
    maxDecompressSize: 1,
  } satisfies Record<keyof ClientSessionOptions, 1>),
);
const REQUEST_OPTIONS = new Set(
  Object.keys({
    params: 1,
    headers: 1,
    data: 1,
    json: 1,
    allowRedirects: 1,
    maxRedirects: 1,
    timeout: 1,
    raiseForStatus: 1,
    signal: 1,
  } satisfies Record<keyof RequestOptions, 1>),
);
const TIMEOUT_OPTIONS = new Set(
  Object.keys({ total: 1, connect: 1, sockRead: 1 } satisfies Record<keyof ClientTimeout, 1>),
);

/**
 * Options must be an object (a string or a number would be read as no options at all) whose own
 * names are all in `known`.
 * @throws {TypeError} not an object, or a name `known` lacks (named, with the camelCase name when
 *   it is a snake_case spelling of one).
 */
export function checkOptions(o: unknown, what: string, known: ReadonlySet<string>): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw argumentError(`${what} must be an object`, o);
  }
  for (const name of Object.keys(o)) {
    if (known.has(name)) continue;
    const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = camel !== name && known.has(camel) ? ` (did you mean '${camel}'?)` : '';
    throw new TypeError(
      `${what}: unknown option '${name}'${hint}; the options are ${[...known].join(', ')}`,
    );
  }
}

/**
 * A boolean option, or undefined when not given (`null` too, as every option of `null`).
 * @throws {TypeError} anything else: `allowRedirects: 'no'` would have counted as true.
 */
export function bool(v: unknown, name: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw argumentError(`${name} must be a boolean`, v);
  return v;
}

/**
 * The session's `baseUrl`, checked: an absolute http(s) URL whose path ends in `/`, with no
 * query or fragment. aiohttp 3.8 takes an origin only (AssertionError otherwise); 3.10 takes a
 * path that ends in `/` (ValueError otherwise) and joins by RFC 3986, as `new URL(url, base)`
 * does. A base path without its `/` would be dropped by that join (`http://h/api` + `x` is
 * `http://h/x`), and a query or fragment would be dropped from every request: refused.
 * @throws {TypeError} not a string or a URL. {InvalidURL} not an absolute http(s) URL.
 *   {RangeError} a path that does not end in `/`, a query or a fragment.
 */
function checkBaseUrl(base: unknown): URL {
  if (typeof base !== 'string' && !(base instanceof URL)) {
    throw argumentError('baseUrl must be a string or a URL', base);
  }
  let u: URL;
  try {
    u = new URL(base);
  } catch (e) {
    throw new InvalidURL(String(base), { cause: e });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidURL(u.href);
  if (!u.pathname.endsWith('/')) {
    throw new RangeError(
      `baseUrl must have a trailing '/' (a relative URL would replace its last segment): received ${JSON.stringify(u.href)}`,
    );
  }
  if (u.search !== '' || u.hash !== '') {
    throw new RangeError(
      `baseUrl cannot have a query or a fragment (a relative URL would drop them; give params instead): received ${JSON.stringify(u.href)}`,
    );
  }
  return u;
}

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Form fields or query parameters (an object or a list of pairs) as string pairs. An object's
 * value that is an array gives one pair per element (yarl's `with_query({'a': [1, 2]})`).
 */
function fields(
  src: Record<string, FieldValue> | [string, string | number][],
  what: string,
): [string, string][] {
  if (!Array.isArray(src) && !isPlainObject(src)) {
    // A Map, a number or a class instance has no own fields: it would send none.
    throw argumentError(
      `${what} must be a plain object, a list of [name, value] pairs, a URLSearchParams or a string`,
      src,
    );
  }
  const out: [string, string][] = [];
  const add = (k: unknown, v: unknown): void => {
    // aiohttp takes str/int/float query values only (None or a bool would be sent as
    // "null"/"true"), and sends form values as their text.
    if (what === 'params' && typeof v !== 'string' && typeof v !== 'number') {
      throw new TypeError(
        `${what} values must be strings or numbers: received ${describeValue(v)} for ${JSON.stringify(String(k))}`,
      );
    }
    // yarl refuses float('nan') and float('inf') (ValueError): no server reads "NaN" as a number.
    if (what === 'params' && typeof v === 'number' && !Number.isFinite(v)) {
      throw new RangeError(
        `${what} values must be finite numbers: received ${String(v)} for ${JSON.stringify(String(k))}`,
      );
    }
    out.push([String(k), String(v)]);
  };
  if (Array.isArray(src)) {
    for (const pair of src) {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw argumentError(`${what} pairs must be [name, value]`, pair);
      }
      add(pair[0], pair[1]);
    }
  } else {
    for (const [k, v] of Object.entries(src)) {
      if (Array.isArray(v)) for (const x of v) add(k, x);
      else add(k, v);
    }
  }
  return out;
}

/**
 * Removes the user and password from `u` and gives them as a Basic `Authorization` value
 * (UTF-8), or null when it has none.
 */
function takeCredentials(u: URL): string | null {
  if (u.username === '' && u.password === '') return null;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const pair = `${decode(u.username)}:${decode(u.password)}`;
  u.username = '';
  u.password = '';
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}

/**
 * The `Cookie` header: the caller's own cookies, then the jar's (the jar's value wins a name
 * both have, as aiohttp merges them).
 */
function mergeCookies(given: string | undefined, jar: Map<string, string>): string {
  const out = new Map<string, string>();
  for (const part of cookiePairs(given ?? '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  for (const [k, v] of jar) out.set(k, v);
  return [...out].map(([k, v]) => `${k}=${headerBytes(v)}`).join('; ');
}

/** The `name=value` pairs of a Cookie header: a `;` inside a quoted value does not end it. */
function cookiePairs(header: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const ch = header[i];
    if (ch === '\\' && quoted) i++;
    else if (ch === '"') quoted = !quoted;
    else if (ch === ';' && !quoted) {
      parts.push(header.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(header.slice(start));
  return parts;
}

/**
 * A value with characters beyond Latin-1 (a cookie given as `{ e: '€' }`), as its UTF-8 bytes:
 * aiohttp sends its headers as UTF-8, and a header value here is a string of bytes (one that is
 * not would make every request of the session fail).
 */
function headerBytes(v: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the Latin-1 range, not a control character test
  return /[^\u0000-\u00ff]/.test(v) ? Buffer.from(v, 'utf8').toString('latin1') : v;
}

function isCut(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return (
    e instanceof undiciErrors.SocketError ||
    e instanceof undiciErrors.ResponseContentLengthMismatchError ||
    code === 'ECONNRESET' ||
    code === 'EPIPE'
  );
}

const noOwner: ResponseOwner = {
  _released() {},
  _mapError: (e) => e,
};

export function toHeaders(raw: IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) h.append(k, x);
    else h.append(k, String(v));
  }
  return h;
}
