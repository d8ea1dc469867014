/**
 * `session.wsConnect(url, options)`: the WebSocket handshake of a ClientSession (aiohttp's
 * `ws_connect`).
 *
 * Implementation notes
 * --------------------
 * The handshake and the framing are the `ws` package's client, which weft's server side uses
 * already (the `ws` server), so both ends share one implementation of masking, fragments, close
 * handshakes and size limits. undici's WebSocket was the other candidate: it is the WHATWG
 * browser API — no ping or pong to send, no pause of the socket (back pressure), no size limit,
 * no hold on the answer to a close frame — which aiohttp's client needs. The request the
 * handshake sends is built by the session (`_handshakeRequest`: its base URL, headers, cookies,
 * URL credentials), as for any request; `ws` adds the key, version and upgrade headers.
 *
 * Where `ws` and aiohttp differ, aiohttp is followed:
 *
 * - `ws` fails a handshake whose 101 names no subprotocol when some were offered, or one not
 *   offered; aiohttp takes either (`protocol` is then null). The offer goes out as weft's own
 *   header, and the answer's is read, and taken out, in the `upgrade` event, which `ws` emits
 *   before it checks the answer.
 * - A status other than 101 is `WSServerHandshakeError` (status, headers, "Invalid response
 *   status"); so is a 101 with a wrong `Upgrade`, `Connection` or `Sec-WebSocket-Accept`.
 * - No permessage-deflate offer (aiohttp's `compress=0`), `maxMsgSize` 4 MiB.
 *
 *   wsConnect ──► connection slot (limit, limitPerHost) ──► ws handshake ──► 'open' ──►
 *                      ▲ waits within timeout.connect            │             ClientWebSocketResponse
 *                      └── total / signal / task cancel abort ───┘             (holds the slot until
 *                                                                               the connection closes)
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ClientOptions } from 'ws';
import { currentTask } from '../asyncio/task.js';
import { argumentError, RuntimeError, rangeError, TimeoutError } from '../internal/errors.js';
import { MAX_TIMER as MAX_TIMER_MS } from '../internal/long-timer.js';
import type { ClientSession, RequestHeaders, RequestOptions } from './client-session.js';
import { bool, checkOptions, toHeaders } from './client-session.js';
import {
  ClientWebSocketResponse,
  type ClientWebSocketSettings,
  HeldCloseSocket,
} from './client-web-socket.js';
import { ClientConnectorError, type RequestInfo, WSServerHandshakeError } from './errors.js';

export interface WSConnectOptions {
  /** Subprotocols to offer, in order of preference; `ws.protocol` is the server's choice. */
  protocols?: readonly string[];
  /**
   * How long `close()` waits for the server's close frame, ms (default 10 000, aiohttp's
   * `timeout`; 0: no limit). The handshake itself is bounded by the session's `timeout.total`.
   */
  timeout?: number;
  /** Default `timeout` of every `receive()`, ms (default none). */
  receiveTimeout?: number | null;
  /** Answer the server's close frame at once (default true); false: at `close()`. */
  autoclose?: boolean;
  /** Answer pings and swallow pongs (default true); false: both reach `receive()`. */
  autoping?: boolean;
  /** Ping after this many ms without a frame; drop the connection when no answer within half of it. */
  heartbeat?: number | null;
  /** The `Origin` header. */
  origin?: string;
  /** Query parameters added to the URL, as a request's. */
  params?: RequestOptions['params'];
  /** Headers for the handshake request (the session's are sent too). */
  headers?: RequestHeaders;
  /** Largest message accepted, bytes (default 4 MiB, aiohttp's; 0: none); larger closes with 1009. */
  maxMsgSize?: number;
  /** Aborts the handshake (not the WebSocket once open). */
  signal?: AbortSignal;
}

