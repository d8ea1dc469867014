/**
 * The system errors a user causes with `--host` / `--port` (of `weft serve` and `weft load`), in
 * words: a one-line CLI error rather than a stack. Errors not listed here are bugs and keep theirs.
 */
const WHY: Record<string, string> = {
  EADDRINUSE:
    'the port is already in use (another server? pick another --port, or 0 for a free one)',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'this machine has no such address',
  EAFNOSUPPORT: 'address family not supported',
  ECONNREFUSED:
    'connection refused (nothing listens there: start a server with `weft serve echo --port N`)',
  ENOTFOUND: 'no such host',
  EAI_NONAME: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EHOSTUNREACH: 'no route to that host',
  ENETUNREACH: 'no route to that network',
  ETIMEDOUT: 'the connection timed out',
};

/** The words for error `e` (by weft's `errnoName`, else Node's `code`), or null if it has none. */
export function socketErrorText(e: unknown): string | null {
  const x = e as { errnoName?: unknown; code?: unknown } | null;
  const name = typeof x?.errnoName === 'string' && x.errnoName ? x.errnoName : x?.code;
  return typeof name === 'string' && Object.hasOwn(WHY, name) ? (WHY[name] as string) : null;
}
