import { type Socket as NetSocket, connect as netConnect, type TcpNetConnectOpts } from 'node:net';
import { installedRunningLoop } from '../asyncio/event-loop.js';
import { argumentError } from '../internal/errors.js';
import { ConnectionResetError, checkUnixPathLength } from '../socket/errors.js';
import type { Socket } from '../socket/socket.js';
import {
  type AddressOptions,
  checkAddressOptions,
  checkHappyEyeballs,
  checkHostFamily,
  connectLookupOptions,
} from './address-options.js';
import { type AdoptedConnection, adoptConnection, checkSockArgs, type HeldState } from './adopt.js';
import {
  type ConnectionOptions,
  checkConnectionOptions,
  checkPort,
  closeWithLoop,
  untilConnected,
  wireStreams,
} from './protocol.js';
import type { StreamReader } from './stream-reader.js';
import { namesOf, type StreamWriter } from './stream-writer.js';
import {
  checkTlsOptions,
  type TlsConnectOptions,
  type TlsRequest,
  tlsInfoOf,
} from './tls-options.js';

export interface OpenConnectionOptions
  extends ConnectionOptions,
    TlsConnectOptions,
    AddressOptions {
  signal?: AbortSignal;
  /** Local address to bind before connecting. */
  localAddress?: string;
  /**
   * A connected socket to use instead of connecting (asyncio's `sock=`): a weft/socket `Socket`
   * (it is the stream's from then on: the `Socket` itself is closed, its unread bytes move to
   * the reader) or a Node `net.Socket` (one still connecting is waited for). `host` and `port`
   * must then be null.
   */
  sock?: Socket | NetSocket | null;
  /**
   * asyncio's `happy_eyeballs_delay` (RFC 8305), in ms: a host name with several addresses is
   * tried on the next address after this long without an answer, the families alternating
   * (Node's `autoSelectFamily`; at least 10 ms). Default: Node's own setting.
   */
  happyEyeballsDelay?: number | null;
}

/** What applies only to a TCP connection the call makes: not with `sock`, nor over Unix. */
const TCP_CONNECT_ONLY = ['localAddress', 'family', 'flags', 'happyEyeballsDelay'] as const;

/** The options of `openUnixConnection`: those of `openConnection` that a Unix socket has. */
export type OpenUnixConnectionOptions = Omit<
  OpenConnectionOptions,
  (typeof TCP_CONNECT_ONLY)[number]
>;

/**
 * Connects to `host:port` over TCP and resolves to a `[reader, writer]` pair
 * (`asyncio.open_connection`). With `ssl`, the connection is TLS: the pair is handed out once
 * the handshake is done and the server's certificate verified (for `serverHostname`, by default
 * `host`). With `sock` (and `host`/`port` null), the pair runs on that connected socket instead.
 *
 * **Cancellation:** cancelling the task (or aborting `signal`) while connecting or during the
 * TLS handshake destroys the half-made connection.
 * @throws {ConnectionRefusedError} nothing listens there. {gaierror} the host does not resolve,
 *   or not in `family`. {SSLCertVerificationError} the server's certificate did not verify.
 *   {SSLError} another TLS failure. {ConnectionAbortedError} the handshake took longer than
 *   `sslHandshakeTimeout`. {OSError} other failures.
 * @example
 * const [reader, writer] = await openConnection('127.0.0.1', port);
 * await using _ = writer;
 * writer.write('hello\n');
 * const line = await reader.readline();
 */
export function openConnection(
  host: string | null = null,
  port: number | null = null,
  options: OpenConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const what = 'openConnection';
  let tls: TlsRequest | null;
  let net: TcpNetConnectOpts | null = null;
  // A bad argument rejects, as every verb returning a promise does (docs/socket.md).
  try {
    const sock = options.sock ?? null;
    checkSockArgs(what, host !== null || port !== null, sock);
    if (sock === null) {
      if (typeof host !== 'string') {
        throw argumentError(`${what}: host must be a string`, host);
      }
      checkPort(what, port, 1);
    } else {
      // What applies to a connection this call makes only: refused rather than left unapplied
      // (asyncio ignores them with sock=), as startServer refuses its own (docs/streams.md).
      for (const name of TCP_CONNECT_ONLY) {
        if (options[name] != null && options[name] !== '') {
          throw new RangeError(`${what}: ${name} and sock can not be specified at the same time`);
        }
      }
    }
    const lookup = checkAddressOptions(what, options);
    const eyeballs = checkHappyEyeballs(what, options.happyEyeballsDelay);
    tls = checkTlsOptions(what, options, 'client');
    if (tls !== null && tls.serverHostname === undefined && !host) {
      throw new RangeError(`${what}: give serverHostname when using ssl without a host`);
    }
    if (sock === null) {
      checkHostFamily(host, lookup);
      net = {
        host: host as string,
        port: port as number,
        allowHalfOpen: true,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        ...connectLookupOptions(lookup, eyeballs),
      };
    }
  } catch (e) {
    return Promise.reject(e);
  }
  const connectOptions = net;
  return connectWith(
    connectOptions === null ? null : () => netConnect(connectOptions),
    options,
    host,
    tls,
    undefined,
  );
}

