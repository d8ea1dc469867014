/**
 * The request engine: Node's `http` server (llhttp parses; weft decodes no HTTP itself but the
 * body of a request Node handed over as an upgrade: upgrade-body.ts) wired to an AppRunner.
 *
 * Implementation notes
 * --------------------
 * Per request, on the hot path:
 *
 *   'request' ─► new Request (lazy: nothing parsed yet) ─► driven Task, first step run now:
 *        handle: router._resolve (Map lookup / segment matcher / RegExp) ─► compiled handler
 *                (middlewares wrapped at freeze) ─► response._send (one writeHead + end)
 *                [an async handler: one await between the handler and the send]
 *
 * Each handler runs as a weft asyncio Task, so `currentTask()`, cancellation and the
 * primitives of `weft/asyncio` work inside it. It is a *driven* task (`drivenTask`): its first
 * step runs synchronously in the I/O callback that parsed the request, as a bare `http` handler
 * would, instead of as a body queued on the ready queue; that saves the queue hop, a closure
 * and the promises that settle a task from its body. The task is remembered on its socket; the
 * socket closing before the task ends (the client went away) cancels it, as aiohttp does.
 *
 * Safety limits are Node's own, configured here, answered with a status and a closed
 * connection on the socket (there is no response object yet): a malformed request → 400
 * (llhttp), a head larger than `maxHeaderSize` → 431, more than `maxHeaders` fields → 431, a
 * client slower than `headersTimeout` to send its head or `requestTimeout` to send the whole
 * request → 408 (the slowloris defence: Node's connection checker runs every
 * `checkInterval` ms). A body over `clientMaxSize` → 413 when read whole (Request's `read()`
 * and what rests on it; its `content` stream is not capped). A handler's
 * error → 500 with a fixed text: the stack goes to `onError` (stderr by default), never to the
 * client; a `TimeoutError` nobody caught → 504, as in aiohttp.
 */
import { createServer, type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { debuglog } from 'node:util';
import { drivenTask, type Task } from '../asyncio/task.js';
import { CancelledError, TimeoutError } from '../internal/errors.js';
import { reportException } from '../internal/scheduler.js';
import { HTTPException, reasonPhrase } from './http-exceptions.js';
import { Request } from './request.js';
import { textInCharsetOf } from './response.js';
import { StreamResponse } from './stream-response.js';
import { bodyFraming, expectsContinue, rawAnswer, readUpgradeBody } from './upgrade-body.js';

/** Limits and timeouts of the server; every one has a safe default. */
export interface ServerOptions {
  /** Largest request head (request line + headers) in bytes (default 16 KiB): 431 above. */
  maxHeaderSize?: number;
  /** Most header fields in a request (default 100): 431 above. */
  maxHeaders?: number;
  /** Time a client has to send the whole request head, ms (default 10 000): 408 after. */
  headersTimeout?: number;
  /** Time a client has to send the whole request, body included, ms (default 60 000). */
  requestTimeout?: number;
  /** How long an idle keep-alive connection stays open, ms (default 5 000). */
  keepAliveTimeout?: number;
  /** How long shutdown waits for in-flight requests before cancelling them, ms (default 60 000). */
  shutdownTimeout?: number;
}

/** What the engine needs of its runner (AppRunner implements it). */
export interface RequestHost {
  readonly _app: import('./application.js').Application;
  _closing: boolean;
  _requestStart(request: Request): void;
  _requestDone(request: Request): void;
  readonly _maxHeaderValues: number;
}

const debug = debuglog('weft');

const kHost = Symbol('weft.web.host');
const kTasks = Symbol('weft.web.tasks');
const kHead = Symbol('weft.web.upgradeHead');
const kUpgraded = Symbol('weft.web.upgraded');
const kLimits = Symbol('weft.web.limits');

type HostedServer = Server & {
  [kHost]: RequestHost;
  [kUpgraded]: Set<Duplex>;
  [kLimits]: ResolvedServerOptions;
};
type TrackedSocket = Duplex & { [kTasks]?: Task<unknown> | Task<unknown>[] | null };

function checkMs(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`${name} must be a number of milliseconds >= 0: received ${String(v)}`);
  }
  return v;
}

export interface ResolvedServerOptions {
  maxHeaderSize: number;
  maxHeaders: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  shutdownTimeout: number;
}