const WS_OPTIONS = new Set(
  Object.keys({
    protocols: 1,
    timeout: 1,
    receiveTimeout: 1,
    autoclose: 1,
    autoping: 1,
    heartbeat: 1,
    origin: 1,
    params: 1,
    headers: 1,
    maxMsgSize: 1,
    signal: 1,
  } satisfies Record<keyof WSConnectOptions, 1>),
);

/**
 * Headers the handshake writes itself; a caller's would contradict them (the subprotocols go in
 * `protocols`). A handshake has no body either.
 */
const HANDSHAKE_HEADERS = [
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'content-length',
  'transfer-encoding',
  'expect',
];

/** RFC 9110's token: what a subprotocol name is made of. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The session's timeout.total ran out during the handshake. */
class HandshakeTimeout extends TimeoutError {}

/** @internal `session.wsConnect()`. */
export async function connectWebSocket(
  session: ClientSession,
  url: string | URL,
  options: WSConnectOptions,
): Promise<ClientWebSocketResponse> {
  checkOptions(options, 'wsConnect options', WS_OPTIONS);
  const protocols = checkProtocols(options.protocols);
  const closeTimeout = msOption(options.timeout, 'timeout') ?? 10_000;
  const receiveTimeout = msOption(options.receiveTimeout, 'receiveTimeout');
  const heartbeat = msOption(options.heartbeat, 'heartbeat');
  const maxMsgSize = options.maxMsgSize ?? 4 * 1024 * 1024;
  if (typeof maxMsgSize !== 'number')
    throw argumentError('maxMsgSize must be a number', maxMsgSize);
  if (!Number.isInteger(maxMsgSize) || maxMsgSize < 0) {
    throw rangeError('maxMsgSize must be an integer number of bytes >= 0', maxMsgSize);
  }
  if (
    options.signal !== undefined &&
    options.signal !== null &&
    !(options.signal instanceof AbortSignal)
  ) {
    throw argumentError('signal must be an AbortSignal', options.signal);
  }
  if (
    options.origin !== undefined &&
    options.origin !== null &&
    typeof options.origin !== 'string'
  ) {
    throw argumentError('origin must be a string', options.origin);
  }
  const settingsBase = {
    protocol: null,
    closeTimeout,
    receiveTimeout: receiveTimeout === 0 ? null : receiveTimeout,
    autoclose: bool(options.autoclose, 'autoclose') ?? true,
    autoping: bool(options.autoping, 'autoping') ?? true,
    // 0 is no heartbeat, as aiohttp's `heartbeat=None`.
    heartbeat: heartbeat === 0 ? null : heartbeat,
  };

  const req = session._handshakeRequest(asHttpUrl(url), options.params, options.headers);
  for (const name of HANDSHAKE_HEADERS) {
    if (req.headers[name] !== undefined) {
      throw new RangeError(
        `The ${name} header is the WebSocket handshake's own and cannot be given${name === 'sec-websocket-protocol' ? ' (offer subprotocols with protocols)' : ''}: received ${JSON.stringify(req.headers[name])}`,
      );
    }
  }
  const send: Record<string, string> = { ...req.spelt };
  if (protocols.length > 0) send['Sec-WebSocket-Protocol'] = protocols.join(',');
  if (typeof options.origin === 'string') send.Origin = options.origin;
  const target = req.target;
  const sentInfo: RequestInfo = {
    url: target,
    method: 'GET',
    headers: new Headers({
      ...req.headers,
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-version': '13',
      ...(protocols.length > 0 ? { 'sec-websocket-protocol': protocols.join(',') } : {}),
      ...(typeof options.origin === 'string' ? { origin: options.origin } : {}),
    }),
    realUrl: target,
  };

  // One signal for every way the handshake can be given up.
  const controller = new AbortController();
  const signals = [controller.signal];
  if (options.signal) signals.push(options.signal);
  const task = currentTask();
  if (task !== null) signals.push(task.signal);
  const signal = signals.length === 1 ? controller.signal : AbortSignal.any(signals);
  const total = session._totalTimeout();
  const timer =
    total === null
      ? null
      : setTimeout(
          () =>
            controller.abort(
              new HandshakeTimeout(`The WebSocket handshake exceeded timeout.total (${total} ms)`),
            ),
          total,
        );
  // The session's close() gives up a handshake under way too.
  const untrackHandshake = session._adoptSocket(() =>
    controller.abort(new RuntimeError('Session is closed', 'ERR_WEFT_SESSION_CLOSED')),
  );
  let release: (() => void) | null = null;
  try {
    release = await session._connectionSlot(target.origin, signal);
    const slot = release;
    return await handshake(
      session,
      target,
      send,
      protocols,
      maxMsgSize,
      sentInfo,
      signal,
      session._connectTimeout(),
      { ...settingsBase, release: slot },
    );
  } catch (e) {
    release?.();
    throw session._mapError(signal.aborted ? signal.reason : e);
  } finally {
    untrackHandshake();
    if (timer !== null) clearTimeout(timer);
  }
}

