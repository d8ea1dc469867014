/**
 * ClientWebSocketResponse: the client's end of a WebSocket (aiohttp's
 * `ClientWebSocketResponse`), made by `session.wsConnect(url)`.
 *
 *   await using ws = await session.wsConnect('/chat');
 *   await ws.sendStr('hello');
 *   for await (const msg of ws) {            // until the server closes
 *     if (msg.type === WSMsgType.TEXT) console.log(msg.data);
 *   }
 *
 * The messages, their queue, back pressure and close codes are the server side's (ws-channel.ts).
 * What is the client's own:
 *
 * - `autoclose` (default true): the server's close frame is answered at once and `receive()`
 *   gives CLOSE once the connection is closed. With `false` the CLOSE is given as soon as the
 *   frame arrives and the answer waits for the program's `close()` (it may still send first)
 *   or its next `receive()`, which then gives CLOSED, as aiohttp's. `ws` answers a close frame by itself, from inside its frame parser: the
 *   socket class below holds back that one call.
 * - `autoping` (default true): pings are answered by `ws` and pongs swallowed; with `false`
 *   both reach `receive()` as PING and PONG, and the program answers with `pong()`.
 * - `heartbeat` (ms): after `heartbeat` ms without a frame from the server, a ping; no frame
 *   within `heartbeat / 2` after it and the connection is dropped: `closeCode` 1006 and
 *   `exception()` a `TimeoutError`, as aiohttp's. While the program leaves 64 KiB of messages
 *   unread the socket is not read, so the server cannot be heard: the heartbeat waits then
 *   instead of dropping a server that is only being held back.
 */
import { WebSocket } from 'ws';
import { TimeoutError } from '../internal/errors.js';
import { MAX_TIMER as MAX_TIMER_MS } from '../internal/long-timer.js';
import { ConnectionResetError } from '../socket/errors.js';
import {
  bytesOf,
  jsonOf,
  type ReceiveJsonOptions,
  type ReceiveOptions,
  textOf,
  WSChannel,
  type WSMessage,
} from './ws-channel.js';

/** What a close frame from `ws`'s parser looks like before weft answers it. */
interface PeerCloseState {
  _closeFrameReceived?: boolean;
}

/**
 * A `ws` client socket whose answer to the server's close frame can wait (aiohttp's `autoclose:
 * false`). `ws` answers from inside its frame parser by calling `close()` on the socket, the one
 * call made while the socket is still OPEN with the peer's close frame received; it is handed to
 * `onPeerClose` instead, once. Every later `close()` — the program's — goes through.
 */
export class HeldCloseSocket extends WebSocket {
  onPeerClose: ((code: number, reason: Buffer) => void) | null = null;
  private peerCloseHeld = false;

  override close(code?: number, data?: string | Buffer): void {
    if (
      this.onPeerClose !== null &&
      !this.peerCloseHeld &&
      this.readyState === WebSocket.OPEN &&
      (this as unknown as PeerCloseState)._closeFrameReceived === true
    ) {
      this.peerCloseHeld = true;
      this.onPeerClose(
        code ?? 1005,
        typeof data === 'string' ? Buffer.from(data) : (data ?? Buffer.alloc(0)),
      );
      return;
    }
    super.close(code, data);
  }
}

/** @internal what wsConnect() settled, for the response it builds. */
export interface ClientWebSocketSettings {
  protocol: string | null;
  /** close()'s wait for the server's close frame, ms (0: none). */
  closeTimeout: number;
  receiveTimeout: number | null;
  autoclose: boolean;
  autoping: boolean;
  heartbeat: number | null;
  /** Gives back the session's connection slot and registration; called once closed. */
  release: () => void;
}

export class ClientWebSocketResponse implements AsyncIterable<WSMessage>, AsyncDisposable {
  private readonly channel: WSChannel;
  private readonly settings: ClientWebSocketSettings;
  /** The server's close code, held with its answer (autoclose false). */
  private peerCode: number | null = null;
  /** receive() gave the held CLOSE (autoclose false): the next receive() answers it. */
  private peerCloseTaken = false;
  private pingTimer: NodeJS.Timeout | null = null;
  private pongTimer: NodeJS.Timeout | null = null;