export function resolveServerOptions(o: ServerOptions): ResolvedServerOptions {
  const maxHeaderSize = o.maxHeaderSize ?? 16 * 1024;
  if (!Number.isInteger(maxHeaderSize) || maxHeaderSize < 256) {
    throw new RangeError(
      `maxHeaderSize must be an integer >= 256: received ${String(maxHeaderSize)}`,
    );
  }
  const maxHeaders = o.maxHeaders ?? 100;
  if (!Number.isInteger(maxHeaders) || maxHeaders < 1) {
    throw new RangeError(`maxHeaders must be an integer >= 1: received ${String(maxHeaders)}`);
  }
  const requestTimeout = checkMs('requestTimeout', o.requestTimeout, 60_000);
  let headersTimeout = checkMs('headersTimeout', o.headersTimeout, 10_000);
  if (requestTimeout > 0 && headersTimeout > requestTimeout) headersTimeout = requestTimeout;
  return {
    maxHeaderSize,
    maxHeaders,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout: checkMs('keepAliveTimeout', o.keepAliveTimeout, 5_000),
    shutdownTimeout: checkMs('shutdownTimeout', o.shutdownTimeout, 60_000),
  };
}

/** A Node http server that answers requests for `host`'s application. */
export function createHttpServer(host: RequestHost, o: ResolvedServerOptions): Server {
  const smallest = Math.min(
    o.headersTimeout || Number.MAX_SAFE_INTEGER,
    o.requestTimeout || Number.MAX_SAFE_INTEGER,
  );
  const server = createServer(
    {
      maxHeaderSize: o.maxHeaderSize,
      headersTimeout: o.headersTimeout,
      requestTimeout: o.requestTimeout,
      keepAliveTimeout: o.keepAliveTimeout,
      // Tuning: how often Node looks for clients past their deadline. Finer checks cost a timer
      // walk over every connection; a quarter of the shortest timeout keeps the overshoot small.
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(smallest / 4))),
      noDelay: true,
    },
    onRequest,
  ) as HostedServer;
  server[kHost] = host;
  server[kUpgraded] = new Set();
  server[kLimits] = o;
  // One more than the limit, so that "too many" is visible (Node drops the extra ones silently).
  server.maxHeadersCount = o.maxHeaders + 1;
  server.on('connection', onConnection);
  server.on('clientError', onClientError);
  server.on('upgrade', onUpgrade);
  return server;
}

function onConnection(socket: TrackedSocket): void {
  socket[kTasks] = null;
  socket.once('close', onSocketClose);
}

function onSocketClose(this: TrackedSocket): void {
  const t = this[kTasks];
  if (t === null || t === undefined) return;
  this[kTasks] = null;
  if (Array.isArray(t)) {
    for (const x of t) x.cancel('The client closed the connection');
  } else t.cancel('The client closed the connection');
}

function onRequest(this: HostedServer, req: IncomingMessage, res: ServerResponse): void {
  dispatch(this[kHost], req, res, true);
}

function onUpgrade(this: HostedServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // An upgrade request pipelined behind another (`GET /a` and a WebSocket handshake in one
  // write): the answer to the first still holds the socket, and Node, which has dropped this
  // connection's parser, would hand it to nobody (assignSocket threw ERR_HTTP_SOCKET_ASSIGNED,
  // uncaught: a client could end the server process). It is taken up once that answer is out.
  const busy = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (busy != null) {
    // Node's parser no longer listens for this socket's errors: a reset meanwhile must not crash.
    socket.on('error', onUpgradedSocketError);
    busy.once('close', () => {
      socket.off('error', onUpgradedSocketError);
      if (socket.destroyed || !socket.writable) {
        socket.destroy();
        return;
      }
      // The keep-alive timer Node set when that answer finished is not for this request.
      (socket as import('node:net').Socket).setTimeout(0);
      onUpgrade.call(this, req, socket, head);
    });
    return;
  }
  // Node's closeAllConnections() no longer sees an upgraded socket (a WebSocket): the server
  // keeps its own list, so that shutdown can close those too (else server.close() waits on them).
  const upgraded = this[kUpgraded];
  upgraded.add(socket);
  socket.once('close', () => upgraded.delete(socket));
  // Node takes its own 'error' listener off an upgraded socket: without one, a client that
  // resets the connection (ECONNRESET) would crash the process.
  socket.on('error', onUpgradedSocketError);
  const framing = bodyFraming(req);
  if (framing.kind === 'invalid') {
    // As Node answers such a head when it parses the request itself.
    debug('upgrade request refused: %s', framing.reason);
    rawAnswer(socket, 400);
    return;
  }
  if (
    framing.kind !== 'none' &&
    req.headers.expect !== undefined &&
    req.httpVersionMinor === 1 &&
    !expectsContinue(req)
  ) {
    // An expectation nobody can meet: Node's (and aiohttp's) 417 for an ordinary request.
    rawAnswer(socket, 417);
    return;
  }
  // Only a request without a body can become a WebSocket: `head` is then the first bytes after
  // the handshake. A body is read into the request (upgrade-body.ts); the connection closes
  // after the answer.
  if (framing.kind === 'none') (req as IncomingMessage & { [kHead]?: Buffer })[kHead] = head;
  // No ServerResponse exists for an upgrade request; one on the raw socket lets an ordinary
  // response (a 404, a 400 for a bad handshake) be sent, and WebSocketResponse takes the socket.
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as import('node:net').Socket);
  if (framing.kind !== 'none') {
    readUpgradeBody(req, res, socket, head, framing, {
      maxTrailerSize: this[kLimits].maxHeaderSize,
      timeoutMs: this[kLimits].requestTimeout,
    });
  }
  res.once('finish', () => {
    res.detachSocket(socket as import('node:net').Socket);
    socket.end();
  });
  // Cancelled if the client goes away, as any request, until a WebSocket takes the socket
  // (`keepRunningOnClose`): from then on its handler learns of it from receive().
  dispatch(this[kHost], req, res, true);
}

