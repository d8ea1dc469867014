/**
 * UrlDispatcher: the router of an Application (`app.router`).
 *
 * Matching follows aiohttp: resources are tried in registration order and the first whose path
 * matches *and* has a handler for the method wins; a path that matched only with other methods
 * gives 405 with `Allow`, no match gives 404. To keep the common case to one Map lookup, exact
 * paths are indexed by path; the patterned resources registered before that exact path are
 * tried first (they would win in aiohttp's order), then the exact one, then the rest.
 *
 * Routes are added until the application starts; then the application is frozen and every
 * handler is wrapped in its middleware chain once (`_freeze`).
 */
import { rangeError } from '../internal/errors.js';
import type { Application } from './application.js';
import type { Request } from './request.js';
import { type Handler, Resource, type UrlForOptions } from './resource.js';
import { AbstractRouteDef } from './route-table-def.js';
import { type StaticOptions, StaticResource } from './static-resource.js';
import { isViewClass, type ViewClass, viewHandler } from './view.js';

export interface RouteOptions {
  /** A name for `router.urlFor(name, params)`. */
  name?: string;
}

export interface GetRouteOptions extends RouteOptions {
  /** Also answer HEAD with the same handler (default true, as in aiohttp). */
  allowHead?: boolean;
}

const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A sub-application mounted at a prefix. */
class SubAppResource extends Resource {
  constructor(
    readonly prefix: string,
    readonly app: Application,
  ) {
    super(prefix, null);
  }

  override _resolve(request: Request, path: string): Handler | null {
    const p = this.prefix;
    if (!path.startsWith(p)) return null;
    if (path.length !== p.length && path.charCodeAt(p.length) !== 47 /* / */) return null;
    request.app = this.app;
    return this.app.router._resolve(request, path.length === p.length ? '/' : path.slice(p.length));
  }
}

export class UrlDispatcher {
  /** @internal */ readonly _app: Application;
  /** @internal the URL prefix under which this router is mounted. */
  _prefix = '';
  private readonly resources: Resource[] = [];
  private readonly plain = new Map<string, Resource>();
  private patterned: Resource[] = [];
  private readonly names = new Map<string, Resource>();
  /** @internal */ _notFound: Handler | null = null;
  /** @internal */ _notAllowed: Handler | null = null;

  constructor(app: Application) {
    this._app = app;
  }

  /**
   * Adds `handler` for `method` (`'*'` for any) at `path` (`'/users/{id}'`). A View class
   * serves the request with a new instance's method of that name (see View).
   */
  addRoute(
    method: string,
    path: string,
    handler: Handler | ViewClass,
    options: RouteOptions = {},
  ): Resource {
    this.checkOpen();
    if (typeof method !== 'string' || (method !== '*' && !METHOD.test(method))) {
      throw rangeError('HTTP method must be a token or "*"', method);
    }
    if (typeof handler !== 'function') {
      throw new TypeError(`Route handler must be a function: received ${typeof handler}`);
    }
    if (isViewClass(handler)) handler = viewHandler(handler);
    const m = method === '*' ? '*' : method.toUpperCase();
    const r = this.addResource(path, options);
    if (r._handlers.has(m)) {
      throw new Error(`Route ${m} ${path} is already registered`);
    }
    r._handlers.set(m, handler as Handler);
    return r;
  }

  /**
   * Adds every route of `routes` — a RouteTableDef, or a list of `get(…)`, `post(…)`, … —
   * in order (aiohttp's `add_routes`); returns the resource of each.
   * @throws {TypeError} an item that is not a route definition. The errors of `addRoute` and
   *   `addStatic`: the routes before the failing one stay added, as in aiohttp.
   */
  addRoutes(routes: Iterable<AbstractRouteDef>): Resource[] {
    this.checkOpen();
    if (routes === null || typeof routes !== 'object' || !(Symbol.iterator in routes)) {
      throw new TypeError(
        'addRoutes() takes a RouteTableDef or a list of route definitions (get(…), post(…), …)',
      );
    }
    const out: Resource[] = [];
    for (const def of routes) {
      if (!(def instanceof AbstractRouteDef)) {
        throw new TypeError(
          'addRoutes(): every item must be a route definition made by get(…), post(…), route(…), view(…) or static(…)',
        );
      }
      out.push(...def.register(this));
    }
    return out;
  }

  /** A View class for every method at `path` (aiohttp's `add_view`). */
  addView(path: string, view: ViewClass, options: RouteOptions = {}): Resource {
    if (!isViewClass(view)) throw new TypeError('addView() takes a class extending View');
    return this.addRoute('*', path, view, options);
  }

  /**
   * The resource for `path`: the last one added if it has the same pattern (and name), else a
   * new one.
   */
  addResource(path: string, options: RouteOptions = {}): Resource {
    this.checkOpen();
    const name = options.name ?? null;
    const last = this.resources[this.resources.length - 1];
    if (last !== undefined && last.pattern === path && (name === null || last.name === name)) {
      return last;
    }
    const r = new Resource(path, name);
    this.register(r);
    return r;
  }

