/**
 * CookieJar: the client's cookie store (aiohttp's `CookieJar`): keeps the cookies responses set
 * and sends back the ones that match a request's host, path and scheme (RFC 6265, §5.1.3
 * domain matching and §5.1.4 path matching, `Max-Age` over `Expires`, host-only cookies when
 * no `Domain` is given). Like aiohttp's default (`unsafe=False`) it refuses cookies from hosts
 * that are IP addresses unless `unsafe: true`. Cookies stored without a URL are shared (an
 * empty `domain`): sent to every host, whatever its domain, path or scheme, as aiohttp's.
 *
 * A cookie has two forms of its value, as Python's `Morsel`: `value` is what it means
 * (unquoted, escapes undone) and `codedValue` what goes on the wire (`Set-Cookie` as the server
 * sent it, or a value given by the caller quoted as Python's `SimpleCookie` quotes it). The
 * `Cookie` header carries the coded value, as aiohttp's.
 */
import { isIP } from 'node:net';

export interface Cookie {
  name: string;
  /** The value it stands for: a double-quoted one without its quotes, `\"` and `\073` undone. */
  value: string;
  /** The value as it is sent in the `Cookie` header (and as the server sent it). */
  codedValue: string;
  /** Empty for a shared cookie (stored without a URL): it goes to every host. */
  domain: string;
  path: string;
  /** ms since the epoch, or null for a session cookie. */
  expires: number | null;
  secure: boolean;
  httpOnly: boolean;
  hostOnly: boolean;
}

export interface CookieJarOptions {
  /** Accept cookies from IP-address hosts (default false, as aiohttp). */
  unsafe?: boolean;
}

export class CookieJar {
  private readonly cookies = new Map<string, Cookie>();
  private readonly unsafe: boolean;

  constructor(options: CookieJarOptions = {}) {
    this.unsafe = options.unsafe ?? false;
  }

  /** Number of cookies held (expired ones included until the next lookup). */
  get size(): number {
    return this.cookies.size;
  }

  /**
   * Stores cookies: `Set-Cookie` header values, or a name → value map, for `url` (a map's
   * cookies are then host-only, with the URL's default path, as a `Set-Cookie` without
   * attributes would be). Without a URL, a map's cookies are shared: sent with every request
   * (aiohttp's `update_cookies(c)`).
   */
  updateCookies(cookies: string[] | Record<string, string>, url?: URL | string): void {
    if (url === undefined) {
      if (Array.isArray(cookies)) {
        throw new TypeError('Set-Cookie values need the URL of the response that sent them');
      }
      for (const [name, value] of Object.entries(cookies)) this.store(shared(name, value));
      return;
    }
    const u = typeof url === 'string' ? new URL(url) : url;
    const host = u.hostname.toLowerCase();
    if (!this.unsafe && isIP(host.replace(/^\[|\]$/g, '')) !== 0) return;
    if (!Array.isArray(cookies)) {
      // As a Set-Cookie without attributes from `url` (aiohttp too): host-only, with the
      // default path of the URL (its directory).
      for (const [name, value] of Object.entries(cookies)) {
        this.store({
          name,
          value: String(value),
          codedValue: quoteCookieValue(String(value)),
          domain: host,
          path: defaultPath(u),
          expires: null,
          secure: false,
          httpOnly: false,
          hostOnly: true,
        });
      }
      return;
    }
    for (const line of cookies) {
      const c = parseSetCookie(line, u);
      if (c !== null) this.store(c);
    }
  }

  /** The cookies to send to `url`: name → coded value, as they go in the `Cookie` header. */
  filterCookies(url: URL | string): Map<string, string> {
    const u = typeof url === 'string' ? new URL(url) : url;
    const host = u.hostname.toLowerCase();
    const path = u.pathname || '/';
    const secure = u.protocol === 'https:' || u.protocol === 'wss:';
    const now = Date.now();
    const out = new Map<string, string>();
    const matched: Cookie[] = [];
    for (const [key, c] of this.cookies) {
      if (c.expires !== null && c.expires <= now) {
        this.cookies.delete(key);
        continue;
      }
      // A shared cookie goes everywhere (aiohttp sends it before any other check).
      if (c.domain === '') {
        matched.push(c);
        continue;
      }
      if (c.secure && !secure) continue;
      if (c.hostOnly ? host !== c.domain : !domainMatch(host, c.domain)) continue;
      if (!pathMatch(path, c.path)) continue;
      matched.push(c);
    }
    // Longer paths first (RFC 6265 §5.4), so the most specific value wins a name clash.
    matched.sort((a, b) => b.path.length - a.path.length);
    for (const c of matched) if (!out.has(c.name)) out.set(c.name, c.codedValue);
    return out;
  }