function onUpgradedSocketError(this: Duplex, err: Error): void {
  debug('upgraded connection: %s', err.message);
  this.destroy();
}

/**
 * @internal The connection's closing no longer cancels `request`'s handler: a WebSocket took
 * the socket and reports its closing itself.
 */
export function keepRunningOnClose(request: Request): void {
  untrack(request);
}

/**
 * @internal Closes every connection of `server` now: the HTTP ones (Node's
 * `closeAllConnections`) and the upgraded ones (WebSockets) it no longer tracks.
 */
export function closeAllSockets(server: Server): void {
  server.closeAllConnections();
  const upgraded = (server as Partial<HostedServer>)[kUpgraded];
  if (upgraded === undefined) return;
  for (const socket of [...upgraded]) socket.destroy();
  upgraded.clear();
}

/** @internal the bytes that followed an upgrade request's head. */
export function upgradeHead(req: IncomingMessage): Buffer | undefined {
  return (req as IncomingMessage & { [kHead]?: Buffer })[kHead];
}

function dispatch(
  host: RequestHost,
  req: IncomingMessage,
  res: ServerResponse,
  cancelOnClose: boolean,
): void {
  if (host._closing) res.shouldKeepAlive = false;
  if (req.rawHeaders.length > host._maxHeaderValues) {
    res.shouldKeepAlive = false;
    sendPlain(res, 431);
    return;
  }
  const request = new Request(req, res, host._app, host._app.clientMaxSize);
  host._requestStart(request);
  const task = drivenTask();
  request._task = task;
  if (cancelOnClose) {
    const socket = req.socket as TrackedSocket;
    const cur = socket[kTasks];
    if (cur === null || cur === undefined) socket[kTasks] = task;
    else if (Array.isArray(cur)) cur.push(task);
    else socket[kTasks] = [cur, task];
  }
  task._runStep(handle, host, request);
}

function untrack(request: Request): void {
  const socket = request._req.socket as TrackedSocket;
  const cur = socket[kTasks];
  const task = request._task;
  if (cur === task) socket[kTasks] = null;
  else if (Array.isArray(cur)) {
    const i = cur.indexOf(task as Task<unknown>);
    if (i !== -1) cur.splice(i, 1);
  }
}

/*
 * The request's task runs the steps below; each path ends in exactly one `done`, which ends the
 * task. None of them throws: an error is answered (fail) or, for one the answer itself raised,
 * becomes the task's exception. A sync handler returning a Response is answered before
 * `handle` returns; an async one costs one await (and one more for a response that streams).
 */

function handle(host: RequestHost, request: Request): void {
  let resp: StreamResponse | PromiseLike<StreamResponse>;
  try {
    resp = request.app.router._resolve(request, request.rawPath)(request);
  } catch (e) {
    fail(host, request, e);
    return;
  }
  if (resp instanceof StreamResponse) send(host, request, resp);
  else if (resp !== null && typeof (resp as PromiseLike<unknown>)?.then === 'function') {
    void awaitResponse(host, request, resp);
  } else fail(host, request, notAResponse(resp));
}