  /** @internal made by `session.wsConnect()`, from the socket its handshake opened. */
  constructor(ws: HeldCloseSocket, settings: ClientWebSocketSettings) {
    this.settings = settings;
    const heartbeat = settings.heartbeat;
    this.channel = new WSChannel(ws, {
      controlMessages: !settings.autoping,
      onFrame: heartbeat === null ? undefined : () => this.armHeartbeat(),
      onClose: (code) => {
        this.stopHeartbeat();
        // The server went away without a close frame (or the session dropped the connection):
        // aiohttp's exception() is then a ConnectionResetError.
        if (code === 1006) {
          this.channel.exception ??= new ConnectionResetError(
            'The WebSocket connection was lost without a close frame',
          );
        }
        settings.release();
      },
    });
    if (!settings.autoclose) {
      ws.onPeerClose = (code, reason) => {
        // The server said its last: its pongs are not owed any more.
        this.stopHeartbeat();
        this.peerCode = code;
        this.channel.queuePeerClose(code, reason.toString());
      };
    }
    this.armHeartbeat();
  }

  /** The subprotocol the server chose among those offered, or null (aiohttp's `protocol`). */
  get protocol(): string | null {
    return this.settings.protocol;
  }

  /**
   * True once the connection is closing or closed, whichever side began — not yet when the
   * server's close frame waits for `close()` (autoclose false), as aiohttp's.
   */
  get closed(): boolean {
    const ws = this.channel.ws;
    return ws.readyState !== ws.OPEN;
  }

  /**
   * The close code: the server's in its close frame (1000, 4000, …), 1006 when the connection
   * was lost without one (a reset, the heartbeat, a close the server never answered).
   */
  get closeCode(): number | null {
    return this.peerCode ?? this.channel.closeCode;
  }

  /** What ended the connection abnormally: a refused frame, a lost connection, a timeout. */
  exception(): Error | null {
    return this.channel.exception;
  }

  /**
   * The next message: TEXT, BINARY, PING/PONG (with `autoping: false`), ERROR (a frame the
   * protocol refuses; the connection is closing), CLOSE (the server's close frame, with its
   * code and reason) and CLOSED once the connection is closed and drained. After four CLOSED
   * the next call raises `RuntimeError`: a loop that never stops at CLOSED would spin for ever.
   * `timeout` defaults to `receiveTimeout`.
   *
   * **Cancellation:** cancelling the task or aborting `signal` ends the wait; no message is
   * lost: the next receive() gets it.
   * @throws {TimeoutError} no message within `timeout` ms (the connection stays open).
   *   {RuntimeError} the fifth CLOSED.
   */
  async receive(options: ReceiveOptions = {}): Promise<WSMessage> {
    // aiohttp: a receive() after the held CLOSE sends the answer and gives CLOSED. The server
    // sends nothing after its close frame, so waiting would last until it gives up on the answer
    // (its own close timeout), or for ever with a server that has none.
    if (this.peerCloseTaken) await this.close();
    const timeout = options?.timeout ?? this.settings.receiveTimeout;
    const m = await this.channel.receive(timeout === null ? options : { ...options, timeout });
    if (m.type === 'close' && this.peerCode !== null) this.peerCloseTaken = true;
    return m;
  }

  /** The next message's text. @throws {TypeError} it is not a text message (as aiohttp). */
  async receiveStr(options: ReceiveOptions = {}): Promise<string> {
    return textOf(await this.receive(options));
  }

  /** The next message's bytes. @throws {TypeError} it is not a binary message. */
  async receiveBytes(options: ReceiveOptions = {}): Promise<Buffer> {
    return bytesOf(await this.receive(options));
  }

  /**
   * The next text message parsed by `loads` (default `JSON.parse`).
   * @throws {TypeError} it is not a text message. {SyntaxError} it is not JSON.
   */
  async receiveJson<T = unknown>(options: ReceiveJsonOptions = {}): Promise<T> {
    return jsonOf<T>(await this.receive(options), options);
  }

  /**
   * Sends a text message; resolves once it is written.
   * @throws {TypeError} not a string. {ConnectionResetError} the WebSocket is closed.
   */
  async sendStr(data: string): Promise<void> {
    if (typeof data !== 'string') {
      throw new TypeError(`sendStr() expects a string: received ${typeof data}`);
    }
    await this.channel.send(data, false);
  }

