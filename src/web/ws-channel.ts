/**
 * The message side of an open WebSocket, shared by the server's `WebSocketResponse` and the
 * client's `ClientWebSocketResponse`: what aiohttp's `WebSocketReader` queue and `receive()`
 * are to both of its sides.
 *
 *   ws 'message' / 'ping' / 'pong' ──► inbox (weft asyncio Queue) ──► receive()
 *        │                               │ past INBOX_LIMIT bytes: ws.pause(); the socket is
 *        │                               │ not read until receive() takes some (back pressure)
 *   ws 'error' (a frame refused) ───────►│ ERROR message (ws has sent its close frame)
 *   ws 'close' ─────────────────────────►│ CLOSE (a close frame the peer sent first), then
 *                                        ▼ shutdown: every later receive() is CLOSED
 *
 * The framing (masking, fragments, control frames, the close handshake, UTF-8 checks, the size
 * limit) is the `ws` package's; this file decides what the program sees of it, once, for both
 * sides: the message shapes, when CLOSE or CLOSED is given, which close code is reported, and
 * what a send on a closed WebSocket raises. Each side keeps what differs: the handshake, the
 * heartbeat, what `closed` means.
 */
import type { RawData, WebSocket } from 'ws';
import { Queue } from '../asyncio/queue.js';
import { RuntimeError, TimeoutError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';

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

/**
 * A received message, as aiohttp's `WSMessage(type, data, extra)`. PING and PONG reach the
 * program only from a client WebSocket opened with `autoping: false`.
 */
export type WSMessage =
  | { type: 'text'; data: string; extra: null }
  | { type: 'binary'; data: Buffer; extra: null }
  | { type: 'ping'; data: Buffer; extra: null }
  | { type: 'pong'; data: Buffer; extra: null }
  | { type: 'close'; data: number; extra: string }
  | { type: 'closed'; data: null; extra: null }
  | { type: 'error'; data: Error; extra: null };

export interface ReceiveOptions {
  /** ms to wait for a message: `TimeoutError` after it (the connection stays open). */
  timeout?: number | null;
  signal?: AbortSignal;
}

const CLOSED_MSG: WSMessage = { type: 'closed', data: null, extra: null };

/**
 * The read of CLOSED that raises instead (aiohttp 3.8's server THRESHOLD_CONNLOST_ACCESS: four
 * CLOSED, then RuntimeError): a loop that never looks for CLOSED would otherwise spin on settled
 * promises and starve every other connection of the process.
 */
const CLOSED_READS = 5;

/**
 * Tuning: bytes of received messages held for the program before the connection stops being
 * read (aiohttp's reader limit, 2**16). Higher lets a burst arrive while the program is busy;
 * lower bounds what a peer that floods a program that is not reading can make it hold.
 */
const INBOX_LIMIT = 64 * 1024;

export interface WSChannelOptions {
  /** Queue PING and PONG frames as messages (a client's `autoping: false`). */
  controlMessages?: boolean;
  /** Called for every frame the peer sends: a message, a ping, a pong (a client's heartbeat). */
  onFrame?: () => void;
  /** Called once the connection closed, with its code, before the waiting receives wake. */
  onClose?: (code: number) => void;
}

export class WSChannel {
  readonly ws: WebSocket;
  /** The close code once the connection closed (1000 normal, 1006 dropped, …). */
  closeCode: number | null = null;
  exception: Error | null = null;
  /** This side began the close (`close()`): messages arriving after it are dropped. */
  closeStarted = false;
  /** Resolves once the connection is closed. */
  readonly done: Promise<void>;
  private readonly inbox = new Queue<WSMessage>();
  /** The peer's CLOSE is in the inbox already (a client holding its answer: autoclose false). */
  private closeQueued = false;
  /** receive() calls answered CLOSED so far. */
  private closedReads = 0;
  /** Bytes of the messages in the inbox; past INBOX_LIMIT the socket is paused. */
  private inboxBytes = 0;
  private readonly sizes = new WeakMap<WSMessage, number>();

  constructor(ws: WebSocket, options: WSChannelOptions = {}) {
    this.ws = ws;
    const onFrame = options.onFrame;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      onFrame?.();
      // A message after close() began is dropped, as aiohttp's close() reads past it.
      if (this.closeStarted) return;
      const buf = toBuffer(data);
      this.queue(
        isBinary
          ? { type: 'binary', data: buf, extra: null }
          : { type: 'text', data: buf.toString('utf8'), extra: null },
        buf.length,
      );
    });
    if (options.controlMessages === true) {
      ws.on('ping', (data: Buffer) => {
        onFrame?.();
        if (!this.closeStarted) this.queue({ type: 'ping', data, extra: null }, data.length);
      });
      ws.on('pong', (data: Buffer) => {
        onFrame?.();
        if (!this.closeStarted) this.queue({ type: 'pong', data, extra: null }, data.length);
      });
    } else if (onFrame !== undefined) {
      ws.on('ping', onFrame);
      ws.on('pong', onFrame);
    }
    ws.on('error', (e) => {
      // A frame the protocol refuses (too large: 1009, bad UTF-8: 1007, …): `ws` has sent the
      // close frame already. The program gets the error as a message, as aiohttp's ERROR.
      this.exception ??= e;
      this.inbox.putNowait({ type: 'error', data: e, extra: null });
    });
    this.done = new Promise<void>((resolve) => {
      ws.once('close', (code: number, reason: Buffer) => {
        this.closeCode = code;
        options.onClose?.(code);
        // A CLOSE message only for a close frame the peer sent first, as aiohttp: a connection
        // that dropped without one (1006), or a close this side began, ends in CLOSED.
        if (code !== 1006 && !this.closeStarted && !this.closeQueued) {
          this.inbox.putNowait({ type: 'close', data: code, extra: reason.toString() });
        }
        this.inbox.shutdown();
        resolve();
      });
    });
  }

  /** The socket is not read because the program has not taken its messages. */
  get paused(): boolean {
    return this.ws.isPaused;
  }

  /** Queues the peer's close frame now, while the connection stays open (autoclose false). */
  queuePeerClose(code: number, reason: string): void {
    if (this.closeQueued || this.closeStarted) return;
    this.closeQueued = true;
    this.inbox.putNowait({ type: 'close', data: code, extra: reason });
  }

  /**
   * The next message; CLOSED once the connection is closed and drained, and `RuntimeError` at
   * the fifth CLOSED in a row.
   * @throws {TimeoutError} no message within `timeout` ms (the connection stays open).
   */
  async receive(options: ReceiveOptions = {}): Promise<WSMessage> {
    try {
      const msg = await this.inbox.get(options);
      const size = this.sizes.get(msg);
      if (size !== undefined) {
        this.inboxBytes -= size;
        const ws = this.ws;
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

  /** @throws {TypeError} the message is not text (aiohttp's TypeError). */
  async receiveStr(options?: ReceiveOptions): Promise<string> {
    return textOf(await this.receive(options));
  }

  /** @throws {TypeError} the message is not binary. */
  async receiveBytes(options?: ReceiveOptions): Promise<Buffer> {
    return bytesOf(await this.receive(options));
  }

  /** @throws {TypeError} the message is not text. {SyntaxError} it is not JSON. */
  async receiveJson<T>(options?: ReceiveJsonOptions): Promise<T> {
    return jsonOf<T>(await this.receive(options), options);
  }

  /**
   * Resolves once the frame is written.
   * @throws {ConnectionResetError} the WebSocket is closing or closed (aiohttp's "Cannot write
   *   to closing transport").
   */
  send(data: string | Uint8Array, binary: boolean): Promise<void> {
    const ws = this.checkOpen('send');
    return new Promise<void>((resolve, reject) => {
      ws.send(data, { binary }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** @throws {ConnectionResetError} the WebSocket is closing or closed. */
  checkOpen(what: string): WebSocket {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) {
      // aiohttp: ConnectionResetError('Cannot write to closing transport').
      throw new ConnectionResetError(`Cannot ${what}: the WebSocket is closed`);
    }
    return ws;
  }

  /**
   * Starts the close handshake and resolves when the connection is closed; a peer that does not
   * answer within `timeout` ms is cut off (`onTimeout` is told first). Resolves true when this
   * call began the close, false when it was already closing or closed (aiohttp's `close()`).
   * @throws {TypeError} a code `ws` cannot send (outside 1000–4999, or reserved such as 1005).
   *   {RangeError} a message over 123 bytes.
   */
  async close(
    options: { code?: number; message?: string | Uint8Array },
    timeout: number,
    onTimeout?: () => void,
  ): Promise<boolean> {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN && ws.readyState !== ws.CONNECTING) {
      await this.done;
      return false;
    }
    // Checked by `ws` before anything is sent: a bad code leaves the WebSocket as it was.
    ws.close(options.code ?? 1000, toCloseReason(options.message));
    this.closeStarted = true;
    // Reading may be paused (a full inbox): the peer's answering close frame must be read, or
    // the close waits for the timer below and ends as 1006. Messages after this are dropped.
    if (ws.isPaused) ws.resume();
    // A peer that never answers the close frame must not hold the program.
    const t = setTimeout(() => {
      onTimeout?.();
      ws.terminate();
    }, timeout);
    await this.done;
    clearTimeout(t);
    return true;
  }

  private queue(msg: WSMessage, size: number): void {
    this.sizes.set(msg, size);
    this.inboxBytes += size;
    this.inbox.putNowait(msg);
    // Back pressure, as aiohttp's reader: a peer cannot pile up messages faster than the program
    // takes them; TCP holds the rest on its side.
    if (this.inboxBytes > INBOX_LIMIT && !this.ws.isPaused) this.ws.pause();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}

function toCloseReason(message: string | Uint8Array | undefined): string | Buffer | undefined {
  if (message === undefined || typeof message === 'string') return message;
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

export type ReceiveJsonOptions = ReceiveOptions & { loads?: (text: string) => unknown };

/**
 * What `receiveStr`/`receiveBytes`/`receiveJson` make of a message, on both sides (the server's
 * channel and the client, whose `receive` adds its own steps first).
 * @throws {TypeError} the message is not of the type asked for (aiohttp's TypeError).
 */
export function textOf(m: WSMessage): string {
  if (m.type !== 'text') throw new TypeError(`Expected a text message: received ${m.type}`);
  return m.data;
}

export function bytesOf(m: WSMessage): Buffer {
  if (m.type !== 'binary') throw new TypeError(`Expected a binary message: received ${m.type}`);
  return m.data;
}

export function jsonOf<T>(m: WSMessage, options?: ReceiveJsonOptions): T {
  return (options?.loads ?? JSON.parse)(textOf(m)) as T;
}
