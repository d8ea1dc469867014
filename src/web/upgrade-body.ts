/**
 * The body of a request that Node handed over as an upgrade.
 *
 * Node's parser lets go of a connection at the end of any head with `Connection: Upgrade` and
 * an `Upgrade` header (it cannot know whether the application will switch protocols): the
 * request reaches the `upgrade` event with its body unread, as raw bytes after the head. A
 * WebSocket handshake has no body, but other upgrade offers may (curl's `--http2` on an
 * `http:` URL sends `Upgrade: h2c`, often with `Expect: 100-continue`, and its POST body), and
 * aiohttp, which does not switch to h2c, serves them as ordinary requests. So the body's framing
 * is decoded here, as strictly as Node's parser (llhttp) decodes an ordinary request's, and the
 * handler reads it through the same `read()`/`content` paths, with the same limits. This is the
 * one place weft decodes HTTP framing itself, and only the body's (`Content-Length`, or
 * `chunked` with its extensions and trailers, which are checked and dropped as Node drops them
 * for a request); the head was Node's. Node has already ended the `IncomingMessage`'s own
 * stream, so the body is a stream of its own that Request reads in its place (`bodySource`),
 * with the same `complete` flag and events.
 *
 *   socket 'data' ──► decoder ──► body.push(bytes)  (socket paused while its buffer is full)
 *                        │
 *                        ├─ end of the body: body.complete = true, push(null); later bytes
 *                        │  are read and dropped (the connection closes after the answer)
 *                        └─ malformed framing (400; 413 for a chunk line over 16 KiB, 431 for
 *                           trailers over maxHeaderSize), the client ending its side first
 *                           (400), `requestTimeout` passing first (408): answered as Node
 *                           answers an ordinary request then (if nothing was answered yet),
 *                           and the connection closed. The handler is cancelled when it closes,
 *                           as for a client that leaves (it is not a server error); the body
 *                           fails after that, so a read never takes a cut body for a whole one.
 *
 * A handler that answers with its connection to be closed (a 413 for a body over
 * `clientMaxSize`) abandons the rest of the body: the connection is closed once the answer is
 * out (`abandonUpgradeBody`), as Node does, instead of waiting for the client.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Duplex, Readable } from 'node:stream';
import { RuntimeError } from '../internal/errors.js';
import { ConnectionResetError } from '../socket/errors.js';
import { reasonPhrase } from './http-exceptions.js';

const kBody = Symbol('weft.web.upgradeBody');

/** What Request reads a body from: the request itself, or an upgrade request's own stream. */
export type BodySource = Readable & { readonly complete: boolean };

/** The stream `req`'s body comes from: `req`, unless it is an upgrade request with a body. */
export function bodySource(req: IncomingMessage): BodySource {
  return (req as IncomingMessage & { [kBody]?: UpgradeBody })[kBody] ?? req;
}

/**
 * The connection of `req` will not be reused: if it is an upgrade request whose body is still
 * coming, stop reading it and close the connection once the answer is out.
 */
export function abandonUpgradeBody(req: IncomingMessage): void {
  (req as IncomingMessage & { [kBody]?: UpgradeBody })[kBody]?.abandon();
}

/** An upgrade request's body: pulled from its socket as it is read. */
class UpgradeBody extends Readable {
  complete = false;
  pull: () => void = noop;
  abandon: () => void = noop;

  override _read(): void {
    this.pull();
  }
}

/** How a request head frames its body. */
export type BodyFraming =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  | { kind: 'invalid'; reason: string };

/**
 * The framing of `req`'s body. Node's parser has already refused a malformed or repeated
 * `Content-Length` and one sent with `Transfer-Encoding`; a transfer coding that does not end
 * in `chunked` leaves a request's length unknown (RFC 9112 §6.3), which Node refuses too.
 */
export function bodyFraming(req: IncomingMessage): BodyFraming {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.split(',');
    const last = (codings[codings.length - 1] as string).trim().toLowerCase();
    if (last !== 'chunked') {
      return { kind: 'invalid', reason: `Transfer-Encoding does not end in chunked: ${te}` };
    }
    return { kind: 'chunked' };
  }
  const cl = req.headers['content-length'];
  if (cl === undefined) return { kind: 'none' };
  const length = Number(cl);
  return length === 0 ? { kind: 'none' } : { kind: 'length', length };
}