  /**
   * Sends a binary message (a Uint8Array, another typed array, a DataView or an ArrayBuffer,
   * as aiohttp takes bytes, bytearray and memoryview).
   * @throws {TypeError} not bytes. {ConnectionResetError} the WebSocket is closed.
   */
  async sendBytes(data: Uint8Array | ArrayBufferView | ArrayBuffer): Promise<void> {
    await this.channel.send(toBytes(data, 'sendBytes()'), true);
  }

  /**
   * Sends `dumps(data)` (default `JSON.stringify`) as a text message.
   * @throws {TypeError} `data` has no JSON form. {ConnectionResetError} the WebSocket is closed.
   */
  async sendJson(
    data: unknown,
    options: { dumps?: (value: unknown) => string | undefined } = {},
  ): Promise<void> {
    const text = (options.dumps ?? JSON.stringify)(data);
    if (typeof text !== 'string') {
      throw new TypeError('sendJson(): the value has no JSON form (a function, a symbol, …)');
    }
    await this.channel.send(text, false);
  }

  /** Sends a ping frame. @throws {ConnectionResetError} the WebSocket is closed. */
  async ping(data: string | Uint8Array = Buffer.alloc(0)): Promise<void> {
    await this.control('ping', data);
  }

  /** Sends a pong frame (to answer a PING under `autoping: false`). */
  async pong(data: string | Uint8Array = Buffer.alloc(0)): Promise<void> {
    await this.control('pong', data);
  }

  /**
   * Sends a close frame with `code` (default 1000) and `message`, waits for the server's (at
   * most `timeout` ms, given to wsConnect: 10 s by default; then the connection is dropped,
   * `closeCode` 1006 and `exception()` a `TimeoutError`), and resolves true; false when the
   * WebSocket was already closing or closed, as aiohttp's.
   * @throws {TypeError} a code a close frame cannot carry (not 1000–4999, or reserved such as
   *   1005). {RangeError} a message over 123 bytes.
   */
  async close(options: { code?: number; message?: string | Uint8Array } = {}): Promise<boolean> {
    const limit = this.settings.closeTimeout;
    return this.channel.close(options, limit === 0 ? MAX_TIMER_MS : limit, () => {
      this.channel.exception ??= new TimeoutError(
        `The server did not answer the close frame within ${limit} ms`,
      );
    });
  }

  /** Messages until CLOSE or CLOSED (neither is yielded); ERROR, PING and PONG are. */
  async *[Symbol.asyncIterator](): AsyncIterator<WSMessage> {
    for (;;) {
      const m = await this.receive();
      if (m.type === 'close' || m.type === 'closed') return;
      yield m;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal the session is closing: drop the connection without a close frame (aiohttp). */
  _drop(): void {
    this.channel.ws.terminate();
  }

  private control(kind: 'ping' | 'pong', data: string | Uint8Array): Promise<void> {
    const ws = this.channel.checkOpen(kind);
    const payload = typeof data === 'string' ? data : toBytes(data, `${kind}()`);
    return new Promise<void>((resolve, reject) => {
      ws[kind](payload, undefined, (err?: Error) => (err ? reject(err) : resolve()));
    });
  }

  /** (Re)starts the wait for the next heartbeat ping: something came from the server. */
  private armHeartbeat(): void {
    const hb = this.settings.heartbeat;
    if (hb === null) return;
    this.stopHeartbeat();
    if (this.channel.closeCode !== null) return;
    this.pingTimer = setTimeout(() => this.sendHeartbeat(hb), hb);
  }

  private sendHeartbeat(hb: number): void {
    this.pingTimer = null;
    const ws = this.channel.ws;
    if (ws.readyState !== ws.OPEN) return;
    // A server held back by the program's own unread messages cannot answer: wait for it.
    if (this.channel.paused) {
      this.armHeartbeat();
      return;
    }
    ws.ping();
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null;
      this.channel.exception ??= new TimeoutError(
        `No answer to the heartbeat ping within ${hb / 2} ms`,
      );
      ws.terminate();
    }, hb / 2);
  }

  private stopHeartbeat(): void {
    if (this.pingTimer !== null) clearTimeout(this.pingTimer);
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }
}

/** Bytes to send, without a copy. @throws {TypeError} not bytes. */
function toBytes(data: unknown, what: string): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data))
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(
    `${what} expects bytes (a Uint8Array, another typed array, a DataView or an ArrayBuffer): received ${typeof data === 'object' ? (data?.constructor?.name ?? 'null') : typeof data}`,
  );
}
