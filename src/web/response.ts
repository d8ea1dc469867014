/**
 * Response: a response whose body is known when it is built (aiohttp's `web.Response`), and
 * `jsonResponse`.
 */
import type { ServerResponse } from 'node:http';
import { argumentError, rangeError } from '../internal/errors.js';
import { charsetOf } from './mime-types.js';
import type { Request } from './request.js';
import { StreamResponse, type StreamResponseOptions } from './stream-response.js';

const TEXT_PLAIN = 'text/plain; charset=utf-8';

export interface ResponseOptions extends StreamResponseOptions {
  /**
   * A text body, encoded in `charset` (`contentType` defaults to `text/plain`).
   * @throws {RangeError} a charset weft cannot encode in (it knows UTF-8, Latin-1, ASCII and
   *   UTF-16LE), or a character the charset cannot represent.
   */
  text?: string;
  /**
   * A byte or string body. Bytes default to `application/octet-stream`; a string is sent as
   * UTF-8 and defaults to `text/plain; charset=utf-8`, as in aiohttp.
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
      this.setBody(encodeText(text, charset));
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
    this.setBody(encodeText(value, charset));
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

  private setBody(b: string | Uint8Array): void {
    if (typeof b === 'string') {
      this._length = Buffer.byteLength(b);
    } else if (b instanceof Uint8Array) {
      this._length = b.byteLength;
    } else throw argumentError('Response body must be a string or bytes', b);
    this._body = b;
  }

  override async prepare(request: Request): Promise<void> {
    if (this._res !== null) return;
    const res = request._res;
    this._res = res;
    this._writeFullHead(res);
  }

  /** @internal The hot path: one writeHead, one end. */
  override _send(request: Request): Promise<void> | undefined {
    const res = request._res;
    if (this._res === null) {
      this._res = res;
      this._writeFullHead(res);
    }
    const b = this._body;
    if (b === null) res.end();
    else res.end(b);
    return undefined;
  }

  private _writeFullHead(res: ServerResponse): void {
    const noBody = this.status === 204 || this.status === 304 || this.status < 200;
    const type = this._headers?.get('content-type') ?? this._type;
    const extra: (string | number)[] = noBody
      ? []
      : ['content-type', type, 'content-length', this._length];
    if (this._headers === null && this._cookies === null) {
      if (this.reason === undefined) res.writeHead(this.status, extra as unknown as string[]);
      else res.writeHead(this.status, this.reason, extra as unknown as string[]);
    } else {
      if (this._headers !== null) {
        this._headers.delete('content-type');
        this._headers.delete('content-length');
      }
      this._writeHead(res, extra);
    }
  }
}

/** Node's encodings for the charsets a text body can be sent in, by lower-cased name. */
const ENCODINGS: Record<string, BufferEncoding> = {
  'utf-8': 'utf8',
  utf8: 'utf8',
  utf_8: 'utf8',
  u8: 'utf8',
  utf: 'utf8',
  latin_1: 'latin1',
  iso_8859_1: 'latin1',
  cp819: 'latin1',
  '646': 'ascii',
  'latin-1': 'latin1',
  latin1: 'latin1',
  'iso-8859-1': 'latin1',
  iso8859_1: 'latin1',
  'iso8859-1': 'latin1',
  l1: 'latin1',
  ascii: 'ascii',
  'us-ascii': 'ascii',
  'utf-16le': 'utf16le',
  'utf-16-le': 'utf16le',
  utf_16_le: 'utf16le',
};

/**
 * `b` decoded as Python's `bytes.decode(charset)` would: Latin-1 byte for code point, ASCII,
 * UTF-8 and UTF-16LE strict (WHATWG's `ascii` and `latin1` labels are windows-1252, so not
 * TextDecoder there). Another charset goes to TextDecoder as it is (its WHATWG table).
 * @throws {RangeError} bytes the charset cannot decode, or a charset nothing here knows.
 */
function decodeText(b: Uint8Array, charset: string): string {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const enc = ENCODINGS[charset.toLowerCase()];
  if (enc === 'latin1') return buf.toString(enc);
  if (enc === 'ascii') {
    const i = buf.findIndex((x) => x > 0x7f);
    if (i !== -1)
      throw new RangeError(`Response body cannot be decoded as ${charset}: byte ${buf[i]} at ${i}`);
    return buf.toString('latin1');
  }
  try {
    const label = enc === 'utf8' ? 'utf-8' : enc === 'utf16le' ? 'utf-16le' : charset;
    return new TextDecoder(label, { fatal: true }).decode(buf);
  } catch (e) {
    throw new RangeError(`Response body cannot be decoded as ${charset}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/**
 * `text` as the bytes of `charset` (UTF-8 stays a string: Node writes it as such). weft encodes
 * UTF-8, Latin-1, ASCII and UTF-16LE (Python's names of them too); text of ASCII characters only
 * goes out as ASCII in any other charset that extends ASCII (windows-1252, ISO-8859-15,
 * Shift_JIS…: the same bytes). A character the charset cannot hold raises, as Python's
 * `str.encode` does (Node would mangle it silently).
 * @throws {RangeError} such a character, or other text in a charset weft cannot encode in.
 */
function encodeText(text: string, charset: string): string | Buffer {
  if (typeof charset !== 'string')
    throw argumentError('Response charset must be a string', charset);
  const encoding = ENCODINGS[charset.toLowerCase()];
  if (encoding === undefined) {
    // A charset the platform knows (its WHATWG name), other than UTF-16 (whose ASCII is not one
    // byte a character) and `replacement`, extends ASCII: ASCII text is the same bytes there.
    if (firstAbove(text, 0x7f) === -1 && extendsAscii(charset)) return text;
    throw rangeError(
      'weft cannot encode this text in this charset (it knows utf-8, latin-1, ascii and ' +
        'utf-16le, and ASCII text in any charset that extends ASCII): give the encoded bytes as body instead',
      charset,
    );
  }
  if (encoding === 'utf8') return text;
  const max = encoding === 'latin1' ? 0xff : encoding === 'ascii' ? 0x7f : -1;
  const i = max === -1 ? -1 : firstAbove(text, max);
  if (i !== -1) {
    throw new RangeError(
      `Response text holds a character that charset ${charset} cannot encode ` +
        `(U+${text.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')} at index ${i})`,
    );
  }
  return Buffer.from(text, encoding);
}

/** Whether `charset` names an encoding the platform knows that extends ASCII. */
function extendsAscii(charset: string): boolean {
  let name: string;
  try {
    name = new TextDecoder(charset).encoding;
  } catch {
    return false; // no such charset
  }
  return name !== 'utf-16le' && name !== 'utf-16be' && name !== 'replacement';
}

/** The index of the first UTF-16 unit of `text` above `max`, or -1. */
function firstAbove(text: string, max: number): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > max) return i;
  return -1;
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
