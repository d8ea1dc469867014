/**
 * Response: a response whose body is known when it is built (aiohttp's `web.Response`), and
 * `jsonResponse`.
 */
import type { ServerResponse } from 'node:http';
import { argumentError, RuntimeError } from '../internal/errors.js';
import { codeBody } from './content-coding.js';
import { charsetOf, checkUtf8, decodeText, encodeText } from './mime-types.js';
import type { Request } from './request.js';
import { carriesBody, StreamResponse, type StreamResponseOptions } from './stream-response.js';

const TEXT_PLAIN = 'text/plain; charset=utf-8';

export interface ResponseOptions extends StreamResponseOptions {
  /**
   * A text body, encoded in `charset` (`contentType` defaults to `text/plain`).
   * @throws {RangeError} a charset weft cannot encode in (mime-types.ts `encodeText`: UTF-8,
   *   UTF-16, Latin-1, ASCII, cp1250–cp1258… as Python's codecs), or a character the charset
   *   cannot represent (a lone surrogate in a UTF codec too, as Python's UnicodeEncodeError).
   */
  text?: string;
  /**
   * A byte or string body. Bytes default to `application/octet-stream`; a string is sent as
   * UTF-8 and defaults to `text/plain; charset=utf-8`, as in aiohttp.
   * @throws {RangeError} a string holding a lone surrogate (aiohttp's UnicodeEncodeError).
   */
  body?: string | Uint8Array | null;
  contentType?: string;
  /** Defaults to `utf-8` for text bodies. */
  charset?: string;
}

/**
 * A response with a body known up front.
 *
 * `new Response({ text: 'hi', status: 201 })` answers `201` with `text/plain; charset=utf-8`;
 * `body` takes bytes. The length is computed once, here, so sending costs one `writeHead` and
 * one `end`. Give either `text` or `body`, not both.
 *
 * @throws {TypeError} both `text` and `body` given, or a body of the wrong type.
 * @example
 * app.router.addGet('/', (request) => new Response({ text: request.path, status: 201 }));
 */
export class Response extends StreamResponse {
  private _body: string | Uint8Array | null = null;
  private _length = 0;
  private _type: string;
  /** The body as sent when enableCompression() chose a coding (aiohttp's `_compressed_body`). */
  private coded: Uint8Array | null = null;
  private coding: Promise<void> | null = null;

  constructor(options: ResponseOptions = {}) {
    super(options);
    const { text, body } = options;
    // null or '' is no charset, as aiohttp's `if content_type or charset`.
    if (options.charset === null || options.charset === '')
      options = { ...options, charset: undefined };
    if (text !== undefined && body !== undefined && body !== null) {
      throw new TypeError('Response takes either text or body, not both');
    }
    let type: string;
    // A Content-Type among the headers is the one sent unless the contentType option is given
    // (weft's: the option wins). Beside it, a charset option would name a second charset:
    // aiohttp's ValueError.
    const headerType =
      options.contentType === undefined ? (this._headers?.get('content-type') ?? null) : null;
    if (headerType !== null && options.charset !== undefined) {
      throw new TypeError(
        'Response: the charset option beside a Content-Type among the headers: name the charset in that header, or give contentType and charset',
      );
    }
    if (text !== undefined) {
      if (typeof text !== 'string') throw argumentError('Response text must be a string', text);
      type =
        options.contentType === undefined && options.charset === undefined
          ? TEXT_PLAIN
          : `${options.contentType ?? 'text/plain'}; charset=${options.charset ?? 'utf-8'}`;
      if (options.contentType !== undefined && charsetOf(options.contentType) !== null) {
        // aiohttp's ValueError: the charset would be named twice.
        throw new TypeError(
          'Response: give the charset as the charset option, not inside contentType, with a text body',
        );
      }
      // aiohttp encodes the text in the charset it names (`text.encode(charset)`): the header's
      // when that one is sent.
      const charset =
        options.charset ?? (headerType === null ? null : charsetOf(headerType)) ?? 'utf-8';
      this.setBody(encodeText(text, charset), true);
    } else {
      // A string body is text (aiohttp's StringPayload): UTF-8, typed so unless told otherwise.
      type =
        options.contentType === undefined &&
        options.charset === undefined &&
        typeof body === 'string'
          ? TEXT_PLAIN
          : (options.contentType ?? 'application/octet-stream');
      if (options.charset !== undefined) type += `; charset=${options.charset}`;
      if (body !== undefined && body !== null) this.setBody(body);
    }
    if (options.contentType === undefined && this._headers?.has('content-type')) {
      type = this._headers.get('content-type') as string;
    } else if (options.contentType !== undefined) {
      // The explicit option wins over a Content-Type among the headers given with it.
      this._headers?.delete('content-type');
    }
    this._type = type;
  }