/** Longest chunk-size line, extensions included (Node's own limit on chunk extensions). */
const MAX_CHUNK_LINE = 16 * 1024;
/** chunk-size: hex digits, nothing else (llhttp refuses spaces); leading zeros allowed. */
const CHUNK_SIZE = /^[0-9A-Fa-f]+$/;
/** chunk-ext: `;name` or `;name=token` or `;name="quoted"`, repeated, no spaces (as llhttp). */
const CHUNK_EXT =
  /^(?:;[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:=(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+|"(?:[^"\\\r\n]|\\[^\r\n])*"))?)*$/;
/** A trailer field line: `name:value`, the name a token (an obs-fold or no colon is refused). */
const TRAILER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[\t\x20-\x7e\x80-\xff]*$/;

/** A framing error: the status it is answered with, and why. */
class FramingError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'FramingError';
  }
}

const SIZE = 0;
const DATA = 1;
const DATA_END = 2;
const TRAILERS = 3;
const DONE = 4;

/** Decodes a body, one socket chunk at a time, into the body's own bytes. */
class Decoder {
  private readonly chunked: boolean;
  private state: number;
  /** Bytes of the body still to come (length), or of the current chunk (chunked). */
  private left: number;
  /** The line being read (a chunk-size line or a trailer line), CR included. */
  private line = '';
  /** Bytes of the trailer section read so far. */
  private trailerBytes = 0;
  /** Bytes of the CRLF after a chunk's data already seen (0 or 1). */
  private crlfSeen = 0;

  constructor(
    framing: { kind: 'length'; length: number } | { kind: 'chunked' },
    private readonly maxTrailers: number,
  ) {
    this.chunked = framing.kind === 'chunked';
    this.state = this.chunked ? SIZE : DATA;
    this.left = framing.kind === 'length' ? framing.length : 0;
  }

  get done(): boolean {
    return this.state === DONE;
  }

  /**
   * Appends to `out` the body's bytes in `buf` (views of it), in order; bytes after the body's
   * end are not taken.
   * @throws FramingError malformed chunked framing.
   */
  push(buf: Buffer, out: Buffer[]): void {
    let i = 0;
    const n = buf.length;
    while (i < n && this.state !== DONE) {
      switch (this.state) {
        case DATA: {
          const take = Math.min(this.left, n - i);
          if (take > 0) out.push(buf.subarray(i, i + take));
          i += take;
          this.left -= take;
          if (this.left === 0) this.state = this.chunked ? DATA_END : DONE;
          break;
        }
        case DATA_END: {
          const c = buf[i++] as number;
          const want = this.crlfSeen === 0 ? 0x0d : 0x0a;
          if (c !== want) throw new FramingError(400, 'Chunk data not followed by CRLF');
          if (++this.crlfSeen === 2) {
            this.crlfSeen = 0;
            this.state = SIZE;
          }
          break;
        }
        default: {
          // SIZE or TRAILERS: a line ending in CRLF.
          const nl = buf.indexOf(0x0a, i);
          const end = nl === -1 ? n : nl;
          this.line += buf.toString('latin1', i, end);
          if (this.state === TRAILERS) {
            this.trailerBytes += end - i + (nl === -1 ? 0 : 1);
            if (this.trailerBytes > this.maxTrailers) {
              throw new FramingError(431, 'Chunked trailer section too large');
            }
          } else if (this.line.length > MAX_CHUNK_LINE) {
            throw new FramingError(413, 'Chunk size line too long');
          }
          if (nl === -1) {
            i = n;
            break;
          }
          i = nl + 1;
          const line = this.line;
          this.line = '';
          if (!line.endsWith('\r')) throw new FramingError(400, 'Bare LF in chunked framing');
          this.endLine(line.slice(0, -1));
        }
      }
    }
  }

  private endLine(line: string): void {
    if (this.state === TRAILERS) {
      if (line === '') this.state = DONE;
      else if (!TRAILER_LINE.test(line)) throw new FramingError(400, 'Invalid trailer field');
      return;
    }
    const semi = line.indexOf(';');
    const size = semi === -1 ? line : line.slice(0, semi);
    if (!CHUNK_SIZE.test(size)) {
      throw new FramingError(400, `Invalid chunk size: ${JSON.stringify(size.slice(0, 40))}`);
    }
    if (semi !== -1 && !CHUNK_EXT.test(line.slice(semi))) {
      throw new FramingError(400, 'Invalid chunk extension');
    }
    // Past 13 significant hex digits a size is beyond any body (and beyond exact numbers).
    const digits = size.replace(/^0+/, '');
    if (digits.length > 13) throw new FramingError(400, 'Chunk size too large');
    const len = digits === '' ? 0 : Number.parseInt(digits, 16);
    if (len === 0) this.state = TRAILERS;
    else {
      this.left = len;
      this.state = DATA;
    }
  }
}

function noop(): void {}