/**
 * Runs one handshake; resolves with the open WebSocket, built in the `open` event itself: `ws`
 * may deliver the first messages before a promise continuation would run.
 * @throws {WSServerHandshakeError} the answer is not a valid 101. The socket's error otherwise.
 */
function handshake(
  session: ClientSession,
  target: URL,
  headers: Record<string, string>,
  protocols: readonly string[],
  maxMsgSize: number,
  sentInfo: RequestInfo,
  signal: AbortSignal,
  connectTimeout: number | null,
  settings: ClientWebSocketSettings,
): Promise<ClientWebSocketResponse> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const closeTimeout = settings.closeTimeout;
  return new Promise((resolve, reject) => {
    const wsOptions: ClientOptions & { closeTimeout: number } = {
      headers,
      perMessageDeflate: false,
      maxPayload: maxMsgSize,
      autoPong: settings.autoping,
      followRedirects: false,
      // close()'s own timer bounds the close handshake; `ws`'s (an option @types/ws does not
      // list yet) must not cut it shorter.
      closeTimeout: closeTimeout === 0 ? MAX_TIMER_MS : Math.min(closeTimeout + 1000, MAX_TIMER_MS),
      // `ws` can bound only the whole handshake; the session's `timeout.connect` bounds the
      // connection itself, as for a request (a host that drops SYNs fails then, not at `total`).
      finishRequest: (request: ClientRequest) => {
        if (connectTimeout !== null) {
          request.once('socket', (s: Socket) =>
            boundConnect(s, target.protocol === 'https:', connectTimeout),
          );
        }
        request.end();
      },
    };
    const socket = new HeldCloseSocket(target.href, [], wsOptions);
    let failure: Error | null = null;
    let answer: IncomingMessage | null = null;
    let protocol: string | null = null;
    let settled = false;
    const refuse = (res: IncomingMessage, message: string): WSServerHandshakeError =>
      new WSServerHandshakeError({
        status: res.statusCode ?? 0,
        message,
        headers: toHeaders(res.headers),
        url: target.href,
        method: 'GET',
        requestInfo: sentInfo,
        history: [],
      });
    const storeCookies = (res: IncomingMessage): void => {
      const set = res.headers['set-cookie'];
      if (set !== undefined && set.length > 0) session.cookieJar.updateCookies(set, target);
    };
    const onAbort = (): void => socket.terminate();
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      settled = true;
      signal.removeEventListener('abort', onAbort);
    };
    socket.on('upgrade', (res: IncomingMessage) => {
      answer = res;
      storeCookies(res);
      const h = res.headers;
      if (String(h.upgrade ?? '').toLowerCase() !== 'websocket') {
        failure = refuse(res, 'Invalid upgrade header');
      } else if (
        !String(h.connection ?? '')
          .toLowerCase()
          .split(',')
          .some((t) => t.trim() === 'upgrade')
      ) {
        failure = refuse(res, 'Invalid connection header');
      }
      if (failure !== null) {
        socket.terminate();
        return;
      }
      // aiohttp's choice: the first of the server's list that was offered, else none.
      const chosen = h['sec-websocket-protocol'];
      if (chosen !== undefined) {
        protocol =
          String(chosen)
            .split(',')
            .map((p) => p.trim())
            .find((p) => protocols.includes(p)) ?? null;
        // Out of `ws`'s sight: it would refuse an answer aiohttp takes.
        delete h['sec-websocket-protocol'];
      }
    });
    socket.on('unexpected-response', (_req: ClientRequest, res: IncomingMessage) => {
      storeCookies(res);
      failure = refuse(res, 'Invalid response status');
      res.resume();
      socket.terminate();
    });
    socket.once('open', () => {
      settle();
      let untrack: () => void = () => {};
      const ws = new ClientWebSocketResponse(socket, {
        ...settings,
        protocol,
        release: () => {
          settings.release();
          untrack();
        },
      });
      untrack = session._adoptSocket(() => ws._drop());
      resolve(ws);
    });
    socket.on('error', (e: Error) => {
      if (settled) return;
      settle();
      if (failure !== null) reject(failure);
      else if (signal.aborted) reject(signal.reason);
      else if (answer !== null) {
        // `ws`'s own checks of a 101 (the accept key, an extension not offered).
        reject(
          refuse(
            answer,
            /Sec-WebSocket-Accept/i.test(e.message) ? 'Invalid challenge response' : e.message,
          ),
        );
      } else reject(e);
    });
  });
}

