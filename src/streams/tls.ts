/**
 * TLS for weft/streams (asyncio's `ssl=` on `open_connection`/`start_server`, and
 * `StreamWriter.start_tls`), on Node's `TLSSocket`. Loaded only by a call that asks for TLS
 * (see tls-options.ts).
 *
 * Implementation notes
 * --------------------
 * A connection is made (or accepted) in plain TCP first, then wrapped: a client by
 * `tls.connect({ socket })`, a server's connection by `new TLSSocket(socket, { isServer })`;
 * the reader and writer are wired to the TLS socket once its handshake is done, so a handler
 * never sees a connection whose handshake failed (asyncio calls `client_connected_cb` only
 * after it). A connection on weft's own descriptor (a RawTransport) is not a stream Node's TLS
 * can wrap: it goes through a RawDuplex first.
 *
 *   TCP connect/accept ──► TLSSocket ──'secure'──► wireStreams ──► handler / [reader, writer]
 *                              └── 'error', close, handshake timeout ──► typed error (client),
 *                                                                       dropped (server)
 *
 * The context (the certificate, the trusted CAs) is made once per `openConnection` or server,
 * not per connection. Errors take Python's classes (tls-errors.ts); a handshake that takes
 * longer than `sslHandshakeTimeout` is `ConnectionAbortedError`, in asyncio's words.
 */