  /** The body as given (a string or bytes), or null. */
  get body(): string | Uint8Array | null {
    return this._body;
  }

  set body(value: string | Uint8Array | null) {
    if (value === null) {
      this._body = null;
      this._length = 0;
    } else this.setBody(value);
  }

  /**
   * The body decoded as text in the charset the `Content-Type` names (UTF-8 when it names none),
   * or null. @throws {RangeError} bytes that charset cannot decode (Python's UnicodeDecodeError).
   */
  get text(): string | null {
    const b = this._body;
    if (b === null) return null;
    if (typeof b === 'string') return b;
    return decodeText(b, charsetOf(this.contentType) ?? 'utf-8');
  }

  /**
   * Sets a text body, encoded in the charset the `Content-Type` names (as aiohttp: a response
   * still typed `application/octet-stream` becomes `text/plain; charset=utf-8` first).
   * @throws {RangeError} as the `text` option.
   */
  set text(value: string) {
    if (typeof value !== 'string') throw argumentError('Response text must be a string', value);
    let type = this.contentType;
    if (type === null || type === 'application/octet-stream') {
      this.contentType = TEXT_PLAIN;
      type = TEXT_PLAIN;
    } else if (charsetOf(type) === null) {
      this.contentType = `${type}; charset=utf-8`;
      type = this.contentType;
    }
    const charset = charsetOf(type) ?? 'utf-8';
    this.setBody(encodeText(value, charset), true);
  }

  /**
   * The `Content-Type` that will be sent: a `Content-Type` set on `headers` after the response
   * was built wins (`resp.headers.set('Content-Type', …)`, as in aiohttp).
   */
  override get contentType(): string | null {
    return this._headers?.get('content-type') ?? this._type;
  }

  override set contentType(value: string) {
    this._type = value;
    this._headers?.delete('content-type');
  }

  /**
   * `encoded`: `b` comes from `encodeText`, which checked it already.
   * @throws {RangeError} a string holding a lone surrogate, as aiohttp's UTF-8 str payload.
   */
  private setBody(b: string | Uint8Array, encoded = false): void {
    if (typeof b === 'string') {
      if (!encoded) checkUtf8(b);
      this._length = Buffer.byteLength(b);
    } else if (b instanceof Uint8Array) {
      this._length = b.byteLength;
    } else throw argumentError('Response body must be a string or bytes', b);
    this._body = b;
  }

  /**
   * Sends the head. The body goes out with `writeEof()`, or when the handler returns the
   * response. Bytes `write()` sends first count against the `Content-Length` of the body: what
   * would pass it is cut (aiohttp sends it, and the client reads it as the next response).
   */
  override async prepare(request: Request): Promise<void> {
    if (this._res !== null) return;
    if (this._compression) {
      // Shared: a prepare() still coding when the handler returns is not coded and sent twice.
      this.coding ??= this.code(request);
      await this.coding;
      if (this._res !== null) return;
    }
    const res = request._res;
    this._writeFullHead(res);
    const hasBody = (res as { _hasBody?: boolean })._hasBody !== false;
    this._remaining = hasBody && !this.noBody() ? this.sentLength() : null;
  }

  /**
   * Codes the body for `request` when enableCompression() chose a coding — the answer to HEAD
   * too, whose `Content-Length` is the coded length, as aiohttp's. A large body is coded on the
   * thread pool (content-coding.ts `SYNC_LIMIT`).
   */
  private async code(request: Request): Promise<void> {
    const coding = this._chooseCoding(request);
    if (coding === 'identity' || this.noBody()) return;
    this.headers.set('content-encoding', coding);
    const b = this._body;
    const bytes = b === null ? new Uint8Array(0) : typeof b === 'string' ? Buffer.from(b) : b;
    this.coded = await codeBody(bytes, coding);
  }

