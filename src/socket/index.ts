export { TimeoutError } from '../internal/errors.js';
export {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  AF_UNSPEC,
  AI_ADDRCONFIG,
  AI_ALL,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  IPPROTO_TCP,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_REUSEADDR,
  SOCK_STREAM,
  SOL_SOCKET,
  SOMAXCONN,
  TCP_NODELAY,
} from './constants.js';
export { type CreateConnectionOptions, createConnection } from './create-connection.js';
export { type CreateServerOptions, createServer } from './create-server.js';
export {
  BlockingIOError,
  BrokenPipeError,
  ConnectionAbortedError,
  ConnectionError,
  ConnectionRefusedError,
  ConnectionResetError,
  GaiError as gaierror,
  OSError,
} from './errors.js';
export { sockAccept, sockConnect, sockRecv, sockSendall } from './loop-verbs.js';
export { RawSocket } from './raw-socket.js';
export { Socket, type SocketAddress, type SocketWaitOptions, socket } from './socket.js';