import { isIP, type Socket as NetSocket } from 'node:net';
import {
  createSecureContext,
  type ConnectionOptions as NodeTlsConnectionOptions,
  type SecureContext,
  TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { debuglog } from 'node:util';
import { describeValue } from '../internal/errors.js';
import { Waiter } from '../internal/waiter.js';
import { ConnectionAbortedError, ConnectionResetError } from '../socket/errors.js';
import { RawDuplex } from './raw-duplex.js';
import { RawTransport } from './raw-transport.js';
import { fromTlsError } from './tls-errors.js';
import { isSecureContext, type TlsRequest } from './tls-options.js';

const debug = debuglog('weft');

/** A checked request with its context made: what each connection is wrapped with. */
export interface TlsSetup extends TlsRequest {
  readonly context: SecureContext;
  /** The rest of the user's options, given to each TLSSocket. */
  readonly options: Readonly<Record<string, unknown>>;
  /**
   * `serverHandshake` with this setup: a server starts it in the turn it accepts, with no
   * wait for this module to load in between (a reset meanwhile would find no listener).
   */
  readonly accept: (sock: NetSocket | RawTransport, done: (t: TLSSocket) => void) => void;
}

/**
 * Makes the context of a checked request, once for all the connections of a call.
 * @throws {SSLError} a key or certificate OpenSSL cannot load (Python's `load_cert_chain`).
 */
export function makeTlsSetup(req: TlsRequest): TlsSetup {
  const { ssl } = req;
  let context: SecureContext;
  let options: Record<string, unknown> = {};
  if (ssl === true) context = createSecureContext();
  else if (isSecureContext(ssl)) context = ssl;
  else {
    options = { ...ssl };
    try {
      context =
        (options.secureContext as SecureContext | undefined) ?? createSecureContext(options);
    } catch (e) {
      throw fromTlsError(e, null);
    }
    delete options.secureContext;
  }
  const setup: TlsSetup = {
    ...req,
    context,
    options,
    accept: (sock, done) => serverHandshake(sock, setup, done),
  };
  return setup;
}

/** What Node's TLS can wrap: a net.Socket as it is, a RawTransport through a RawDuplex. */
function streamOf(sock: NetSocket | RawTransport): NetSocket | RawDuplex {
  return sock instanceof RawTransport ? new RawDuplex(sock) : sock;
}

/**
 * The client's handshake over the connected `sock` (`host`: what was connected to, the name to
 * verify unless `serverHostname` says another). Resolves once the server's certificate is
 * verified; on failure both sockets are destroyed.
 * @throws {SSLCertVerificationError} {SSLError} {ConnectionResetError} {ConnectionAbortedError}
 */
export async function clientHandshake(
  sock: NetSocket | RawTransport,
  setup: TlsSetup,
  host: string | null,
  signal: AbortSignal | undefined,
): Promise<TLSSocket> {
  const name = setup.serverHostname ?? host ?? '';
  const opts: NodeTlsConnectionOptions = {
    ...(setup.options as NodeTlsConnectionOptions),
    secureContext: setup.context,
    socket: streamOf(sock) as NetSocket,
  };
  // Node sends no IP address as SNI (RFC 6066) and checks `host` then; a name goes as both.
  // No name: asyncio's `server_hostname=''` checks none (unless the options bring a check).
  if (name === '') opts.checkServerIdentity ??= () => undefined;
  else if (isIP(name) !== 0) opts.host = name;
  else opts.servername = name;
  const t = tlsConnect(opts);
  await handshake(t, 'secureConnect', setup.handshakeTimeout, name, signal, sock);
  return t;
}

/**
 * A server's handshake on the accepted `sock`: `done(tlsSocket)` once it completed, never if it
 * failed — the connection is closed then, as asyncio closes it, and reported to
 * `NODE_DEBUG=weft` only (asyncio logs a failed handshake in debug mode only).
 */
function serverHandshake(
  sock: NetSocket | RawTransport,
  setup: TlsSetup,
  done: (t: TLSSocket) => void,
): void {
  serverSide(sock, setup, undefined).then(done, (e) =>
    debug('streams: a TLS handshake with a client failed: %s', describeValue(e)),
  );
}

/**
 * `startTls`: the handshake on a connection already in use, as a client (`side` 'client') or as
 * the server that accepted it.
 */
export function upgradeHandshake(
  sock: NetSocket | RawTransport,
  setup: TlsSetup,
  side: 'client' | 'server',
  signal: AbortSignal | undefined,
): Promise<TLSSocket> {
  // A client names the server by serverHostname only: no host was connected to here.
  if (side === 'client') return clientHandshake(sock, setup, null, signal);
  return serverSide(sock, setup, signal);
}

/** The server's side of the handshake on `sock`; on failure both sockets are destroyed. */
async function serverSide(
  sock: NetSocket | RawTransport,
  setup: TlsSetup,
  signal: AbortSignal | undefined,
): Promise<TLSSocket> {
  const t = new TLSSocket(streamOf(sock) as NetSocket, serverSocketOptions(setup));
  await handshake(t, 'secure', setup.handshakeTimeout, null, signal, sock, verifiesClient(setup));
  return t;
}

/** A server's options ask for a client certificate and refuse one that does not verify. */
function verifiesClient(setup: TlsSetup): boolean {
  return Boolean(setup.options.requestCert) && setup.options.rejectUnauthorized !== false;
}

/**
 * Why a server's handshake must not stand, where `verifiesClient`: the client's certificate did
 * not verify, or null. Under Node, OpenSSL completes the handshake with an untrusted
 * certificate (Node's verify callback accepts all and leaves the verdict to JS), and only
 * tls.Server reads the verdict: a bare TLSSocket, as here, must read it itself, from the handle
 * tls.Server reads it from. A Node whose handle cannot tell fails the handshake rather than let
 * an unverified client in.
 */
function clientCertRejected(t: TLSSocket): Error | null {
  const handle = (t as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  if (typeof handle?.verifyError !== 'function') {
    return Object.assign(new Error("the client's certificate could not be verified"), {
      code: 'CERT_REJECTED',
    });
  }
  return handle.verifyError() ?? null;
}

/**
 * A server's TLSSocket options. A bare TLSSocket takes `rejectUnauthorized` as false unless told
 * (only tls.Server defaults it to true): with `requestCert`, a client without a certificate
 * would be let in. Python's CERT_REQUIRED refuses it, and so does tls.Server; only an explicit
 * `rejectUnauthorized: false` lets it through (the handler may look at `'peercert'`).
 */
function serverSocketOptions(setup: TlsSetup): Record<string, unknown> {
  return {
    ...(setup.options as Record<string, unknown>),
    rejectUnauthorized: setup.options.rejectUnauthorized !== false,
    secureContext: setup.context,
    isServer: true,
  };
}

const noop = (): void => {};

async function handshake(
  t: TLSSocket,
  event: 'secure' | 'secureConnect',
  ms: number,
  name: string | null,
  signal: AbortSignal | undefined,
  under: NetSocket | RawTransport,
  verifyClient = false,
): Promise<void> {
  const w = new Waiter<void>(null);
  const onSecure = (): void => {
    const rejected = verifyClient ? clientCertRejected(t) : null;
    if (rejected === null) w.wake(undefined);
    else w.fail(fromTlsError(rejected, null));
  };
  const onError = (err: Error): void => {
    w.fail(fromTlsError(err, name));
  };
  // The peer closed (its EOF: the socket is half-open, so no 'close' follows by itself) or the
  // connection closed without an error: Python's ConnectionResetError, as for a reset.
  const onClose = (): void => {
    w.fail(new ConnectionResetError('Connection lost during the SSL handshake'));
  };
  t.once(event, onSecure);
  t.once('error', onError);
  t.once('end', onClose);
  t.once('close', onClose);
  if (signal) {
    if (signal.aborted) w.cancel(signal.reason);
    else w.setSignal(signal);
  }
  if (Number.isFinite(ms)) {
    w.setTimeout(ms, (x) =>
      x.withdraw(
        false,
        new ConnectionAbortedError(
          `SSL handshake is taking longer than ${ms} ms: aborting the connection`,
        ),
      ),
    );
  }
  try {
    await w.block();
  } catch (e) {
    // Whatever either socket reports after this is about a connection nobody holds.
    t.on('error', noop);
    under.on('error', noop);
    t.destroy();
    under.destroy();
    throw e;
  } finally {
    t.off(event, onSecure);
    t.off('error', onError);
    t.off('end', onClose);
    t.off('close', onClose);
  }
}
