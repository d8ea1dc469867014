/**
 * Client errors, with aiohttp's names and hierarchy:
 *
 *   ClientError
 *   ├── ClientConnectionError           (itself: reading the body of a released response)
 *   │   ├── ClientConnectorError        cannot connect (refused, unresolvable, connect timeout)
 *   │   └── ServerConnectionError
 *   │       ├── ServerDisconnectedError the server closed the connection mid-exchange
 *   │       └── ServerTimeoutError      no data for `sockRead` ms
 *   ├── ClientResponseError             raiseForStatus(): status >= 400
 *   │   ├── ContentTypeError            json(): the response is not of the expected type
 *   │   ├── TooManyRedirects
 *   │   └── WSServerHandshakeError      wsConnect(): the server did not accept the WebSocket
 *   ├── ClientPayloadError              the body could not be read completely
 *   └── InvalidURL
 *
 * A `timeout.total` that passes raises weft's `TimeoutError` (aiohttp raises asyncio's), and a
 * cancelled task's request raises `CancelledError`.
 */
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { WeftError } from '../internal/errors.js';
import type { ClientResponse } from './client-response.js';

export class ClientError extends WeftError {
  static override readonly kind: string = 'ClientError';
  constructor(message: string, code = 'ERR_WEFT_CLIENT', options?: ErrorOptions) {
    super(message, code, options);
  }
}
export class ClientConnectionError extends ClientError {
  static override readonly kind: string = 'ClientConnectionError';
  constructor(message: string, code = 'ERR_WEFT_CLIENT_CONNECTION', options?: ErrorOptions) {
    super(message, code, options);
  }
}
export class ClientConnectorError extends ClientConnectionError {
  static override readonly kind: string = 'ClientConnectorError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_CLIENT_CONNECTOR', options);
  }
}
export class ServerConnectionError extends ClientConnectionError {
  static override readonly kind: string = 'ServerConnectionError';
  constructor(message: string, code = 'ERR_WEFT_SERVER_CONNECTION', options?: ErrorOptions) {
    super(message, code, options);
  }
}
export class ServerDisconnectedError extends ServerConnectionError {
  static override readonly kind: string = 'ServerDisconnectedError';
  constructor(message = 'Server disconnected', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_SERVER_DISCONNECTED', options);
  }
}
export class ServerTimeoutError extends ServerConnectionError {
  static override readonly kind: string = 'ServerTimeoutError';
  constructor(message = 'Timeout on reading data from socket', options?: ErrorOptions) {
    super(message, 'ERR_WEFT_SERVER_TIMEOUT', options);
  }
}

/** The request a response answers (aiohttp's `RequestInfo`): as sent, headers included. */
export interface RequestInfo {
  readonly url: URL;
  readonly method: string;
  /** The headers sent (the session's, the request's and weft's own: cookies, auth, defaults). */
  readonly headers: Headers;
  /** The URL with its fragment, as aiohttp's `real_url` (weft sends none: the same URL). */
  readonly realUrl: URL;
}

export interface ResponseErrorInfo {
  status: number;
  message: string;
  headers: Headers | null;
  url: string;
  method: string;
  /** The request answered, when known. */
  requestInfo?: RequestInfo | null;
  /** The redirect responses before this one. */
  history?: readonly ClientResponse[];
}

/** The response had an error status (`raiseForStatus()`), or redirects went on too long. */
export class ClientResponseError extends ClientError {
  static override readonly kind: string = 'ClientResponseError';
  readonly status: number;
  readonly headers: Headers | null;
  readonly url: string;
  readonly method: string;
  /** aiohttp's `request_info`: the request the response answered (null when unknown). */
  readonly requestInfo: RequestInfo | null;
  /** aiohttp's `history`: the redirect responses that led to it. */
  readonly history: readonly ClientResponse[];
  constructor(info: ResponseErrorInfo, code = 'ERR_WEFT_CLIENT_RESPONSE') {
    super(`${info.status}, message='${info.message}', url='${info.url}'`, code);
    this.status = info.status;
    this.headers = info.headers;
    this.url = info.url;
    this.method = info.method;
    this.requestInfo = info.requestInfo ?? null;
    this.history = info.history ?? [];
  }
}
/**
 * `json()` was asked to decode a response whose `Content-Type` is not the expected one (by
 * default one starting with `application/json` or `application/<subtype>+json`, as aiohttp's).
 * Pass `contentType: null` to skip the check.
 */
export class ContentTypeError extends ClientResponseError {
  static override readonly kind: string = 'ContentTypeError';
  constructor(info: ResponseErrorInfo) {
    super(info, 'ERR_WEFT_CONTENT_TYPE');
  }
}
export class TooManyRedirects extends ClientResponseError {
  static override readonly kind: string = 'TooManyRedirects';
  constructor(info: ResponseErrorInfo) {
    super(info, 'ERR_WEFT_TOO_MANY_REDIRECTS');
  }
}
/**
 * `wsConnect()`: the server did not complete the WebSocket handshake — a status other than 101
 * (`message` "Invalid response status"), or a 101 whose `Upgrade`, `Connection` or
 * `Sec-WebSocket-Accept` header is wrong — as aiohttp's. `status` and `headers` are the answer's.
 */
export class WSServerHandshakeError extends ClientResponseError {
  static override readonly kind: string = 'WSServerHandshakeError';
  constructor(info: ResponseErrorInfo) {
    super(info, 'ERR_WEFT_WS_HANDSHAKE');
  }
}
export class ClientPayloadError extends ClientError {
  static override readonly kind: string = 'ClientPayloadError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'ERR_WEFT_CLIENT_PAYLOAD', options);
  }
}
export class InvalidURL extends ClientError {
  static override readonly kind: string = 'InvalidURL';
  readonly url: string;
  constructor(url: string, options?: ErrorOptions) {
    super(`Invalid URL: received ${JSON.stringify(url)}`, 'ERR_WEFT_INVALID_URL', options);
    this.url = url;
  }
}

for (const cls of [
  ClientError,
  ClientConnectionError,
  ClientConnectorError,
  ServerConnectionError,
  ServerDisconnectedError,
  ServerTimeoutError,
  ClientResponseError,
  ContentTypeError,
  TooManyRedirects,
  WSServerHandshakeError,
  ClientPayloadError,
  InvalidURL,
]) {
  registerErrorClass(cls as unknown as ErrorClass);
}