async function awaitResponse(
  host: RequestHost,
  request: Request,
  pending: PromiseLike<unknown>,
): Promise<void> {
  let resp: unknown;
  try {
    resp = await pending;
  } catch (e) {
    fail(host, request, e);
    return;
  }
  send(host, request, resp);
}

function send(host: RequestHost, request: Request, resp: unknown): void {
  if (!(resp instanceof StreamResponse)) {
    fail(host, request, notAResponse(resp));
    return;
  }
  if (request._closeAfter) request._res.shouldKeepAlive = false;
  let p: Promise<void> | undefined;
  try {
    p = resp._send(request);
  } catch (e) {
    fail(host, request, e);
    return;
  }
  if (p === undefined) done(host, request, true, undefined);
  else void awaitSent(host, request, p);
}

async function awaitSent(
  host: RequestHost,
  request: Request,
  sending: Promise<void>,
): Promise<void> {
  try {
    await sending;
  } catch (e) {
    fail(host, request, e);
    return;
  }
  done(host, request, true, undefined);
}

/** Answers the error; a cancellation (rethrown by handleError) ends the task cancelled. */
function fail(host: RequestHost, request: Request, e: unknown): void {
  try {
    handleError(host, request, e);
  } catch (raised) {
    const res = request._res;
    if (!(raised instanceof CancelledError) && !res.headersSent && !res.destroyed) {
      // The answer itself failed (a head Node refuses to write): a server error like any other,
      // and the client still gets an answer, not a connection left waiting.
      report(host, request, raised);
      try {
        res.shouldKeepAlive = false;
        sendServerError(request);
      } catch {
        res.destroy();
      }
      done(host, request, true, undefined);
      return;
    }
    done(host, request, false, raised);
    return;
  }
  done(host, request, true, undefined);
}

function done(host: RequestHost, request: Request, ok: boolean, error: unknown): void {
  untrack(request);
  request._discardBody();
  host._requestDone(request);
  (request._task as Task<void>)._finish(ok, error);
}

/**
 * What a handler returned that is not a response: an HTTPException is answered as if thrown
 * (aiohttp still answers a returned one, deprecated: there it is also a Response); anything
 * else is a programming error, answered 500.
 */