  private sentLength(): number {
    return this.coded === null ? this._length : this.coded.byteLength;
  }

  /**
   * As StreamResponse's; see prepare() for the `Content-Length` the bytes count against.
   * @throws {RuntimeError} the body is compressed: bytes sent before it would not be part of
   *   the coded stream the client decodes.
   */
  override async write(data: string | Uint8Array): Promise<void> {
    if (this.coded !== null) {
      throw new RuntimeError(
        'Cannot write() to a compressed Response: its body is coded whole (use a StreamResponse to write pieces)',
        'ERR_WEFT_WEB_CODED',
      );
    }
    return super.write(data);
  }

  /**
   * Sends the body and ends the response (after `prepare()`), as aiohttp's. Empty `data`
   * (`''`, zero bytes) is taken as none, as aiohttp's `write_eof(b'')`.
   * @throws {TypeError} non-empty `data`: a Response's body is its own (aiohttp's
   *   AssertionError).
   */
  override async writeEof(data?: string | Uint8Array): Promise<void> {
    const empty =
      data === undefined || data === '' || (data instanceof Uint8Array && data.byteLength === 0);
    if (!empty) {
      throw new TypeError(
        'Response.writeEof() takes no data: the body is the one the Response was given',
      );
    }
    const b = this.coded ?? this._body;
    await super.writeEof(b === null || this.noBody() ? undefined : b);
  }

  /** @internal The hot path: one writeHead, one end. */
  override _send(request: Request): Promise<void> | undefined {
    // Prepared by the handler: the body goes through the length check (see prepare).
    if (this._res !== null) return this.writeEof();
    if (this._compression) return this.sendCoded(request);
    const res = request._res;
    this._writeFullHead(res);
    const b = this._body;
    if (b === null) res.end();
    else res.end(b);
    return undefined;
  }

  /** The hot path's shape once the body is coded: one writeHead, one end. */
  private async sendCoded(request: Request): Promise<void> {
    this.coding ??= this.code(request);
    await this.coding;
    // The handler's own prepare() may have sent the head meanwhile.
    if (this._res !== null) return this.writeEof();
    const res = request._res;
    this._writeFullHead(res);
    const b = this.coded ?? this._body;
    if (b === null) res.end();
    else res.end(b);
  }

  private noBody(): boolean {
    return !carriesBody(this.status);
  }

  /**
   * Sends the head, and only then makes the response prepared: a head Node refuses (a bad
   * header value) leaves it as it was, headers included, so that a handler that mends it and
   * prepares again sends its own head.
   */
  private _writeFullHead(res: ServerResponse): void {
    const noBody = this.noBody();
    const type = this._headers?.get('content-type') ?? this._type;
    const extra: (string | number)[] = noBody
      ? []
      : ['content-type', type, 'content-length', this.sentLength()];
    if (this._headers === null && this._cookies === null) {
      res.writeHead(this.status, this.reason, extra as unknown as string[]);
    } else {
      this._writeHead(res, extra, { bodyHeaders: false });
      if (this._headers !== null) {
        this._headers.delete('content-type');
        this._headers.delete('content-length');
      }
    }
    this._res = res;
  }
}

/**
 * @internal `text` as the bytes of the charset a Content-Type names (UTF-8 when it names none),
 * for a body sent outside a Response (an HTTPException's).
 * @throws {RangeError} as a Response's text.
 */
export function textInCharsetOf(text: string, type: string | null): string | Buffer {
  return encodeText(text, charsetOf(type) ?? 'utf-8');
}

/** A JSON response (`web.json_response`): `data` serialised with `JSON.stringify`. */
export function jsonResponse(
  data: unknown,
  options: Omit<ResponseOptions, 'text' | 'body'> & {
    dumps?: (value: unknown) => string;
  } = {},
): Response {
  const text = (options.dumps ?? JSON.stringify)(data);
  if (typeof text !== 'string') {
    throw argumentError('jsonResponse data must be serialisable to JSON', data);
  }
  return new Response({
    ...options,
    text,
    contentType: options.contentType ?? 'application/json',
  });
}
