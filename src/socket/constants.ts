/**
 * Python's `socket` module constants, with Linux's values (the numbers Python shows there).
 * weft maps them onto Node's `net`; only the options listed in `Socket.setsockopt` have an
 * effect.
 */
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;

export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_KEEPALIVE = 9;
/** getsockopt only: the socket's pending error (a failed non-blocking connect's), read once. */
export const SO_ERROR = 4;
export const IPPROTO_TCP = 6;
export const TCP_NODELAY = 1;

export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** The largest C `int`: a listen backlog, a getaddrinfo family or flags beyond it is Python's
 * OverflowError (a RangeError in weft). Not exported from weft/socket. */
export const C_INT_MAX = 0x7fffffff;

/** Whether `v` fits a C `int` (beyond it, Python raises OverflowError). */
export function fitsCInt(v: number): boolean {
  return v <= C_INT_MAX && v >= -C_INT_MAX - 1;
}

/** The listen backlog Python uses when none is given: `min(SOMAXCONN, 128)`. */
export const SOMAXCONN = 4096;

/** No family: `getaddrinfo` (and weft/streams' `family`) takes IPv4 and IPv6 alike. */
export const AF_UNSPEC = 0;

/** getaddrinfo's `ai_flags` (glibc's values, as Python's `socket.AI_*`): weft/streams' `flags`. */
export const AI_PASSIVE = 0x1;
export const AI_CANONNAME = 0x2;
export const AI_NUMERICHOST = 0x4;
export const AI_V4MAPPED = 0x8;
export const AI_ALL = 0x10;
export const AI_ADDRCONFIG = 0x20;
export const AI_NUMERICSERV = 0x400;
