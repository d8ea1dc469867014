export type { AddressOptions } from './address-options.js';
export {
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  IncompleteReadError,
  LimitOverrunError,
  OSError,
  SSLCertVerificationError,
  SSLError,
} from './errors.js';
export {
  type OpenConnectionOptions,
  type OpenUnixConnectionOptions,
  openConnection,
  openUnixConnection,
} from './open-connection.js';
export {
  type ClientConnectedHandler,
  Server,
  type ServerSocket,
  type StartServerOptions,
  type StartUnixServerOptions,
  startServer,
  startUnixServer,
} from './server.js';
export {
  DEFAULT_LIMIT,
  type ReadOptions,
  StreamReader,
  type StreamReaderOptions,
} from './stream-reader.js';
export { type Address, type StartTlsOptions, StreamWriter } from './stream-writer.js';
export type { SslContext, SslOptions, TlsConnectOptions } from './tls-options.js';
