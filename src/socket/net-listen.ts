/**
 * `listenNow(server, options, family)`: Node's `server.listen({ host, port })`, bound before it
 * returns when `host` is an IP literal.
 *
 * Node's net resolves every host with `dns.lookup` before it binds, and `dns.lookup` answers
 * even an IP literal on a later tick, so a server listening on `['127.0.0.1', 0]` has no port
 * until then — where Python's `bind` has it at once, and weft's own descriptor (the weft_io
 * addon) too. Everything after the lookup is synchronous in Node (bind(2), listen(2), the
 * handle): so for the length of the one call, `dns.lookup` answers a literal at once, exactly
 * as its documented contract says it answers one (`[{ address, family }]` with `all`), and
 * hands anything else to the real lookup. Nothing else can run during the call, and the real
 * lookup is back before it returns.
 *
 * A host name goes to the lookup the program left in place, asked for the socket's `family`:
 * Node's net asks for any family, and where /etc/hosts lists `::1 localhost` first an AF_INET
 * socket bound to 'localhost' listened on ::1 — Python's getaddrinfo asks for the socket's.
 *
 * Afterwards `server.listening` says whether it bound: false when the bind failed (Node emits
 * the error on the next tick, as always) or when this Node binds later after all (a host name,
 * a cluster worker, a Node whose net no longer looks up a literal this way) — then the caller
 * waits for 'listening' as before.
 */
import dns from 'node:dns';
import { isIP, type ListenOptions, type Server } from 'node:net';

export function listenNow(server: Server, options: ListenOptions, socketFamily: 4 | 6): void {
  const original = dns.lookup;
  const immediate = function lookup(this: unknown, ...args: unknown[]): unknown {
    const [hostname, options, callback] = args;
    const cb = (typeof options === 'function' ? options : callback) as
      | ((err: null, address: unknown, family?: number) => void)
      | undefined;
    const family = typeof hostname === 'string' ? isIP(hostname) : 0;
    if (typeof cb !== 'function') {
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    }
    if (family === 0) {
      const asked =
        typeof options === 'object' && options !== null
          ? { ...options, family: socketFamily }
          : { family: socketFamily };
      return (original as (...a: unknown[]) => unknown).call(this, hostname, asked, cb);
    }
    const all = typeof options === 'object' && options !== null && 'all' in options && options.all;
    if (all) cb(null, [{ address: hostname, family }]);
    else cb(null, hostname, family);
    return {};
  };
  try {
    (dns as { lookup: unknown }).lookup = immediate;
  } catch {
    // A lookup made read-only by someone else: Node's own timing, then.
  }
  try {
    server.listen(options);
  } finally {
    if (dns.lookup === (immediate as unknown)) (dns as { lookup: unknown }).lookup = original;
  }
}
