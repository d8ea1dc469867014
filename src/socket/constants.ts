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

/** The listen backlog Python uses when none is given: `min(SOMAXCONN, 128)`. */
export const SOMAXCONN = 4096;