  addGet(path: string, handler: Handler | ViewClass, options: GetRouteOptions = {}): Resource {
    const r = this.addRoute('GET', path, handler, options);
    if (options.allowHead !== false && !r._handlers.has('HEAD')) {
      r._handlers.set('HEAD', r._handlers.get('GET') as Handler);
    }
    return r;
  }
  addHead(path: string, handler: Handler | ViewClass, options?: RouteOptions): Resource {
    return this.addRoute('HEAD', path, handler, options);
  }
  addPost(path: string, handler: Handler | ViewClass, options?: RouteOptions): Resource {
    return this.addRoute('POST', path, handler, options);
  }
  addPut(path: string, handler: Handler | ViewClass, options?: RouteOptions): Resource {
    return this.addRoute('PUT', path, handler, options);
  }
  addPatch(path: string, handler: Handler | ViewClass, options?: RouteOptions): Resource {
    return this.addRoute('PATCH', path, handler, options);
  }
  addDelete(path: string, handler: Handler | ViewClass, options?: RouteOptions): Resource {
    return this.addRoute('DELETE', path, handler, options);
  }

  /**
   * Serves the files under `directory` at `prefix` (GET and HEAD). Requests cannot leave the
   * directory: see StaticResource.
   */
  addStatic(prefix: string, directory: string, options: StaticOptions = {}): StaticResource {
    this.checkOpen();
    const r = new StaticResource(prefix, directory, options);
    this.register(r);
    return r;
  }

  /** @internal mounts a sub-application (`app.addSubapp`). */
  _addSubapp(prefix: string, app: Application): void {
    this.checkOpen();
    const r = new SubAppResource(prefix, app);
    this.register(r);
  }

  /** The resource registered under `name`. @throws {RangeError} no such name. */
  named(name: string): Resource {
    const r = this.names.get(name);
    if (r === undefined) throw rangeError('No route is named', name);
    return r;
  }

  /** The URL path of the route named `name` with `params` filled in. */
  urlFor(name: string, params?: Record<string, string | number>, options?: UrlForOptions): string {
    return this.named(name).urlFor(params, options);
  }

  /** Every resource, in registration order. */
  [Symbol.iterator](): IterableIterator<Resource> {
    return this.resources[Symbol.iterator]();
  }

  get size(): number {
    return this.resources.length;
  }

  private checkOpen(): void {
    if (this._app.frozen) {
      throw new Error('Cannot change the router: the application is running (frozen)');
    }
  }

  private register(r: Resource): void {
    if (r.name !== null) {
      if (this.names.has(r.name)) throw rangeError('A route with this name already exists', r.name);
      this.names.set(r.name, r);
    }
    r._index = this.resources.length;
    this.resources.push(r);
    if (r.isPlain && !(r instanceof SubAppResource) && !this.plain.has(r.pattern)) {
      this.plain.set(r.pattern, r);
    } else {
      // A second resource for an exact path (routes for one path added apart, as a route table
      // often lists them) is tried in its turn, as aiohttp tries every resource in order.
      if (r.isPlain && !(r instanceof SubAppResource)) r._comparePath = true;
      this.patterned.push(r);
    }
  }

  /** @internal sets the mount prefix of this router and of the routers below it. */
  _setPrefix(prefix: string): void {
    this._prefix = prefix;
    for (const r of this.resources) {
      r._prefix = prefix;
      if (r instanceof SubAppResource) r.app.router._setPrefix(prefix + r.prefix);
    }
  }

  /** @internal wraps every handler in `chain` (the middlewares from the root app down). */
  _freeze(compose: (h: Handler) => Handler, notFound: Handler, notAllowed: Handler): void {
    for (const r of this.resources) {
      const compiled = new Map<string, Handler>();
      for (const [m, h] of r._handlers) compiled.set(m, compose(h));
      r._compiled = compiled;
    }
    this._notFound = compose(notFound);
    this._notAllowed = compose(notAllowed);
  }

  /** @internal the handler for the request (sets `matchInfo`; 404/405 handlers when none). */
  _resolve(request: Request, path: string): Handler {
    const exact = this.plain.get(path);
    const limit = exact === undefined ? Number.MAX_SAFE_INTEGER : exact._index;
    const list = this.patterned;
    let i = 0;
    for (; i < list.length; i++) {
      const r = list[i] as Resource;
      if (r._index > limit) break;
      const h = r._resolve(request, path);
      if (h !== null) return h;
    }
    if (exact !== undefined) {
      const h = exact._resolve(request, path);
      if (h !== null) return h;
      for (; i < list.length; i++) {
        const h2 = (list[i] as Resource)._resolve(request, path);
        if (h2 !== null) return h2;
      }
    }
    return (request._allowed === null ? this._notFound : this._notAllowed) as Handler;
  }
}
