export {
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  IncompleteReadError,
  LimitOverrunError,
  OSError,
} from './errors.js';
export {
  type OpenConnectionOptions,
  openConnection,
  openUnixConnection,
} from './open-connection.js';
export {
  type ClientConnectedHandler,
  Server,
  type ServerSocket,
  type StartServerOptions,
  startServer,
  startUnixServer,
} from './server.js';
export {
  DEFAULT_LIMIT,
  type ReadOptions,
  StreamReader,
  type StreamReaderOptions,
} from './stream-reader.js';
export { type Address, StreamWriter } from './stream-writer.js';