  /** Removes every cookie (or those `predicate` selects). */
  clear(predicate?: (cookie: Cookie) => boolean): void {
    if (predicate === undefined) this.cookies.clear();
    else for (const [k, c] of this.cookies) if (predicate(c)) this.cookies.delete(k);
  }

  *[Symbol.iterator](): IterableIterator<Cookie> {
    yield* this.cookies.values();
  }

  private store(c: Cookie): void {
    const key = `${c.domain};${c.path};${c.name}`;
    if (c.expires !== null && c.expires <= Date.now()) this.cookies.delete(key);
    else this.cookies.set(key, c);
  }
}

function shared(name: string, value: string): Cookie {
  return {
    name,
    value: String(value),
    codedValue: quoteCookieValue(String(value)),
    domain: '',
    path: '/',
    expires: null,
    secure: false,
    httpOnly: false,
    hostOnly: false,
  };
}

function domainMatch(host: string, domain: string): boolean {
  return host === domain || (host.endsWith(`.${domain}`) && isIP(host) === 0);
}

function pathMatch(reqPath: string, cookiePath: string): boolean {
  if (reqPath === cookiePath) return true;
  if (!reqPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || reqPath[cookiePath.length] === '/';
}

function defaultPath(u: URL): string {
  const p = u.pathname;
  if (!p.startsWith('/')) return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/**
 * One `Set-Cookie` value as the server sent it (the `Domain` attribute taken as given, without
 * its leading dot), or null when it names no cookie. `resp.cookies` shows these; the jar stores
 * those `parseSetCookie` accepts.
 */
export function readSetCookie(line: string, u: URL): Cookie | null {
  const parts = line.split(';');
  const first = parts[0] as string;
  const eq = first.indexOf('=');
  if (eq <= 0) return null;
  const name = first.slice(0, eq).trim();
  const codedValue = first.slice(eq + 1).trim();
  const c: Cookie = {
    name,
    value: unquoteCookieValue(codedValue),
    codedValue,
    domain: u.hostname.toLowerCase(),
    path: defaultPath(u),
    expires: null,
    secure: false,
    httpOnly: false,
    hostOnly: true,
  };
  let maxAge: number | null = null;
  for (const attr of parts.slice(1)) {
    const i = attr.indexOf('=');
    const k = (i === -1 ? attr : attr.slice(0, i)).trim().toLowerCase();
    const v = i === -1 ? '' : attr.slice(i + 1).trim();
    // A Domain with a trailing dot is ignored: the cookie stays host-only (aiohttp too).
    if (k === 'domain' && v !== '' && !v.endsWith('.')) {
      c.domain = v.replace(/^\./, '').toLowerCase();
      c.hostOnly = false;
    } else if (k === 'path' && v.startsWith('/')) c.path = v;
    else if (k === 'max-age' && /^-?\d+$/.test(v)) maxAge = Number(v);
    else if (k === 'expires') {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) c.expires = t;
    } else if (k === 'secure') c.secure = true;
    else if (k === 'httponly') c.httpOnly = true;
  }
  if (maxAge !== null) c.expires = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
  return c;
}

/** One `Set-Cookie` value as the jar stores it; null when it must be ignored. */
export function parseSetCookie(line: string, u: URL): Cookie | null {
  const c = readSetCookie(line, u);
  // A server may set cookies for itself or a parent domain, never for another site.
  if (c === null || (!c.hostOnly && !domainMatch(u.hostname.toLowerCase(), c.domain))) return null;
  return c;
}

/**
 * Python's `http.cookies` unquoting: a value in double quotes loses them, and inside, `\ooo`
 * (three octal digits) is that byte's character and `\x` is `x`. Anything else is as it came.
 */
function unquoteCookieValue(v: string): string {
  if (v.length < 2 || !v.startsWith('"') || !v.endsWith('"')) return v;
  return v
    .slice(1, -1)
    .replace(/\\(?:([0-3][0-7][0-7])|(.))/g, (_m, oct: string | undefined, ch: string) =>
      oct !== undefined ? String.fromCharCode(Number.parseInt(oct, 8)) : ch,
    );
}

/** Python's `SimpleCookie` sends a value unquoted when it is made of these (the empty one is quoted). */
const LEGAL_COOKIE_VALUE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~:]+$/;

/**
 * A value the caller gave, coded as Python's `SimpleCookie` codes it (what aiohttp sends): as
 * it is when made of its legal characters, else in double quotes with `"` and `\\` escaped by
 * a backslash and the bytes below 32, from 127 to 255, `,` and `;` as `\ooo` octal escapes.
 */
export function quoteCookieValue(v: string): string {
  if (LEGAL_COOKIE_VALUE.test(v)) return v;
  let out = '"';
  for (const ch of v) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c < 32 || (c >= 127 && c <= 255) || ch === ',' || ch === ';') {
      out += `\\${c.toString(8).padStart(3, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}
