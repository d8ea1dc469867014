/**
 * Resources: what the router matches a path against. A plain resource is an exact path (found
 * by one Map lookup); a dynamic one is a pattern compiled once to an anchored RegExp with named
 * groups (`/{id}` → `^/(?<id>[^{}/]+)$`, `/{id:\d+}` → `^/(?<id>\d+)$`); prefix resources
 * (static directories, sub-applications) match a path prefix.
 *
 * Each resource keeps its handlers by method, and, once the application is frozen, the same
 * handlers already wrapped in their middleware chain (`_compiled`), so a request allocates no
 * closure to run the chain.
 */
import { rangeError } from '../internal/errors.js';
import type { Request } from './request.js';
import type { StreamResponse } from './stream-response.js';

export type Handler = (request: Request) => StreamResponse | Promise<StreamResponse>;

/** A matched URL whose method is not allowed adds its methods here (for 405's `Allow`). */
export function addAllowed(request: Request, methods: Iterable<string>): void {
  const s = (request._allowed ??= new Set());
  for (const m of methods) s.add(m);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Part = { literal: string } | { param: string; regex: RegExp };

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
    parts.push({ param: name, regex });
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
  /** @internal the URL prefix of the application that owns it (sub-applications). */
  _prefix = '';
  /** @internal */ readonly _handlers = new Map<string, Handler>();
  /** @internal handlers wrapped in middlewares, built at freeze. */
  _compiled = new Map<string, Handler>();
  /** @internal */ readonly _regex: RegExp | null;
  private readonly parts: Part[];

  constructor(pattern: string, name: string | null) {
    if (typeof pattern !== 'string' || !pattern.startsWith('/')) {
      throw rangeError("Route path must start with '/'", pattern);
    }
    this.pattern = pattern;
    this.name = name;
    this.parts = parsePattern(pattern);
    const dynamic = this.parts.some((p) => 'param' in p);
    this._regex = dynamic
      ? new RegExp(
          `^${this.parts
            .map((p) =>
              'literal' in p
                ? escapeRegex(p.literal)
                : `(?<${p.param}>${p.regex.source.slice(1, -1)})`,
            )
            .join('')}$`,
        )
      : null;
  }

  /** True for an exact path without parameters. */
  get isPlain(): boolean {
    return this._regex === null;
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
      out += encodeURIComponent(s);
    }
    return appendQuery(out, options.query);
  }

  /** @internal */
  _resolve(request: Request, path: string): Handler | null {
    let info: Record<string, string> | null = null;
    if (this._regex !== null) {
      const m = this._regex.exec(path);
      if (m === null) return null;
      info = m.groups as Record<string, string>;
    }
    const h = this._compiled.get(request.method) ?? this._compiled.get('*');
    if (h === undefined) {
      addAllowed(request, this._handlers.keys());
      return null;
    }
    if (info !== null) request.matchInfo = decodeMatch(info);
    return h;
  }
}

/** Decodes percent-escapes in place (the groups object is ours). */
export function decodeMatch(info: Record<string, string>): Record<string, string> {
  for (const k in info) {
    const v = info[k] as string;
    if (v.indexOf('%') !== -1) {
      try {
        info[k] = decodeURIComponent(v);
      } catch {
        // A malformed escape stays as sent; the path itself was accepted by the parser.
      }
    }
  }
  return info;
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
