/**
 * StaticResource: serves the files under one directory at a URL prefix (`addStatic`).
 *
 * Safe by default — a request can name only a regular file inside the directory:
 *   1. the rest of the path is split on `/` *before* percent-decoding, so `%2f` cannot forge a
 *      separator; each decoded segment that is `..`, or holds `/`, `\` or NUL, is refused
 *      (403) — this catches `..`, `%2e%2e`, `%2E%2e/`, `..%5c` alike;
 *   2. the joined path is resolved with `realpath` and must still lie inside the directory's
 *      own real path: a symlink pointing out of the root is refused (404) unless
 *      `followSymlinks` is set;
 *   3. the file is opened with `O_NOFOLLOW` at its resolved path, so swapping the last
 *      component for a symlink after the check does not escape either.
 */
import { realpathSync, statSync } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { rangeError } from '../internal/errors.js';
import { FileResponse } from './file-response.js';
import { HTTPForbidden, HTTPNotFound } from './http-exceptions.js';
import type { Request } from './request.js';
import {
  addAllowed,
  appendQuery,
  type Handler,
  quotePath,
  Resource,
  type UrlForOptions,
} from './resource.js';
import { Response } from './response.js';
import type { StreamResponse } from './stream-response.js';

export interface StaticOptions {
  name?: string;
  /** Answer a directory with an HTML listing (default false: 403). */
  showIndex?: boolean;
  /** Follow symlinks that point outside the directory (default false). */
  followSymlinks?: boolean;
}

export class StaticResource extends Resource {
  /** The directory's real path. */
  readonly directory: string;
  readonly prefix: string;
  private readonly showIndex: boolean;
  private readonly followSymlinks: boolean;
  /** @internal the serving handler (wrapped in middlewares at freeze). */
  readonly _serve: Handler;

  constructor(prefix: string, directory: string, options: StaticOptions = {}) {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
      throw rangeError("Static prefix must start with '/'", prefix);
    }
    const p = prefix.replace(/\/+$/, '');
    super(`${p}/{filename:.*}`, options.name ?? null);
    this.prefix = p;
    let dir: string;
    try {
      dir = realpathSync(directory);
    } catch {
      throw rangeError('Static directory does not exist', directory);
    }
    if (!statSync(dir).isDirectory()) throw rangeError('Static path is not a directory', directory);
    this.directory = dir;
    this.showIndex = options.showIndex ?? false;
    this.followSymlinks = options.followSymlinks ?? false;
    this._serve = (request) => this.serve(request);
    this._handlers.set('GET', this._serve);
    this._handlers.set('HEAD', this._serve);
  }

  /** The URL of `filename` under the prefix (each segment percent-encoded). */
  override urlFor(params: { filename?: string } = {}, options: UrlForOptions = {}): string {
    const f = params.filename;
    if (typeof f !== 'string') throw rangeError("urlFor on a static resource needs 'filename'", f);
    const enc = quotePath(f.replace(/^\/+/, ''));
    return appendQuery(`${this._prefix}${this.prefix}/${enc}`, options.query);
  }

  /** @internal */
  override _resolve(request: Request, path: string): Handler | null {
    const p = this.prefix;
    if (!path.startsWith(p) || path.charCodeAt(p.length) !== 47 /* / */) return null;
    const h = this._compiled.get(request.method);
    if (h === undefined) {
      addAllowed(request, this._handlers.keys());
      return null;
    }
    request.matchInfo = { filename: path.slice(p.length + 1) };
    return h;
  }

  private async serve(request: Request): Promise<StreamResponse> {
    const rel = request.matchInfo.filename ?? '';
    const segments: string[] = [];
    for (const raw of rel.split('/')) {
      if (raw === '' || raw === '.') continue;
      let s: string;
      try {
        s = decodeURIComponent(raw);
      } catch {
        throw new HTTPNotFound();
      }
      if (s === '..' || s === '.' || s.includes('/') || s.includes('\\') || s.includes('\0')) {
        throw new HTTPForbidden();
      }
      segments.push(s);
    }
    const root = this.directory;
    let real: string;
    try {
      real = await realpath(join(root, ...segments));
    } catch {
      throw new HTTPNotFound();
    }
    if (!this.followSymlinks && real !== root && !real.startsWith(root + sep)) {
      throw new HTTPNotFound();
    }
    const st = await stat(real).catch(() => null);
    if (st === null) throw new HTTPNotFound();
    if (st.isDirectory()) {
      if (!this.showIndex) throw new HTTPForbidden();
      return this.index(real, rel);
    }
    // A FIFO, a socket, a device: not a file to serve (aiohttp's 404). Opening a FIFO would
    // wait for a writer.
    if (!st.isFile()) throw new HTTPNotFound();
    return new FileResponse(real, { noFollow: true });
  }

  private async index(dir: string, rel: string): Promise<Response> {
    const names = (await readdir(dir, { withFileTypes: true }))
      .map((d) => (d.isDirectory() ? `${d.name}/` : d.name))
      .sort();
    const base = `${this._prefix}${this.prefix}/${rel.replace(/^\/+|\/+$/g, '')}`.replace(
      /\/+$/,
      '',
    );
    const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const title = esc(`Index of /${rel}`);
    const items = names
      .map(
        (n) =>
          `<li><a href="${esc(`${base}/${encodeURIComponent(n.replace(/\/$/, ''))}${n.endsWith('/') ? '/' : ''}`)}">${esc(n)}</a></li>`,
      )
      .join('\n');
    return new Response({
      text: `<html><head><title>${title}</title></head><body><h1>${title}</h1><ul>\n${items}\n</ul></body></html>`,
      contentType: 'text/html',
    });
  }
}
