/**
 * The addresses and options of `Listener` and `Client`, checked as Python's
 * multiprocessing.connection reads them: `[host, port]` is AF_INET, a string a Unix socket's
 * path (AF_UNIX), and `family` names one of the two.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeValue } from '../internal/errors.js';
import { checkSignal } from './shared-object.js';

export type Family = 'AF_INET' | 'AF_UNIX';
/** `[host, port]` (AF_INET) or the path of a Unix socket (AF_UNIX). */
export type ConnectionAddress = [host: string, port: number] | string;

const FAMILIES: readonly string[] = ['AF_INET', 'AF_UNIX'];

/** Python's `address_type`. */
function familyOf(what: string, address: unknown): Family {
  if (Array.isArray(address)) return 'AF_INET';
  if (typeof address === 'string') {
    if (address.startsWith('\\\\'))
      throw new RangeError(
        `${what}: ${describeValue(address)} is a Windows named pipe (AF_PIPE), which exists only on Windows: use a Unix socket's path or [host, port]`,
      );
    return 'AF_UNIX';
  }
  throw new TypeError(
    `${what}: the address must be [host, port] (AF_INET) or a Unix socket's path (AF_UNIX): received ${describeValue(address)}`,
  );
}

function checkFamily(what: string, family: unknown): Family | null {
  if (family === undefined || family === null) return null;
  if (typeof family !== 'string')
    throw new TypeError(
      `${what}: family must be 'AF_INET' or 'AF_UNIX': received ${describeValue(family)}`,
    );
  if (!FAMILIES.includes(family))
    throw new RangeError(
      `${what}: family ${family} is not recognized: use 'AF_INET' or 'AF_UNIX'${family === 'AF_PIPE' ? ' (AF_PIPE exists only on Windows)' : ''}`,
    );
  return family as Family;
}

/**
 * `address` checked against `family`, as the socket's bind or connect would: `[host, port]` with
 * a string host and an integer port in 0–65535 for AF_INET ('' is any address, 'localhost'
 * 127.0.0.1, as an AF_INET socket resolves it), a non-empty path for AF_UNIX.
 */
function checkAddress(what: string, family: Family, address: unknown): ConnectionAddress {
  if (family === 'AF_UNIX') {
    if (typeof address !== 'string')
      throw new TypeError(
        `${what}: an AF_UNIX address must be a path (a string): received ${describeValue(address)}`,
      );
    if (address === '') throw new RangeError(`${what}: an AF_UNIX address must not be empty`);
    return address;
  }
  if (!Array.isArray(address) || address.length !== 2)
    throw new TypeError(
      `${what}: an AF_INET address must be a pair [host, port]: received ${describeValue(address)}`,
    );
  const [host, port] = address as unknown[];
  if (typeof host !== 'string')
    throw new TypeError(
      `${what}: the host of an AF_INET address must be a string: received ${describeValue(host)}`,
    );
  if (typeof port !== 'number' || !Number.isInteger(port))
    throw new TypeError(
      `${what}: the port of an AF_INET address must be an integer: received ${describeValue(port)}`,
    );
  if (port < 0 || port > 65535)
    throw new RangeError(`${what}: port must be 0-65535: received ${port}`);
  return [host === 'localhost' ? '127.0.0.1' : host, port];
}

/** A fresh path for a Listener made without an address (Python's `arbitrary_address`). */
function arbitraryPath(): string {
  return join(tmpdir(), `weft-listener-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export interface Checked {
  family: Family;
  address: ConnectionAddress;
  authkey: Buffer | null;
  signal: AbortSignal | null;
}

/**
 * The options object of Listener or Client checked, with the address and its family. No address
 * (a Listener only): a free one of `family`, AF_UNIX by default as in Python on Linux.
 */
export function checkConnectionArgs(
  what: string,
  address: unknown,
  options: unknown,
  allowNoAddress: boolean,
): Checked & { options: Record<string, unknown> } {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object')
    throw new TypeError(`${what}: options must be an object: received ${describeValue(options)}`);
  const o = options as Record<string, unknown>;
  const noAddress = address === undefined || address === null;
  if (noAddress && !allowNoAddress)
    throw new TypeError(`${what}: an address is required: [host, port] or a Unix socket's path`);
  const family = checkFamily(what, o.family) ?? (noAddress ? 'AF_UNIX' : familyOf(what, address));
  const addr = noAddress
    ? family === 'AF_UNIX'
      ? arbitraryPath()
      : (['127.0.0.1', 0] as [string, number])
    : checkAddress(what, family, address);
  const k = o.authkey;
  let authkey: Buffer | null = null;
  if (k !== undefined && k !== null) {
    if (!(k instanceof Uint8Array))
      throw new TypeError(
        `${what}: authkey should be a byte string (a Buffer or a Uint8Array): received ${describeValue(k)}`,
      );
    authkey = Buffer.from(k);
  }
  return { family, address: addr, authkey, signal: checkSignal(what, o.signal), options: o };
}