/**
 * `openConnection` over a Unix domain socket at `path` (`asyncio.open_unix_connection`); with
 * `sock` (and `path` null), over that connected socket. `ssl` needs `serverHostname` here.
 */
export function openUnixConnection(
  path: string | null = null,
  options: OpenUnixConnectionOptions = {},
): Promise<[StreamReader, StreamWriter]> {
  const what = 'openUnixConnection';
  let tls: TlsRequest | null;
  try {
    const sock = options.sock ?? null;
    checkSockArgs(what, path !== null, sock);
    if (sock === null && (typeof path !== 'string' || path === '')) {
      throw argumentError(`${what}: path must be a non-empty string`, path);
    }
    if (path !== null) checkUnixPathLength(what, path);
    for (const name of TCP_CONNECT_ONLY) {
      if ((options as Record<string, unknown>)[name] != null) {
        throw new TypeError(`${what}: ${name} is not an option of a Unix connection`);
      }
    }
    tls = checkTlsOptions(what, options, 'client');
    if (tls !== null && tls.serverHostname === undefined) {
      throw new RangeError(`${what}: give serverHostname when using ssl without a host`);
    }
  } catch (e) {
    return Promise.reject(e);
  }
  return connectWith(
    path === null ? null : () => netConnect({ path, allowHalfOpen: true }),
    options,
    null,
    tls,
    path === null ? undefined : { peername: path, sockname: '' },
  );
}

/**
 * What makes an adopted socket unfit for a TLS handshake, checked before it is taken so that a
 * refusal leaves the caller's socket as it was (open, its bytes still readable): bytes already
 * received would sit in front of the server's handshake reply; a peer that has closed or reset
 * can send no reply (and the TLS socket would learn nothing of a FIN the former owner read: it
 * waited the whole timeout).
 * @throws {RangeError} bytes received and not read. {ConnectionResetError} (or the failure the
 *   socket holds) the peer has closed or reset.
 */
function refuseTlsOver(held: HeldState): void {
  if (held.buffered > 0) {
    throw new RangeError(
      `openConnection: the socket has ${held.buffered} bytes received and not read: a TLS handshake cannot start behind them`,
    );
  }
  if (held.error !== null) throw held.error;
  if (held.eof) {
    throw new ConnectionResetError('Connection lost during the SSL handshake: the peer had closed');
  }
}

/**
 * Connects with `make` (or adopts `options.sock` when `make` is null), makes the TLS handshake
 * when asked, and wires the reader and writer.
 */
async function connectWith(
  make: (() => NetSocket) | null,
  options: OpenConnectionOptions,
  host: string | null,
  tlsRequest: TlsRequest | null,
  unix: { peername: string; sockname: string } | undefined,
): Promise<[StreamReader, StreamWriter]> {
  const loop = installedRunningLoop();
  const signal = options.signal;
  if (signal?.aborted) throw signal.reason;
  // Before connecting: a connection made for options that cannot be used would be left open.
  checkConnectionOptions(options);
  // Loaded only now, and only for TLS: Node's TLS takes milliseconds to load.
  const tlsModule = tlsRequest === null ? null : await import('./tls.js');
  const setup =
    tlsRequest === null ? null : (tlsModule as typeof import('./tls.js')).makeTlsSetup(tlsRequest);
  let sock: NetSocket;
  let adopted: AdoptedConnection | null = null;
  if (make === null) {
    adopted = await adoptConnection(
      'openConnection',
      options.sock as Socket | NetSocket,
      signal,
      setup === null ? undefined : refuseTlsOver,
    );
    sock = adopted.ns;
    // Destroyed with neither an EOF nor a failure on record: no handshake can run on it either.
    if (setup !== null && sock.destroyed) {
      throw new ConnectionResetError(
        'Connection lost during the SSL handshake: the peer had closed',
      );
    }
  } else {
    sock = make();
    await untilConnected(sock, signal);
  }
  const names = adopted?.unix ?? unix;
  let pair: [StreamReader, StreamWriter];
  try {
    if (setup !== null) {
      sock.setNoDelay(true);
      const { clientHandshake } = tlsModule as typeof import('./tls.js');
      const t = await clientHandshake(sock, setup, host, signal);
      pair = wireStreams(t, options, names ?? namesOf(sock), true, tlsInfoOf(t, setup));
    } else {
      pair = wireStreams(sock, options, names);
    }
  } catch (e) {
    sock.destroy();
    throw e;
  }
  const [reader, writer] = pair;
  if (adopted !== null) {
    // Older than anything the socket will give: fed before the first read can happen.
    if (adopted.buffered !== null) reader._feedOwned(adopted.buffered);
    if (adopted.error !== null) reader.setException(adopted.error);
    else if (sock.destroyed || adopted.eof) reader.feedEof();
    writer._adoptedState(adopted.error, adopted.eof);
  }
  // Left open when run() ends, it is aborted with the loop (as the process would drop it).
  closeWithLoop(loop, sock, () => writer.abort());
  return pair;
}
