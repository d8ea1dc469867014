/**
 * The TLS options of weft/streams and their checks. No `node:tls` here (only its types): the
 * checks run on every call, TLS or not, and tls.ts, which makes contexts and handshakes, is
 * loaded only by a call that asks for TLS (loading Node's TLS costs milliseconds).
 */
import type {
  ConnectionOptions as NodeTlsConnectionOptions,
  SecureContext,
  TLSSocket,
} from 'node:tls';
import { argumentError } from '../internal/errors.js';

/** asyncio's defaults (constants.SSL_HANDSHAKE_TIMEOUT, SSL_SHUTDOWN_TIMEOUT), in ms. */
const SSL_HANDSHAKE_TIMEOUT = 60_000;
const SSL_SHUTDOWN_TIMEOUT = 30_000;

/**
 * TLS settings, as `tls.connect` takes them (a client: `ca`, `cert`/`key` for a client
 * certificate, `rejectUnauthorized`, `checkServerIdentity`, `ALPNProtocols`, `minVersion`, …)
 * or as a TLS server takes them (`key`, `cert`, `ca`, `requestCert`, `rejectUnauthorized`,
 * `ALPNProtocols`, `SNICallback`, …). weft supplies the socket and the server name.
 */
export type SslOptions = Omit<
  NodeTlsConnectionOptions,
  'socket' | 'host' | 'port' | 'path' | 'servername' | 'timeout' | 'lookup' | 'onread'
> & {
  SNICallback?: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
};

/**
 * asyncio's `ssl=`: `true` (a client only: Node's default CAs, the server's certificate
 * and name verified — `ssl.create_default_context()`), a context from `tls.createSecureContext`,
 * or `SslOptions`. `false`, `null` or absent: plain TCP.
 */
export type SslContext = boolean | SecureContext | SslOptions;

/** The TLS options of `openConnection`; `startServer` takes them without `serverHostname`. */
export interface TlsConnectOptions {
  ssl?: SslContext | null;
  /**
   * The name the server's certificate must carry, and the SNI name sent (default: `host`).
   * `''` turns the name check off (asyncio's `server_hostname=''`). Only with `ssl`.
   */
  serverHostname?: string | null;
  /** ms the handshake may take before the connection is aborted (default 60 000). Only with `ssl`. */
  sslHandshakeTimeout?: number | null;
  /**
   * ms `close()` may take to send what is queued and TLS's close_notify before the connection
   * is aborted with `TimeoutError` (default 30 000). Only with `ssl`.
   */
  sslShutdownTimeout?: number | null;
}

/** A checked `ssl` request; tls.ts makes its context (`makeTlsSetup`). */
export interface TlsRequest {
  readonly ssl: true | SecureContext | Readonly<Record<string, unknown>>;
  readonly handshakeTimeout: number;
  readonly shutdownTimeout: number;
  /** The client's `serverHostname` (undefined: the host connected to). */
  readonly serverHostname: string | undefined;
}

/** True for what `tls.createSecureContext` made (Node does not export the class). */
export function isSecureContext(x: unknown): x is SecureContext {
  return (
    typeof x === 'object' &&
    x !== null &&
    'context' in x &&
    (x as object).constructor?.name === 'SecureContext'
  );
}

/**
 * Checks the TLS options of a call (`what` names it). Null when `ssl` is off; the other TLS
 * options are refused then, as asyncio refuses them (its `ValueError`, a RangeError here). A
 * server's `ssl` must be a context or options with its certificate: `true` is a TypeError, as
 * asyncio's `ssl argument must be an SSLContext or None` is.
 * @throws {TypeError} an option of the wrong type. {RangeError} a bad value or combination.
 */
export function checkTlsOptions(
  what: string,
  options: TlsConnectOptions,
  side: 'client' | 'server',
): TlsRequest | null {
  const ssl = options.ssl ?? false;
  const hostName = options.serverHostname ?? null;
  const hsTimeout = options.sslHandshakeTimeout ?? null;
  const sdTimeout = options.sslShutdownTimeout ?? null;
  if (ssl === false) {
    if (hostName !== null) {
      throw new RangeError(`${what}: serverHostname is only meaningful with ssl`);
    }
    if (hsTimeout !== null) {
      throw new RangeError(`${what}: sslHandshakeTimeout is only meaningful with ssl`);
    }
    if (sdTimeout !== null) {
      throw new RangeError(`${what}: sslShutdownTimeout is only meaningful with ssl`);
    }
    return null;
  }
  if (hostName !== null && typeof hostName !== 'string') {
    throw argumentError(`${what}: serverHostname must be a string`, hostName);
  }
  const handshakeTimeout = checkTlsTimeout(what, 'sslHandshakeTimeout', hsTimeout);
  const shutdownTimeout = checkTlsTimeout(what, 'sslShutdownTimeout', sdTimeout);
  if (ssl === true) {
    if (side === 'server') {
      throw new TypeError(
        `${what}: a server's ssl must be a tls.SecureContext or TLS options with its key and certificate: received true`,
      );
    }
  } else if (
    !isSecureContext(ssl) &&
    (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl))
  ) {
    throw argumentError(
      `${what}: ssl must be ${side === 'client' ? 'true, ' : ''}a tls.SecureContext or TLS options (or false/null for plain TCP)`,
      ssl,
    );
  } else if (!isSecureContext(ssl)) {
    const given = (ssl as { secureContext?: unknown }).secureContext;
    if (given !== undefined && !isSecureContext(given)) {
      throw argumentError(`${what}: ssl.secureContext must be a tls.SecureContext`, given);
    }
  }
  return {
    ssl: ssl as TlsRequest['ssl'],
    handshakeTimeout,
    shutdownTimeout,
    serverHostname: hostName === null ? undefined : hostName,
  };
}

function checkTlsTimeout(what: string, name: string, v: unknown): number {
  if (v === null) {
    return name === 'sslHandshakeTimeout' ? SSL_HANDSHAKE_TIMEOUT : SSL_SHUTDOWN_TIMEOUT;
  }
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw argumentError(`${what}: ${name} must be a number of ms`, v);
  }
  if (v <= 0) {
    throw new RangeError(`${what}: ${name} must be a positive number of ms: received ${v}`);
  }
  return v;
}

/** What a TLS connection's writer keeps: for `getExtraInfo`, its close, and `startTls`. */
export interface TlsInfo {
  readonly socket: TLSSocket;
  readonly context: SecureContext;
  readonly shutdownTimeout: number;
}

/** The TlsInfo of `socket`, whose handshake was made with `setup` (tls.ts's TlsSetup). */
export function tlsInfoOf(
  socket: TLSSocket,
  setup: { readonly context: SecureContext; readonly shutdownTimeout: number },
): TlsInfo {
  return { socket, context: setup.context, shutdownTimeout: setup.shutdownTimeout };
}
