/**
 * Resources: what the router matches a path against. A plain resource is an exact path (found
 * by one Map lookup); prefix resources (static directories, sub-applications) match a path
 * prefix; a dynamic one is a pattern matched in one of two ways, chosen once:
 *
 * - segment by segment, when every parameter is a plain `{name}` followed by `/` or by the end
 *   (`/users/{id}`, `/a/{x}/b/{y}`): a plain parameter (`[^{}/]+`) cannot hold `/`, so it is
 *   exactly the text up to the next `/`; `startsWith` and `indexOf` decide the match with no
 *   RegExp run, no match array and no groups object;
 * - otherwise by a RegExp compiled once, anchored, a capture group per parameter
 *   (`/{id:\d+}.json` → `^/((?:\d+))\.json$`), the parameters read by group index.
 *
 * Both give the same answers: the segment matcher is only used where it is equivalent.
 *
 * Each resource keeps its handlers by method, and, once the application is frozen, the same
 * handlers already wrapped in their middleware chain (`_compiled`), so a request allocates no
 * closure to run the chain.
 */
import { rangeError } from '../internal/errors.js';
import { type MatchInfo, type Request, unquotePath } from './request.js';
import type { StreamResponse } from './stream-response.js';

export type Handler = (request: Request) => StreamResponse | Promise<StreamResponse>;

