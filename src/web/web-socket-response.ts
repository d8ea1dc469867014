/**
 * WebSocketResponse: a WebSocket endpoint as a handler's response (aiohttp's
 * `web.WebSocketResponse`).
 *
 *   app.router.addGet('/ws', async (request) => {
 *     const ws = new WebSocketResponse();
 *     await ws.prepare(request);              // the handshake (101 Switching Protocols)
 *     for await (const msg of ws) {           // until the peer closes
 *       if (msg.type === WSMsgType.TEXT) await ws.sendStr(`echo ${msg.data}`);
 *     }
 *     return ws;
 *   });
 *
 * Node 20 has a WebSocket client behind a flag and no server; the framing (masking,
 * fragmentation, control frames, close handshake, UTF-8 validation, payload limits) is the
 * `ws` package's, the de facto standard server implementation, used in `noServer` mode: weft's
 * http server hands it the upgraded socket of the request. Messages are queued on a weft
 * asyncio `Queue`, so `receive()` is cancellable like any weft wait.
 */
import type { Socket } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { Queue } from '../asyncio/queue.js';
import { RuntimeError, TimeoutError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';
import { HTTPBadRequest } from './http-exceptions.js';
import { keepRunningOnClose, upgradeHead } from './http-server.js';
import type { Request } from './request.js';
import { StreamResponse } from './stream-response.js';

/** Message kinds, as aiohttp's `WSMsgType`. */
export const WSMsgType = {
  TEXT: 'text',
  BINARY: 'binary',
  PING: 'ping',
  PONG: 'pong',
  CLOSE: 'close',
  CLOSED: 'closed',
  ERROR: 'error',
} as const;
export type WSMsgType = (typeof WSMsgType)[keyof typeof WSMsgType];

export type WSMessage =
  | { type: 'text'; data: string; extra: null }
  | { type: 'binary'; data: Buffer; extra: null }
  | { type: 'close'; data: number; extra: string }
  | { type: 'closed'; data: null; extra: null }
  | { type: 'error'; data: Error; extra: null };

export interface WebSocketResponseOptions {
  /** Subprotocols the server speaks; the first one the client offers is chosen. */
  protocols?: string[];
  /** Largest message accepted, bytes (default 4 MiB, aiohttp's); larger closes with 1009. */
  maxMsgSize?: number;
  /** Ping every `heartbeat` ms and drop a peer that does not answer before the next one. */
  heartbeat?: number | null;
}

const CLOSED_MSG: WSMessage = { type: 'closed', data: null, extra: null };

/**
 * The read of CLOSED that raises instead (aiohttp 3.8's THRESHOLD_CONNLOST_ACCESS: four CLOSED,
 * then RuntimeError): a loop that never looks for CLOSED would otherwise spin on settled
 * promises and starve every other connection of the process.
 */
const CLOSED_READS = 5;

/**
 * Tuning: bytes of received messages held for the handler before the connection stops being
 * read (aiohttp's reader limit, 2**16). Higher lets a burst arrive while the handler is busy;
 * lower bounds what a client that floods a handler that is not reading can make the server hold.
 */
const INBOX_LIMIT = 64 * 1024;

export class WebSocketResponse extends StreamResponse implements AsyncIterable<WSMessage> {
  private readonly options: WebSocketResponseOptions;
  private ws: WebSocket | null = null;
  private readonly inbox = new Queue<WSMessage>();
  private _closeCode: number | null = null;
  private _exception: Error | null = null;
  private _protocol: string | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closedPromise: Promise<void> | null = null;
  /** The handler began the close (close(), writeEof(), the handler returning). */
  private closeStarted = false;
  /** receive() calls answered CLOSED so far. */
  private closedReads = 0;
  /** Bytes of the messages in the inbox; past INBOX_LIMIT the socket is paused. */
  private inboxBytes = 0;
  private readonly sizes = new WeakMap<WSMessage, number>();

  constructor(options: WebSocketResponseOptions = {}) {
    super({ status: 101 });
    this.options = options;
  }

  /** The subprotocol chosen in the handshake, or null. */
  get protocol(): string | null {
    return this._protocol;
  }

  get closed(): boolean {
    return this._closeCode !== null;
  }

  /** The close code once the connection closed (1000 normal, 1006 dropped, …). */
  get closeCode(): number | null {
    return this._closeCode;
  }

  exception(): Error | null {
    return this._exception;
  }

  /** Whether `request` is a WebSocket handshake this response could accept. */
  canPrepare(request: Request): boolean {
    const h = request.headers;
    return (
      request.method === 'GET' &&
      String(h.upgrade ?? '').toLowerCase() === 'websocket' &&
      h['sec-websocket-key'] !== undefined &&
      upgradeHead(request._req) !== undefined
    );
  }

  /**
   * Completes the handshake.
   * @throws {HTTPBadRequest} the request is not a WebSocket upgrade (answered 400).
   */
  override async prepare(request: Request): Promise<void> {
    if (this.ws !== null) return;
    if (!this.canPrepare(request)) {
      throw new HTTPBadRequest({ text: 'Expected a WebSocket upgrade request' });
    }
    const req = request._req;
    const res = request._res;
    const socket = req.socket as Socket;
    const offered = new Set(
      String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    const wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: this.options.maxMsgSize ?? 4 * 1024 * 1024,
      handleProtocols: () => this.options.protocols?.find((p) => offered.has(p)) ?? false,
    });
    if (socket.destroyed || !socket.readable || !socket.writable) {
      // `ws` would drop such a socket without a word, and the handshake would never end. A
      // client that half-closed cannot hold a WebSocket either (aiohttp closes on EOF too).
      socket.destroy();
      throw new ConnectionResetError('The client closed the connection before the handshake');
    }
    // The socket now belongs to the WebSocket, not to the placeholder ServerResponse.
    res.detachSocket(socket);
    this._res = res;
    const ws = await new Promise<WebSocket>((resolve, reject) => {
      const closed = (): void =>
        reject(new ConnectionResetError('The client closed the connection during the handshake'));
      socket.once('close', closed);
      wss.handleUpgrade(req, socket, upgradeHead(req) as Buffer, (w) => {
        socket.off('close', closed);
        resolve(w);
      });
    });
    wss.close();
    keepRunningOnClose(request);
    this.ws = ws;
    this._protocol = ws.protocol || null;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // A message after close() began is dropped, as aiohttp's close() reads past it.
      if (this.closeStarted) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      const msg: WSMessage = isBinary
        ? { type: 'binary', data: buf, extra: null }
        : { type: 'text', data: buf.toString('utf8'), extra: null };
      this.sizes.set(msg, buf.length);
      this.inboxBytes += buf.length;
      this.inbox.putNowait(msg);
      // Back pressure, as aiohttp's reader: a client cannot pile up messages faster than the
      // handler takes them; TCP holds the rest on its side.
      if (this.inboxBytes > INBOX_LIMIT && !ws.isPaused) ws.pause();
    });
    ws.on('error', (e) => {
      // A frame the protocol refuses (too large: 1009, bad UTF-8: 1007, …): `ws` has sent the
      // close frame already. The handler gets the error as a message, as aiohttp's ERROR.
      this._exception = e;
      this.inbox.putNowait({ type: 'error', data: e, extra: null });
    });
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    this.closedPromise = new Promise<void>((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this._closeCode = code;
        if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
        // A CLOSE message only for a close frame the peer sent first, as aiohttp: a connection
        // that dropped without one (1006), or a close this side began, ends in CLOSED.
        if (code !== 1006 && !this.closeStarted) {
          this.inbox.putNowait({ type: 'close', data: code, extra: reason.toString() });
        }
        this.inbox.shutdown();
        resolve();
      });
    });
    const hb = this.options.heartbeat;
    if (hb) {
      this.heartbeatTimer = setInterval(() => {
        if (!alive) {
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, hb);
    }
  }

  /**
   * The next message: `{ type: 'close' }` for the close frame the peer sent, `{ type: 'error' }`
   * for a frame the protocol refuses (the connection is closing), `{ type: 'closed' }` once the
   * connection is closed and drained — also when it dropped without a close frame, or after a
   * close this side began, as aiohttp's CLOSED. After four CLOSED, the next call raises
   * `RuntimeError` (as aiohttp's): a loop that does not stop at CLOSED fails instead of
   * spinning for ever and starving the process.
   *
   * **Cancellation:** cancelling the task (or aborting `signal`) ends the wait; no message is
   * lost. @throws {TimeoutError} no message within `timeout` ms (the connection stays open).
   */
  async receive(options: { timeout?: number; signal?: AbortSignal } = {}): Promise<WSMessage> {
    this.checkOpen('receive');
    try {
      const msg = await this.inbox.get(options);
      const size = this.sizes.get(msg);
      if (size !== undefined) {
        this.inboxBytes -= size;
        const ws = this.ws as WebSocket;
        if (ws.isPaused && this.inboxBytes <= INBOX_LIMIT) ws.resume();
      }
      return msg;
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'QueueShutDown') {
        if (++this.closedReads >= CLOSED_READS) {
          throw new RuntimeError('WebSocket connection is closed', 'ERR_WEFT_WS_CLOSED');
        }
        return CLOSED_MSG;
      }
      // The queue's way to say the wait timed out; a WebSocket says it as aiohttp does.
      if (name === 'QueueEmpty') {
        throw new TimeoutError(`No WebSocket message within ${options.timeout} ms`);
      }
      throw e;
    }
  }

  /** The next message's text. @throws {TypeError} the message is not text. */
  async receiveStr(options?: { timeout?: number }): Promise<string> {
    const m = await this.receive(options);
    if (m.type !== 'text') throw new TypeError(`Expected a text message: received ${m.type}`);
    return m.data;
  }

  async receiveBytes(options?: { timeout?: number }): Promise<Buffer> {
    const m = await this.receive(options);
    if (m.type !== 'binary') throw new TypeError(`Expected a binary message: received ${m.type}`);
    return m.data;
  }

  async receiveJson<T = unknown>(options?: { timeout?: number }): Promise<T> {
    return JSON.parse(await this.receiveStr(options)) as T;
  }

  sendStr(data: string): Promise<void> {
    if (typeof data !== 'string') throw new TypeError('sendStr() expects a string');
    return this.send(data, false);
  }

  sendBytes(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new TypeError('sendBytes() expects bytes');
    return this.send(data, true);
  }

  sendJson(data: unknown): Promise<void> {
    return this.send(JSON.stringify(data), false);
  }

  ping(data?: string | Uint8Array): void {
    this.checkOpen('ping');
    this.ws?.ping(data);
  }

  /** Starts the close handshake and resolves when the connection is closed. */
  async close(options: { code?: number; message?: string } = {}): Promise<void> {
    const ws = this.ws;
    if (ws === null) throw new Error('Cannot close: call prepare(request) first');
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      this.closeStarted = true;
      ws.close(options.code ?? 1000, options.message);
      // Reading may be paused (a full inbox): the peer's answering close frame must be read, or
      // the close waits for the timer below and ends as 1006. Messages after this are dropped.
      if (ws.isPaused) ws.resume();
      // A peer that never answers the close frame must not hold the handler.
      const t = setTimeout(() => ws.terminate(), 5000);
      await this.closedPromise;
      clearTimeout(t);
    } else await this.closedPromise;
  }

  /** Messages until the connection closes (the close message itself is not yielded). */
  async *[Symbol.asyncIterator](): AsyncIterator<WSMessage> {
    for (;;) {
      const m = await this.receive();
      if (m.type === 'close' || m.type === 'closed') return;
      yield m;
    }
  }

  /**
   * Not for a WebSocket: its bytes are frames (`sendStr`, `sendBytes`, `sendJson`).
   * @throws {RuntimeError} always, as aiohttp's "Cannot call .write() for websocket".
   */
  override async write(_data: string | Uint8Array): Promise<void> {
    throw new RuntimeError(
      'Cannot call write() on a WebSocketResponse: send messages with sendStr/sendBytes/sendJson',
    );
  }

  /**
   * Closes the WebSocket (aiohttp's `write_eof`), as `close()`.
   * @throws {TypeError} `data` given: a WebSocket has no body. {Error} before `prepare()`.
   */
  override async writeEof(data?: string | Uint8Array): Promise<void> {
    if (data !== undefined) {
      throw new TypeError('WebSocketResponse.writeEof() takes no data: send a message first');
    }
    await this.close();
  }

  /** @internal the handler returned: close the connection if it is still open. */
  override _send(_request: Request): Promise<void> | undefined {
    if (this.ws === null) throw new Error('A WebSocketResponse was returned without prepare()');
    return this.close();
  }

  private send(data: string | Uint8Array, binary: boolean): Promise<void> {
    const ws = this.checkOpen('send');
    return new Promise<void>((resolve, reject) => {
      ws.send(data, { binary }, (err) => (err ? reject(err) : resolve()));
    });
  }

  private checkOpen(what: string): WebSocket {
    const ws = this.ws;
    if (ws === null) throw new Error(`Cannot ${what}: call prepare(request) first`);
    if (what !== 'receive' && ws.readyState !== ws.OPEN) {
      // aiohttp: ConnectionResetError('Cannot write to closing transport').
      throw new ConnectionResetError(`Cannot ${what}: the WebSocket is closed`);
    }
    return ws;
  }
}
