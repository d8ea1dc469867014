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
import { type WebSocket, WebSocketServer } from 'ws';
import { RuntimeError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';
import type { ContentCoding } from './content-coding.js';
import { HTTPBadRequest } from './http-exceptions.js';
import { keepRunningOnClose, upgradeHead } from './http-server.js';
import type { Request } from './request.js';
import { StreamResponse } from './stream-response.js';
import { type ReceiveOptions, WSChannel, type WSMessage } from './ws-channel.js';

export { type WSMessage, WSMsgType } from './ws-channel.js';

export interface WebSocketResponseOptions {
  /** Subprotocols the server speaks; the first one the client offers is chosen. */
  protocols?: string[];
  /** Largest message accepted, bytes (default 4 MiB, aiohttp's); larger closes with 1009. */
  maxMsgSize?: number;
  /** Ping every `heartbeat` ms and drop a peer that does not answer before the next one. */
  heartbeat?: number | null;
}

/** How long the handler's close() waits for the client's answering close frame, ms. */
const CLOSE_TIMEOUT = 5000;

export class WebSocketResponse extends StreamResponse implements AsyncIterable<WSMessage> {
  private readonly options: WebSocketResponseOptions;
  private channel: WSChannel | null = null;
  private _protocol: string | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(options: WebSocketResponseOptions = {}) {
    super({ status: 101 });
    this.options = options;
  }

  /** The subprotocol chosen in the handshake, or null. */
  get protocol(): string | null {
    return this._protocol;
  }

  get closed(): boolean {
    return this.closeCode !== null;
  }

  /** The close code once the connection closed (1000 normal, 1006 dropped, …). */
  get closeCode(): number | null {
    return this.channel?.closeCode ?? null;
  }

  exception(): Error | null {
    return this.channel?.exception ?? null;
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
    if (this.channel !== null) return;
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
    this._protocol = ws.protocol || null;
    this.channel = new WSChannel(ws, {
      onClose: () => {
        if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
      },
    });
    let alive = true;
    ws.on('pong', () => {
      alive = true;
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
  async receive(options: ReceiveOptions = {}): Promise<WSMessage> {
    return this.open('receive').receive(options);
  }

  /** The next message's text. @throws {TypeError} the message is not text. */
  async receiveStr(options?: { timeout?: number }): Promise<string> {
    return this.open('receive').receiveStr(options);
  }

  async receiveBytes(options?: { timeout?: number }): Promise<Buffer> {
    return this.open('receive').receiveBytes(options);
  }

  async receiveJson<T = unknown>(options?: { timeout?: number }): Promise<T> {
    return this.open('receive').receiveJson<T>(options);
  }

  sendStr(data: string): Promise<void> {
    if (typeof data !== 'string') throw new TypeError('sendStr() expects a string');
    return this.open('send').send(data, false);
  }

  sendBytes(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new TypeError('sendBytes() expects bytes');
    return this.open('send').send(data, true);
  }

  sendJson(data: unknown): Promise<void> {
    return this.open('send').send(JSON.stringify(data), false);
  }

  ping(data?: string | Uint8Array): void {
    this.open('ping').ws.ping(data);
  }

  /** Starts the close handshake and resolves when the connection is closed. */
  async close(options: { code?: number; message?: string } = {}): Promise<void> {
    const channel = this.channel;
    if (channel === null) throw new Error('Cannot close: call prepare(request) first');
    await channel.close(options, CLOSE_TIMEOUT);
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
   * Not for a WebSocket: it has no body to compress, and weft has no permessage-deflate.
   * @throws {RuntimeError} always, code `ERR_WEFT_WEB_WS_COMPRESSION` (aiohttp would put a
   *   `Content-Encoding` on the 101 answer).
   */
  override enableCompression(_force?: ContentCoding | null): void {
    throw new RuntimeError(
      'Cannot compress a WebSocketResponse: it has no body (and weft has no permessage-deflate)',
      'ERR_WEFT_WEB_WS_COMPRESSION',
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
    if (this.channel === null) {
      throw new Error('A WebSocketResponse was returned without prepare()');
    }
    return this.close();
  }

  /** The channel, once prepared; sending or pinging also needs it open. */
  private open(what: string): WSChannel {
    const channel = this.channel;
    if (channel === null) throw new Error(`Cannot ${what}: call prepare(request) first`);
    if (what !== 'receive') channel.checkOpen(what);
    return channel;
  }
}