function notAResponse(v: unknown): unknown {
  if (v instanceof HTTPException) return v;
  return new TypeError(
    `A handler must return a Response (or StreamResponse): received ${describe(v)}`,
  );
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

function handleError(host: RequestHost, request: Request, e: unknown): void {
  const res = request._res;
  if (e instanceof CancelledError) {
    if (!res.writableFinished) {
      res.destroy();
      // An upgraded connection (WebSocket) is no longer the response's socket.
      request._req.socket.destroy();
    }
    throw e;
  }
  if (e instanceof HTTPException) {
    if (res.headersSent) {
      abort(res);
      return;
    }
    if (request._closeAfter) res.shouldKeepAlive = false;
    const flat: string[] = [];
    for (const [k, v] of e.headers) {
      if (k !== 'set-cookie' && k !== 'content-type' && k !== 'content-length') flat.push(k, v);
    }
    for (const c of e.headers.getSetCookie()) flat.push('set-cookie', c);
    const noBody = e.status === 204 || e.status === 304;
    let body: string | Buffer = e.text;
    if (!noBody) {
      const type = e.headers.get('content-type') ?? `${e.contentType}; charset=utf-8`;
      // In the charset the type sent names, as a Response's text (aiohttp's text.encode). One
      // weft cannot encode in goes as UTF-8, as before: an error's answer must still go out.
      try {
        body = textInCharsetOf(e.text, type);
      } catch {
        body = e.text;
      }
      flat.push('content-type', type, 'content-length', String(Buffer.byteLength(body)));
    }
    res.writeHead(e.status, e.reason, flat);
    res.end(noBody ? undefined : body);
    return;
  }
  if (e instanceof TimeoutError) {
    // aiohttp's answer to a timeout nobody caught in the handler (an upstream call that took
    // too long): 504, logged only as a trace, not as a server error.
    debug('%s %s timed out: %s', request.method, request.rawPath, (e as Error).message);
    if (res.headersSent) abort(res);
    else {
      // As aiohttp's handle_error, which answers every failed request with a forced close, and
      // with no body for a 504.
      res.shouldKeepAlive = false;
      answer(res, 504, '', 'text/plain');
    }
    return;
  }
  if (clientGone(request, e)) {
    // A write or a file send that failed because the client went away is the client's doing,
    // not a server error: as in aiohttp (where the handler is cancelled), nothing is logged.
    debug('%s %s: the client closed the connection', request.method, request.rawPath);
    if (!res.writableFinished) res.destroy();
    return;
  }
  report(host, request, e);
  if (res.headersSent) abort(res);
  else {
    // aiohttp closes the connection after a 500 (handle_error's force_close): whatever state
    // the failed handler left the request in, the next request gets a fresh connection.
    res.shouldKeepAlive = false;
    sendServerError(request);
  }
}

/** Hands a server error to the application's `onError` (stderr by default). */
function report(host: RequestHost, request: Request, e: unknown): void {
  const onError = request.app._onError ?? host._app._onError;
  try {
    if (onError !== null) onError(e, request);
    else reportException(`Error handling request ${request.method} ${request.rawPath}`, e);
  } catch (e2) {
    reportException('Error in the onError hook', e2);
  }
}

/**
 * Ends a response whose head is out and which cannot be finished (its handler failed): the
 * connection is closed, so the client sees an incomplete body — after what the handler already
 * wrote, as aiohttp's client does. Node holds a response's writes corked until the next tick,
 * so a plain destroy() in the same tick as the last write would drop them (and the head).
 */
function abort(res: ServerResponse): void {
  const socket = res.socket;
  if (socket !== null && !socket.destroyed) {
    // Node 24 keeps a corked response's chunks in the response itself; Node 20 and 22 in the
    // socket.
    while (res.writableCorked > 0) res.uncork();
    while (socket.writableCorked > 0) socket.uncork();
  }
  res.destroy();
}

const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']);

/** `e` says the connection is gone (Node's `code`, or the errno of weft's socket errors), and it is. */
function clientGone(request: Request, e: unknown): boolean {
  const err = e as { code?: unknown; errnoName?: unknown } | null;
  if (err === null || typeof err !== 'object') return false;
  if (!LOST.has(err.code as string) && !LOST.has(err.errnoName as string)) return false;
  return (
    request._res.destroyed ||
    request._req.socket.destroyed ||
    (request._task?.cancelling() ?? 0) > 0
  );
}

/** A body sent with a status of the server's own (no response object was involved). */
function answer(res: ServerResponse, status: number, body: string, type: string): void {
  // The reason always given: one a failed writeHead left on the response must not be reused.
  res.writeHead(status, reasonPhrase(status), [
    'content-type',
    type,
    'content-length',
    String(Buffer.byteLength(body)),
  ]);
  res.end(body);
}

/** `<status>: <reason>` as plain text, the body of aiohttp's HTTP errors. */
function sendPlain(res: ServerResponse, status: number): void {
  answer(res, status, `${status}: ${reasonPhrase(status)}`, 'text/plain; charset=utf-8');
}

const SERVER_ERROR_TITLE = '500 Internal Server Error';
/** Python's description of 500 (`HTTPStatus.INTERNAL_SERVER_ERROR.description`). */
const SERVER_ERROR_TEXT = 'Server got itself in trouble';

/**
 * aiohttp's answer to a failed handler (its `handle_error` outside debug mode): a fixed text,
 * as HTML to a client that accepts `text/html`. Nothing of the error reaches the client.
 */
function sendServerError(request: Request): void {
  const accept = request.headers.accept;
  if (typeof accept === 'string' && accept.includes('text/html')) {
    answer(
      request._res,
      500,
      `<html><head><title>${SERVER_ERROR_TITLE}</title></head><body>\n` +
        `<h1>${SERVER_ERROR_TITLE}</h1>\n${SERVER_ERROR_TEXT}\n</body></html>\n`,
      'text/html; charset=utf-8',
    );
  } else {
    answer(
      request._res,
      500,
      `${SERVER_ERROR_TITLE}\n\n${SERVER_ERROR_TEXT}`,
      'text/plain; charset=utf-8',
    );
  }
}

function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code;
  const busy = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
  if (code === 'ECONNRESET' || !socket.writable || busy?.headersSent) {
    socket.destroy();
    return;
  }
  const status =
    code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
          ? 413
          : 400;
  // A client that never reads its answer does not hold the socket either (a second at most).
  rawAnswer(socket, status);
}
