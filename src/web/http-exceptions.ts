/**
 * HTTP errors as throwable classes, as in aiohttp: `throw new HTTPNotFound()` inside a handler
 * (or a middleware) answers 404; `throw new HTTPFound('/login')` redirects.
 *
 * In aiohttp an HTTPException is both an exception and a Response. A TypeScript class cannot
 * extend both `Error` and `Response`, so these are errors that carry what the response needs
 * (`status`, `reason`, `text`, `headers`, `contentType`); the server turns a thrown one into a
 * response. Every class has a stable `code` (`ERR_WEFT_HTTP_404`) and an `instanceof` that
 * survives two copies of weft (see src/internal/errors.ts).
 */
import { STATUS_CODES } from 'node:http';
import { type ErrorClass, registerErrorClass } from '../internal/error-registry.js';
import { argumentError, rangeError, WeftError } from '../internal/errors.js';

/**
 * Where Python's reason phrases (`http.HTTPStatus`, which aiohttp sends) differ from Node's:
 * the older names of 413, 414 and 416, and none for 509, which Python does not list.
 */
const PYTHON_PHRASES: Readonly<Record<number, string>> = {
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  416: 'Requested Range Not Satisfiable',
  509: '',
};

/**
 * @internal The reason phrase aiohttp sends for `status`: Python's phrase, or an empty one for a
 * status Python does not know (Node would send `unknown`).
 */
export function reasonPhrase(status: number): string {
  return PYTHON_PHRASES[status] ?? STATUS_CODES[status] ?? '';
}

/** What a status line cannot carry: control characters other than tab, and above U+00FF. */
const REASON_BAD = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * @internal `reason` if a status line can carry it.
 * @throws {TypeError} not a string. {RangeError} a CR or LF (aiohttp's ValueError: it would end
 *   the status line), or another character HTTP/1.1 does not allow there (a control character,
 *   or one above U+00FF, which Node refuses to send).
 */
export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string') throw argumentError('Reason must be a string', reason);
  if (/[\r\n]/.test(reason)) throw rangeError('Reason cannot contain \\r or \\n', reason);
  if (REASON_BAD.test(reason)) {
    throw rangeError(
      'Reason must hold only tabs and visible Latin-1 characters (no control characters)',
      reason,
    );
  }
  return reason;
}

/** Headers as a `Headers`, an object or a list of pairs. */
export type HeadersInput = ConstructorParameters<typeof Headers>[0];

export interface HTTPExceptionOptions {
  /**
   * Body text; defaults to "<status>: <reason>" (`302: Found`), as aiohttp's, except for the
   * statuses that carry no body (204, 304).
   */
  text?: string;
  /**
   * Status line reason; defaults to Python's phrase for the status, as aiohttp's.
   * @throws {RangeError} a CR, LF or other control character.
   */
  reason?: string;
  headers?: HeadersInput;
  /**
   * Defaults to `text/plain` when there is a body (sent with `charset=utf-8`); a `Content-Type`
   * in `headers` is sent as it is instead.
   */
  contentType?: string;
  cause?: unknown;
}

/** Base class: any HTTP status answered by throwing. */
export class HTTPException extends WeftError {
  static override readonly kind: string = 'HTTPException';
  /** The status code of the class (0 on the abstract bases). */
  static readonly status: number = 0;
  /** Statuses that must not carry a body. */
  static readonly emptyBody: boolean = false;
  readonly status: number;
  readonly reason: string;
  readonly text: string;
  readonly contentType: string;
  readonly headers: Headers;