/** A matched URL whose method is not allowed adds its methods here (for 405's `Allow`). */
export function addAllowed(request: Request, methods: Iterable<string>): void {
  const s = (request._allowed ??= new Set());
  for (const m of methods) s.add(m);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Part = { literal: string } | { param: string; regex: RegExp; custom: boolean };

/** Splits `'/a/{b}/{c:\d+}'` into literal and parameter parts; braces nest inside regexes. */
export function parsePattern(pattern: string): Part[] {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '}') throw rangeError(`Unbalanced '}' in route pattern`, pattern);
    if (ch !== '{') {
      lit += ch;
      i++;
      continue;
    }
    let depth = 1;
    let j = i + 1;
    while (j < pattern.length && depth > 0) {
      const c = pattern[j];
      if (c === '\\') j++;
      else if (c === '{') depth++;
      else if (c === '}') depth--;
      j++;
    }
    if (depth !== 0) throw rangeError(`Unbalanced '{' in route pattern`, pattern);
    const inner = pattern.slice(i + 1, j - 1);
    const colon = inner.indexOf(':');
    const name = colon === -1 ? inner : inner.slice(0, colon);
    const source = colon === -1 ? '[^{}/]+' : inner.slice(colon + 1);
    if (!IDENT.test(name)) {
      throw rangeError('Route parameter names must be identifiers', name);
    }
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${source})$`);
    } catch (e) {
      throw rangeError(
        `Invalid regular expression for route parameter '${name}'`,
        `${source} (${(e as Error).message})`,
      );
    }
    if (lit !== '') parts.push({ literal: lit });
    lit = '';
    if (parts.some((p) => 'param' in p && p.param === name)) {
      throw rangeError('Route parameter names must be unique in a pattern', name);
    }
    parts.push({ param: name, regex, custom: colon !== -1 });
    i = j;
  }
  if (lit !== '') parts.push({ literal: lit });
  return parts;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface UrlForOptions {
  /** Query parameters appended as `?a=1&b=2`. */
  query?: Record<string, string | number> | URLSearchParams | [string, string][];
}

/** A path the router answers, with its handlers by method. */
export class Resource {
  /** The name given with `{ name }`, for `urlFor`. */
  readonly name: string | null;
  /** The pattern as registered (`/users/{id}`). */
  readonly pattern: string;
  /** @internal registration order in the router. */
  _index = 0;
  /**
   * @internal A plain resource the router tries in order with the patterned ones, because an
   * earlier resource holds its path's place in the exact-path map: it must compare the path.
   */
  _comparePath = false;
  /** @internal the URL prefix of the application that owns it (sub-applications). */
  _prefix = '';
  /** @internal */ readonly _handlers = new Map<string, Handler>();
  /** @internal handlers wrapped in middlewares, built at freeze. */
  _compiled = new Map<string, Handler>();
  /** @internal the RegExp of a dynamic pattern the segment matcher cannot take, else null. */
  readonly _regex: RegExp | null;
  private readonly parts: Part[];
  private readonly dynamic: boolean;
  /** Parameter names, in pattern order, and their capture group in `_regex`. */
  private readonly names: string[];
  private readonly groups: number[];
  /** The parts, when the segment matcher applies. */
  private readonly segments: Part[] | null;

  constructor(pattern: string, name: string | null) {
    if (typeof pattern !== 'string' || !pattern.startsWith('/')) {
      throw rangeError("Route path must start with '/'", pattern);
    }
    this.pattern = pattern;
    this.name = name;
    const parts = parsePattern(pattern);
    this.parts = parts;
    this.names = [];
    this.groups = [];
    this.dynamic = parts.some((p) => 'param' in p);
    const bySegment = parts.every((p, i) => {
      if ('literal' in p) return true;
      const next = parts[i + 1];
      return !p.custom && (next === undefined || ('literal' in next && next.literal[0] === '/'));
    });
    this.segments = this.dynamic && bySegment ? parts : null;
    let source = '^';
    let group = 1;
    for (const p of parts) {
      if ('literal' in p) {
        source += escapeRegex(p.literal);
        continue;
      }
      this.names.push(p.param);
      this.groups.push(group);
      const inner = p.regex.source.slice(1, -1);
      source += `(${inner})`;
      // A custom regex may hold capture groups of its own: count them (the empty alternative
      // matches '' and reports every group) to find the next parameter's group.
      group += 1 + ((new RegExp(`${inner}|`).exec('') as RegExpExecArray).length - 1);
    }
    this._regex = this.dynamic && this.segments === null ? new RegExp(`${source}$`) : null;
  }

  /** True for an exact path without parameters. */
  get isPlain(): boolean {
    return !this.dynamic;
  }

  /** Methods with a handler. */
  get methods(): string[] {
    return [...this._handlers.keys()];
  }

  /**
   * The URL path of this resource with `params` filled in and percent-encoded, plus the query.
   * @throws {RangeError} a parameter is missing or does not match its pattern.
   */
  urlFor(params: Record<string, string | number> = {}, options: UrlForOptions = {}): string {
    let out = this._prefix;
    for (const p of this.parts) {
      if ('literal' in p) {
        out += p.literal;
        continue;
      }
      const v = params[p.param];
      if (v === undefined) {
        throw rangeError(
          `urlFor('${this.name ?? this.pattern}') needs parameter '${p.param}'`,
          params,
        );
      }
      const s = String(v);
      if (!p.regex.test(s)) {
        throw rangeError(`Parameter '${p.param}' does not match its pattern ${p.regex.source}`, s);
      }
      out += quotePath(s);
    }
    return appendQuery(out, options.query);
  }

  /** @internal */
  _resolve(request: Request, path: string): Handler | null {
    let info: MatchInfo | null = null;
    if (this.dynamic) {
      info = this.segments !== null ? this.matchSegments(path) : this.matchRegex(path);
      if (info === null) return null;
    } else if (this._comparePath && path !== this.pattern) return null;
    const h = this._compiled.get(request.method) ?? this._compiled.get('*');
    if (h === undefined) {
      addAllowed(request, this._handlers.keys());
      return null;
    }
    if (info !== null) request.matchInfo = info;
    return h;
  }

  private matchSegments(path: string): MatchInfo | null {
    const parts = this.segments as Part[];
    const info: MatchInfo = {};
    let pos = 0;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as Part;
      if ('literal' in p) {
        if (!path.startsWith(p.literal, pos)) return null;
        pos += p.literal.length;
        continue;
      }
      let end = path.indexOf('/', pos);
      if (end === -1) end = path.length;
      if (end === pos) return null;
      const v = path.slice(pos, end);
      if (v.indexOf('{') !== -1 || v.indexOf('}') !== -1) return null;
      info[p.param] = decodeParam(v);
      pos = end;
    }
    return pos === path.length ? info : null;
  }

  private matchRegex(path: string): MatchInfo | null {
    const m = (this._regex as RegExp).exec(path);
    if (m === null) return null;
    const info: MatchInfo = {};
    const names = this.names;
    for (let i = 0; i < names.length; i++) {
      info[names[i] as string] = decodeParam(m[this.groups[i] as number] as string);
    }
    return info;
  }
}

/** A path parameter decoded as the path is (aiohttp's `_unquote_path`): see `unquotePath`. */
const decodeParam = unquotePath;

/** Characters of a path that `encodeURIComponent` escapes but a path may hold as they are. */
const PATH_SAFE = /%(?:24|26|2B|2C|2F|3A|3B|3D|40)/g;

/**
 * @internal `s` percent-encoded as yarl encodes a path (aiohttp's `url_for`): what RFC 3986
 * lets a path segment hold (`!$&'()*+,;=:@`) and `/` stay as they are, the rest is escaped as
 * UTF-8 (`a b/c` → `a%20b/c`).
 */
export function quotePath(s: string): string {
  return encodeURIComponent(s).replace(PATH_SAFE, decodeURIComponent);
}

export function appendQuery(path: string, query: UrlForOptions['query']): string {
  if (query === undefined) return path;
  const qs = new URLSearchParams(
    query instanceof URLSearchParams || Array.isArray(query)
      ? query
      : Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]),
  ).toString();
  return qs === '' ? path : `${path}?${qs}`;
}