/**
 * Whether `req` waits for a `100 Continue` before its body: Node's own test of the header, and
 * only from an HTTP/1.1 client (RFC 9110 §10.1.1: a 1.0 client's `Expect` is ignored).
 */
export function expectsContinue(req: IncomingMessage): boolean {
  const e = req.headers.expect;
  return req.httpVersionMinor === 1 && e !== undefined && /(?:^|\W)100-continue(?:$|\W)/i.test(e);
}

/**
 * Answers `status` on the raw socket (there is no response object, or it has not begun) and
 * closes the connection once the answer is out.
 */
export function rawAnswer(socket: Duplex, status: number): void {
  const reason = reasonPhrase(status);
  const text = `${status}: ${reason}`;
  socket.write(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\n\r\n${text}`,
  );
  closeSoon(socket);
}

/**
 * Ends `socket` (after what was written to it) and destroys it a second later if the client has
 * not closed its side by then. Not at once: a close with the client's bytes unread is a reset,
 * which can cut the answer before the client has read it.
 */
function closeSoon(socket: Duplex): void {
  const t = setTimeout(() => socket.destroy(), 1000);
  socket.once('close', () => clearTimeout(t));
  socket.end();
}

/**
 * Reads `req`'s body from `socket` (after `head`, the bytes that came with the head) into a
 * stream that `bodySource(req)` gives, as described at the top of this file. `res` is the
 * request's response: a `100 Continue` goes out through it at once if the client expects one
 * (as Node and aiohttp answer an ordinary request), and a framing error is answered in its
 * place if it has not begun. `timeoutMs` (0: none) bounds the whole body.
 */
export function readUpgradeBody(
  req: IncomingMessage,
  res: ServerResponse,
  socket: Duplex,
  head: Buffer,
  framing: { kind: 'length'; length: number } | { kind: 'chunked' },
  limits: { maxTrailerSize: number; timeoutMs: number },
): void {
  const decoder = new Decoder(framing, limits.maxTrailerSize);
  const body = new UpgradeBody();
  (req as IncomingMessage & { [kBody]?: UpgradeBody })[kBody] = body;
  let ended = false;
  const out: Buffer[] = [];
  const timer =
    limits.timeoutMs > 0
      ? setTimeout(
          () => fail(408, 'The client did not send the whole body in time'),
          limits.timeoutMs,
        )
      : null;
  timer?.unref();

  const stop = (): void => {
    ended = true;
    if (timer !== null) clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('close', onClose);
    // Later bytes (a pipelined request) are read and dropped: the connection closes after the
    // answer, and bytes left unread would make that close a reset that could cut the answer.
    socket.resume();
  };

  const fail = (status: number, message: string): void => {
    if (ended) return;
    stop();
    // What Node's own request gives a read then (its 'aborted'): the client's end of the
    // exchange failed, not the server — a handler that lets it out is not reported (onError).
    const err = new ConnectionResetError(message);
    // Nobody reading the body must not make its failure an uncaught error.
    body.on('error', noop);
    // The connection's closing cancels the handler first (its listener came first), so a
    // handler waiting on the body sees its cancellation, as for a client that leaves.
    socket.once('close', () => body.destroy(err));
    if (!res.headersSent && socket.writable) rawAnswer(socket, status);
    else socket.destroy();
  };

  const onData = (chunk: Buffer): void => {
    if (ended) return;
    try {
      decoder.push(chunk, out);
    } catch (e) {
      out.length = 0;
      if (e instanceof FramingError) {
        fail(e.status, e.message);
        return;
      }
      throw e;
    }
    let full = false;
    for (const b of out) if (!body.push(b)) full = true;
    out.length = 0;
    if (decoder.done) {
      stop();
      body.complete = true;
      body.push(null);
    } else if (full) socket.pause();
  };

  // The client ended its side before the body's end: Node answers an ordinary request 400.
  const onEnd = (): void => fail(400, 'The client ended the connection before the body ended');
  const onClose = (): void => {
    if (ended) return;
    stop();
    // As Node's own request whose client left mid-body: it closes incomplete.
    body.destroy();
  };

  // Reads pull from the socket again once the body's buffer has room.
  body.pull = () => {
    if (!ended) socket.resume();
  };
  body.abandon = () => {
    if (ended) return;
    stop();
    body.on('error', noop);
    body.destroy(
      new RuntimeError(
        'The request body was abandoned: the connection is closed after the answer',
        'ERR_WEFT_BODY_ABANDONED',
      ),
    );
    closeSoon(socket);
  };
  if (expectsContinue(req)) res.writeContinue();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('close', onClose);
  if (head.length > 0) onData(head);
  if (!ended) socket.resume();
}