  constructor(options: HTTPExceptionOptions = {}) {
    const ctor = new.target as typeof HTTPException;
    const status = ctor.status;
    if (status === 0) {
      throw new TypeError(
        `${ctor.kind} is an abstract base: throw one of its subclasses (HTTPNotFound, …)`,
      );
    }
    const reason =
      options.reason === undefined ? reasonPhrase(status) : checkReason(options.reason);
    const text = options.text ?? (ctor.emptyBody ? '' : `${status}: ${reason}`);
    super(
      `${status} ${reason}`,
      `ERR_WEFT_HTTP_${status}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.status = status;
    this.reason = reason;
    this.text = ctor.emptyBody ? '' : text;
    this.headers = new Headers(options.headers);
    const given = this.headers.get('content-type');
    // One Content-Type: the explicit option wins, else the one among the headers (sent as is).
    if (options.contentType !== undefined) this.headers.delete('content-type');
    this.contentType =
      options.contentType ??
      (given === null ? 'text/plain' : (given.split(';')[0] as string).trim());
  }
}

/** 2xx. */
export class HTTPSuccessful extends HTTPException {
  static override readonly kind: string = 'HTTPSuccessful';
}
/** 3xx that carry a `Location`. */
export class HTTPRedirection extends HTTPException {
  static override readonly kind: string = 'HTTPRedirection';
}
/** 4xx and 5xx. */
export class HTTPError extends HTTPException {
  static override readonly kind: string = 'HTTPError';
}
export class HTTPClientError extends HTTPError {
  static override readonly kind: string = 'HTTPClientError';
}
export class HTTPServerError extends HTTPError {
  static override readonly kind: string = 'HTTPServerError';
}

export class HTTPOk extends HTTPSuccessful {
  static override readonly kind: string = 'HTTPOk';
  static override readonly status: number = 200;
}
export class HTTPCreated extends HTTPSuccessful {
  static override readonly kind: string = 'HTTPCreated';
  static override readonly status: number = 201;
}
export class HTTPAccepted extends HTTPSuccessful {
  static override readonly kind: string = 'HTTPAccepted';
  static override readonly status: number = 202;
}
export class HTTPNoContent extends HTTPSuccessful {
  static override readonly kind: string = 'HTTPNoContent';
  static override readonly status: number = 204;
  static override readonly emptyBody: boolean = true;
}

/**
 * Characters a URI never holds as they are (RFC 3986): controls, space, `"<>\`{|}^`, anything
 * past ASCII, and a `%` that does not start an escape.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the controls are what is matched
const URI_UNSAFE = /[\u0000-\u0020"<>\\^`{|}\u007f]|%(?![0-9A-Fa-f]{2})|[^\u0000-\u007f]/gu;

/**
 * `location` as a header can carry it: the characters above percent-encoded as UTF-8 (`/café`
 * → `/caf%C3%A9`, `a b` → `a%20b`), as aiohttp's `str(URL(location))` sends it; what is
 * already escaped stays. CR and LF are refused, not encoded: a redirect target holding them is
 * a header injection, not a path.
 * @throws {TypeError} CR or LF, or a lone surrogate (no UTF-8 for it).
 */
function locationHeader(location: string): string {
  if (/[\r\n]/.test(location)) {
    throw new TypeError(
      `A redirect location must not hold CR or LF: received ${JSON.stringify(location)}`,
    );
  }
  try {
    return location.replace(URI_UNSAFE, (c) => encodeURIComponent(c));
  } catch {
    throw new TypeError(
      `A redirect location must be well-formed Unicode: received ${JSON.stringify(location)}`,
    );
  }
}

/** Base of the redirects: `new HTTPFound(location)`. */
export class HTTPMove extends HTTPRedirection {
  static override readonly kind: string = 'HTTPMove';
  /**
   * The location as given (`/café`), as aiohttp's `location`; the `Location` header carries it
   * percent-encoded where a URI needs it (`/caf%C3%A9`).
   */
  readonly location: string;
  /**
   * @throws {TypeError} an empty location, or one holding CR, LF or a lone surrogate.
   */
  constructor(location: string, options: HTTPExceptionOptions = {}) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError(`A redirect needs a non-empty location: received ${String(location)}`);
    }
    const encoded = locationHeader(location);
    super(options);
    this.location = location;
    this.headers.set('Location', encoded);
  }
}
export class HTTPMultipleChoices extends HTTPMove {
  static override readonly kind: string = 'HTTPMultipleChoices';
  static override readonly status: number = 300;
}
export class HTTPMovedPermanently extends HTTPMove {
  static override readonly kind: string = 'HTTPMovedPermanently';
  static override readonly status: number = 301;
}
export class HTTPFound extends HTTPMove {
  static override readonly kind: string = 'HTTPFound';
  static override readonly status: number = 302;
}
export class HTTPSeeOther extends HTTPMove {
  static override readonly kind: string = 'HTTPSeeOther';
  static override readonly status: number = 303;
}
export class HTTPNotModified extends HTTPRedirection {
  static override readonly kind: string = 'HTTPNotModified';
  static override readonly status: number = 304;
  static override readonly emptyBody: boolean = true;
}
export class HTTPTemporaryRedirect extends HTTPMove {
  static override readonly kind: string = 'HTTPTemporaryRedirect';
  static override readonly status: number = 307;
}
export class HTTPPermanentRedirect extends HTTPMove {
  static override readonly kind: string = 'HTTPPermanentRedirect';
  static override readonly status: number = 308;
}

export class HTTPBadRequest extends HTTPClientError {
  static override readonly kind: string = 'HTTPBadRequest';
  static override readonly status: number = 400;
}
export class HTTPUnauthorized extends HTTPClientError {
  static override readonly kind: string = 'HTTPUnauthorized';
  static override readonly status: number = 401;
}
export class HTTPPaymentRequired extends HTTPClientError {
  static override readonly kind: string = 'HTTPPaymentRequired';
  static override readonly status: number = 402;
}
export class HTTPForbidden extends HTTPClientError {
  static override readonly kind: string = 'HTTPForbidden';
  static override readonly status: number = 403;
}
export class HTTPNotFound extends HTTPClientError {
  static override readonly kind: string = 'HTTPNotFound';
  static override readonly status: number = 404;
}
/** 405, with the `Allow` header listing `allowedMethods`. */
export class HTTPMethodNotAllowed extends HTTPClientError {
  static override readonly kind: string = 'HTTPMethodNotAllowed';
  static override readonly status: number = 405;
  readonly method: string;
  readonly allowedMethods: readonly string[];
  constructor(
    method: string,
    allowedMethods: Iterable<string>,
    options: HTTPExceptionOptions = {},
  ) {
    super(options);
    this.method = method.toUpperCase();
    this.allowedMethods = [...allowedMethods].sort();
    this.headers.set('Allow', this.allowedMethods.join(','));
  }
}
export class HTTPNotAcceptable extends HTTPClientError {
  static override readonly kind: string = 'HTTPNotAcceptable';
  static override readonly status: number = 406;
}
export class HTTPRequestTimeout extends HTTPClientError {
  static override readonly kind: string = 'HTTPRequestTimeout';
  static override readonly status: number = 408;
}
export class HTTPConflict extends HTTPClientError {
  static override readonly kind: string = 'HTTPConflict';
  static override readonly status: number = 409;
}
export class HTTPGone extends HTTPClientError {
  static override readonly kind: string = 'HTTPGone';
  static override readonly status: number = 410;
}
export class HTTPLengthRequired extends HTTPClientError {
  static override readonly kind: string = 'HTTPLengthRequired';
  static override readonly status: number = 411;
}
export class HTTPPreconditionFailed extends HTTPClientError {
  static override readonly kind: string = 'HTTPPreconditionFailed';
  static override readonly status: number = 412;
}
/**
 * 413: the request body exceeds the application's `clientMaxSize`. The text is aiohttp's
 * (`Maximum request body size 1024 exceeded, actual body size 2048`); `actualSize` is the
 * declared length, or what had arrived when the limit was passed (null: unknown).
 */
export class HTTPRequestEntityTooLarge extends HTTPClientError {
  static override readonly kind: string = 'HTTPRequestEntityTooLarge';
  static override readonly status: number = 413;
  readonly maxSize: number;
  readonly actualSize: number | null;
  constructor(maxSize: number, actualSize: number | null, options: HTTPExceptionOptions = {}) {
    super({
      text: `Maximum request body size ${maxSize} exceeded, actual body size ${
        actualSize === null ? 'unknown' : actualSize
      }`,
      ...options,
    });
    this.maxSize = maxSize;
    this.actualSize = actualSize;
  }
}
export class HTTPRequestURITooLong extends HTTPClientError {
  static override readonly kind: string = 'HTTPRequestURITooLong';
  static override readonly status: number = 414;
}
export class HTTPUnsupportedMediaType extends HTTPClientError {
  static override readonly kind: string = 'HTTPUnsupportedMediaType';
  static override readonly status: number = 415;
}
export class HTTPRequestRangeNotSatisfiable extends HTTPClientError {
  static override readonly kind: string = 'HTTPRequestRangeNotSatisfiable';
  static override readonly status: number = 416;
}
export class HTTPExpectationFailed extends HTTPClientError {
  static override readonly kind: string = 'HTTPExpectationFailed';
  static override readonly status: number = 417;
}
export class HTTPUnprocessableEntity extends HTTPClientError {
  static override readonly kind: string = 'HTTPUnprocessableEntity';
  static override readonly status: number = 422;
}
export class HTTPTooManyRequests extends HTTPClientError {
  static override readonly kind: string = 'HTTPTooManyRequests';
  static override readonly status: number = 429;
}
export class HTTPRequestHeaderFieldsTooLarge extends HTTPClientError {
  static override readonly kind: string = 'HTTPRequestHeaderFieldsTooLarge';
  static override readonly status: number = 431;
}

export class HTTPInternalServerError extends HTTPServerError {
  static override readonly kind: string = 'HTTPInternalServerError';
  static override readonly status: number = 500;
}
export class HTTPNotImplemented extends HTTPServerError {
  static override readonly kind: string = 'HTTPNotImplemented';
  static override readonly status: number = 501;
}
export class HTTPBadGateway extends HTTPServerError {
  static override readonly kind: string = 'HTTPBadGateway';
  static override readonly status: number = 502;
}
export class HTTPServiceUnavailable extends HTTPServerError {
  static override readonly kind: string = 'HTTPServiceUnavailable';
  static override readonly status: number = 503;
}
export class HTTPGatewayTimeout extends HTTPServerError {
  static override readonly kind: string = 'HTTPGatewayTimeout';
  static override readonly status: number = 504;
}

// Each comes back from a thread or a process as itself, headers included (a handler that ran
// its work in a pool rethrows what the pool raised, and the server answers with its status).
for (const cls of [
  HTTPException,
  HTTPSuccessful,
  HTTPRedirection,
  HTTPError,
  HTTPClientError,
  HTTPServerError,
  HTTPOk,
  HTTPCreated,
  HTTPAccepted,
  HTTPNoContent,
  HTTPMove,
  HTTPMultipleChoices,
  HTTPMovedPermanently,
  HTTPFound,
  HTTPSeeOther,
  HTTPNotModified,
  HTTPTemporaryRedirect,
  HTTPPermanentRedirect,
  HTTPBadRequest,
  HTTPUnauthorized,
  HTTPPaymentRequired,
  HTTPForbidden,
  HTTPNotFound,
  HTTPMethodNotAllowed,
  HTTPNotAcceptable,
  HTTPRequestTimeout,
  HTTPConflict,
  HTTPGone,
  HTTPLengthRequired,
  HTTPPreconditionFailed,
  HTTPRequestEntityTooLarge,
  HTTPRequestURITooLong,
  HTTPUnsupportedMediaType,
  HTTPRequestRangeNotSatisfiable,
  HTTPExpectationFailed,
  HTTPUnprocessableEntity,
  HTTPTooManyRequests,
  HTTPRequestHeaderFieldsTooLarge,
  HTTPInternalServerError,
  HTTPNotImplemented,
  HTTPBadGateway,
  HTTPServiceUnavailable,
  HTTPGatewayTimeout,
]) {
  registerErrorClass(cls as unknown as ErrorClass);
}