/**
 * Destroys `socket` with `ClientConnectorError` unless it is connected (TLS included) within
 * `ms`, as undici's connect timeout does for the session's requests.
 */
function boundConnect(socket: Socket, secure: boolean, ms: number): void {
  const timer = setTimeout(() => {
    socket.destroy(
      new ClientConnectorError(
        `Timeout connecting to the server: not connected within timeout.connect (${ms} ms)`,
      ),
    );
  }, ms);
  const done = (): void => clearTimeout(timer);
  socket.once(secure ? 'secureConnect' : 'connect', done);
  socket.once('close', done);
}

/** `ws:`/`wss:` as `http:`/`https:`: the session resolves and checks http(s) URLs. */
function asHttpUrl(url: string | URL): string | URL {
  const href = url instanceof URL ? url.href : url;
  if (typeof href !== 'string') return url;
  const m = /^(wss?):/i.exec(href);
  if (m === null) return url;
  return `${(m[1] as string).length === 3 ? 'https' : 'http'}${href.slice(m[0].length - 1)}`;
}

/** @throws {TypeError} not a list of strings. {RangeError} a name not a token, or repeated. */
function checkProtocols(p: unknown): readonly string[] {
  if (p === undefined || p === null) return [];
  if (typeof p === 'string' || !(Symbol.iterator in Object(p))) {
    throw argumentError('protocols must be a list of strings', p);
  }
  const out: string[] = [];
  for (const name of p as Iterable<unknown>) {
    if (typeof name !== 'string') throw argumentError('protocols must be strings', name);
    if (!TOKEN.test(name)) throw rangeError('A subprotocol must be an HTTP token', name);
    if (out.includes(name)) throw rangeError('A subprotocol is offered twice', name);
    out.push(name);
  }
  return out;
}

/**
 * A time option in ms: null when not given; a number >= 0 (past a timer's reach: 0, none).
 * @throws {TypeError} not a number. {RangeError} negative or NaN.
 */
function msOption(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') throw argumentError(`${name} must be a number of ms`, v);
  if (Number.isNaN(v) || v < 0) throw rangeError(`${name} must be a number of ms >= 0`, v);
  return v > MAX_TIMER_MS ? 0 : v;
}
