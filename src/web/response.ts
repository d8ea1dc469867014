/**
 * Response: a response whose body is known when it is built (aiohttp's `web.Response`), and
 * `jsonResponse`.
 */
import type { ServerResponse } from 'node:http';
import { argumentError } from '../internal/errors.js';
import type { Request } from './request.js';
import { StreamResponse, type StreamResponseOptions } from './stream-response.js';

const TEXT_PLAIN = 'text/plain; charset=utf-8';

export interface ResponseOptions extends StreamResponseOptions {
  /** A text body, sent as UTF-8 (`contentType` defaults to `text/plain`). */
  text?: string;
  /** A byte (or string) body (`contentType` defaults to `application/octet-stream`). */
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
    if (text !== undefined && body !== undefined && body !== null) {
      throw new TypeError('Response takes either text or body, not both');
    }
    let type: string;
    if (text !== undefined) {
      if (typeof text !== 'string') throw argumentError('Response text must be a string', text);
      type =
        options.contentType === undefined && options.charset === undefined
          ? TEXT_PLAIN
          : `${options.contentType ?? 'text/plain'}; charset=${options.charset ?? 'utf-8'}`;
      this.setBody(text);
    } else {
      type = options.contentType ?? 'application/octet-stream';
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

  /** The body decoded as UTF-8 text, or null. */
  get text(): string | null {
    const b = this._body;
    if (b === null) return null;
    return typeof b === 'string' ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString();
  }

  set text(value: string) {
    if (typeof value !== 'string') throw argumentError('Response text must be a string', value);
    this.setBody(value);
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
