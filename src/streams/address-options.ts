/**
 * asyncio's address keywords of `open_connection`/`start_server` — `family`, `flags`,
 * `reuse_address`, `reuse_port`, `happy_eyeballs_delay` — checked, and mapped onto what Node's
 * `net` and `dns` take. Errors are Python's: a family or flag getaddrinfo refuses is a
 * `gaierror` with getaddrinfo's number, as Python's getaddrinfo raises it.
 */
import dnsModule, { promises as dns, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { argumentError } from '../internal/errors.js';
import {
  AF_INET,
  AF_INET6,
  AF_UNSPEC,
  AI_ADDRCONFIG,
  AI_ALL,
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  fitsCInt,
} from '../socket/constants.js';
import { fromSystemError, GaiError } from '../socket/errors.js';

export interface AddressOptions {
  /**
   * `AF_INET`, `AF_INET6` or `AF_UNSPEC` (default) from weft/socket: the address family to
   * resolve `host` to (asyncio's `family`). An IP literal of the other family is a `gaierror`
   * (EAI_ADDRFAMILY), as Python's getaddrinfo raises.
   */
  family?: number | null;
  /**
   * getaddrinfo's `AI_*` flags from weft/socket (asyncio's `flags`): `AI_NUMERICHOST` refuses a
   * host name (`gaierror` EAI_NONAME); `AI_ADDRCONFIG`, `AI_V4MAPPED` and `AI_ALL` go to the
   * lookup; `AI_PASSIVE`, `AI_CANONNAME` and `AI_NUMERICSERV` change nothing here (the port
   * is a number; a server's null host is the wildcard address already), nor do glibc's IDN
   * flags (`0x40` AI_IDN, `0x80` AI_CANONIDN: Node's lookup converts a non-ASCII name to IDNA
   * always, as Python does before its call). Any other bit is a `gaierror` (EAI_BADFLAGS); a
   * value beyond a C int a RangeError (Python's OverflowError).
   */
  flags?: number | null;
}

/**
 * glibc's IDN flags: AI_IDN, AI_CANONIDN and the two it still accepts and ignores since 2.28
 * (AI_IDN_ALLOW_UNASSIGNED, AI_IDN_USE_STD3_ASCII_RULES). Python 3.11 names none of them but
 * hands the number to getaddrinfo, which takes them. They change nothing here: Node's lookup
 * (libuv) turns a non-ASCII name into its IDNA form whatever the flags, as Python encodes the
 * name with its 'idna' codec before the call; AI_CANONIDN touches only the canonical name,
 * which asyncio never shows.
 */
const IDN_FLAGS = 0x40 | 0x80 | 0x100 | 0x200;
/** The flags getaddrinfo(3) knows here (glibc's); any other bit is its EAI_BADFLAGS. */
const KNOWN_FLAGS =
  AI_PASSIVE |
  AI_CANONNAME |
  AI_NUMERICHOST |
  AI_V4MAPPED |
  AI_ALL |
  AI_ADDRCONFIG |
  AI_NUMERICSERV |
  IDN_FLAGS;

/** The flags that are hints of Node's lookup (`dns.ADDRCONFIG` and the others: the same bits). */
const LOOKUP_HINTS = AI_ADDRCONFIG | AI_V4MAPPED | AI_ALL;

/** A checked `family`/`flags`: Node's family number and lookup hints. */
export interface Lookup {
  readonly family: 0 | 4 | 6;
  readonly hints: number;
  readonly numericHost: boolean;
}

/**
 * Checks `family` and `flags`.
 * @throws {TypeError} one is not an integer. {gaierror} a family (EAI_FAMILY) or flag
 *   (EAI_BADFLAGS) getaddrinfo refuses.
 */
export function checkAddressOptions(what: string, options: AddressOptions): Lookup {
  const family = options.family ?? AF_UNSPEC;
  const flags = options.flags ?? 0;
  if (typeof family !== 'number' || !Number.isInteger(family)) {
    throw argumentError(
      `${what}: family must be an integer (AF_INET, AF_INET6, AF_UNSPEC)`,
      family,
    );
  }
  if (typeof flags !== 'number' || !Number.isInteger(flags)) {
    throw argumentError(`${what}: flags must be an integer (AI_* flags)`, flags);
  }
  // Python's OverflowError; the bit tests below would see only the low 32 bits (2 ** 32 + 1
  // passed for AI_PASSIVE).
  for (const [name, v] of [
    ['family', family],
    ['flags', flags],
  ] as const) {
    if (!fitsCInt(v)) {
      throw new RangeError(`${what}: ${name} must fit a C int (32 bits): received ${v}`);
    }
  }
  if (family !== AF_UNSPEC && family !== AF_INET && family !== AF_INET6) {
    throw new GaiError(`ai_family not supported: family ${family}`, 'EAI_FAMILY');
  }
  if ((flags & ~KNOWN_FLAGS) !== 0 || flags < 0) {
    throw new GaiError(`Bad value for ai_flags: ${flags}`, 'EAI_BADFLAGS');
  }
  return {
    family: family === AF_INET ? 4 : family === AF_INET6 ? 6 : 0,
    hints: flags & LOOKUP_HINTS,
    numericHost: (flags & AI_NUMERICHOST) !== 0,
  };
}

/**
 * What getaddrinfo would refuse about `host` before any lookup: an IP literal of the other
 * family (EAI_ADDRFAMILY), a name under AI_NUMERICHOST (EAI_NONAME).
 * @throws {gaierror}
 */
export function checkHostFamily(host: string | null, lookup: Lookup): void {
  if (host === null || host === '') return;
  const ip = isIP(host);
  if (ip !== 0 && lookup.family !== 0 && ip !== lookup.family) {
    throw new GaiError(
      `Address family for hostname not supported: ${host} is not an IPv${lookup.family} address`,
      'EAI_ADDRFAMILY',
    );
  }
  if (ip === 0 && lookup.numericHost) {
    throw new GaiError(
      `Name or service not known: ${host} is not an IP address (AI_NUMERICHOST)`,
      'EAI_NONAME',
    );
  }
}

/**
 * The address a server listens on: a literal as it is; a name resolved here when `family` or
 * hints ask (Node's listen would resolve it without them); null host: the wildcard of the
 * family asked for, or null (every interface, as before).
 * @throws {gaierror} the name does not resolve.
 */
export async function listenHost(host: string | null, lookup: Lookup): Promise<string | null> {
  checkHostFamily(host, lookup);
  if (host === null || host === '') {
    return lookup.family === 4 ? '0.0.0.0' : lookup.family === 6 ? '::' : host;
  }
  if (isIP(host) !== 0 || (lookup.family === 0 && lookup.hints === 0)) return host;
  try {
    const { address } = await dns.lookup(host, { family: lookup.family, hints: lookup.hints });
    return address;
  } catch (e) {
    throw fromSystemError(e, 'getaddrinfo');
  }
}

/**
 * Every address a server listens on, as asyncio's `start_server` binds each address
 * getaddrinfo gives: no host is `0.0.0.0` and `::` (`AF_UNSPEC`) or the family's wildcard; a
 * literal itself; a name each address it resolves to, through `dns.lookup` as the program left
 * it (Node's own `listen` resolves so), in the order given, once each.
 * @throws {gaierror} the name does not resolve, or to nothing.
 */
export async function listenHosts(host: string | null, lookup: Lookup): Promise<string[]> {
  checkHostFamily(host, lookup);
  if (host === null || host === '') {
    return lookup.family === 4 ? ['0.0.0.0'] : lookup.family === 6 ? ['::'] : ['0.0.0.0', '::'];
  }
  if (isIP(host) !== 0) return [host];
  let found: LookupAddress[];
  try {
    found = await new Promise<LookupAddress[]>((resolve, reject) =>
      // Looked up on the module at each call: a lookup the program installed is the one used.
      dnsModule.lookup(
        host,
        { all: true, family: lookup.family, hints: lookup.hints },
        (err, addresses) => (err ? reject(err) : resolve(addresses)),
      ),
    );
  } catch (e) {
    throw fromSystemError(e, 'getaddrinfo');
  }
  const out = [...new Set(found.map((a) => a.address))];
  if (out.length === 0) {
    throw new GaiError(`No address associated with hostname: ${host}`, 'EAI_NODATA');
  }
  return out;
}

/** Node's `net.connect` options for `family`/`flags` and asyncio's `happy_eyeballs_delay`. */
export function connectLookupOptions(
  lookup: Lookup,
  happyEyeballsDelay: number | null,
): {
  family?: number;
  hints?: number;
  autoSelectFamily?: boolean;
  autoSelectFamilyAttemptTimeout?: number;
} {
  const out: ReturnType<typeof connectLookupOptions> = {};
  if (lookup.family !== 0) out.family = lookup.family;
  if (lookup.hints !== 0) out.hints = lookup.hints;
  if (happyEyeballsDelay !== null) {
    out.autoSelectFamily = true;
    // Node's least attempt time is 10 ms (it raises smaller ones to that).
    out.autoSelectFamilyAttemptTimeout = Math.max(10, Math.ceil(happyEyeballsDelay));
  }
  return out;
}

/**
 * asyncio's `happy_eyeballs_delay` (in ms here): null (default) or a number >= 0.
 * @throws {TypeError} {RangeError}
 */
export function checkHappyEyeballs(what: string, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number') {
    throw argumentError(`${what}: happyEyeballsDelay must be a number of ms`, v);
  }
  if (!Number.isFinite(v) || v < 0) {
    throw new RangeError(
      `${what}: happyEyeballsDelay must be a finite number of ms >= 0: received ${v}`,
    );
  }
  return v;
}

/** Node's net takes `reusePort` from 22.12 (and 23.1); before, it ignores it. */
export function netHasReusePort(version: string = process.versions.node): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

/**
 * `reuseAddress` (default true: asyncio's default on POSIX) and `reusePort` (default false).
 * Whether `reusePort` can be set is the transport's question (server.ts: Node's net from 22.12,
 * weft's descriptor with the addon).
 * @throws {TypeError} not a boolean. {RangeError} `reuseAddress: false`: libuv sets SO_REUSEADDR
 *   on every listening TCP socket.
 */
export function checkReuse(
  what: string,
  options: { reuseAddress?: boolean | null; reusePort?: boolean | null },
): boolean {
  const addr = options.reuseAddress ?? true;
  const port = options.reusePort ?? false;
  if (typeof addr !== 'boolean')
    throw argumentError(`${what}: reuseAddress must be a boolean`, addr);
  if (typeof port !== 'boolean') throw argumentError(`${what}: reusePort must be a boolean`, port);
  if (!addr) {
    throw new RangeError(
      `${what}: reuseAddress: false is not possible: Node (libuv) sets SO_REUSEADDR on every listening TCP socket`,
    );
  }
  return port;
}
