/**
 * Route definitions (aiohttp's `web_routedef`): routes described as values, then added to a
 * router in one call — `app.router.addRoutes(routes)`.
 *
 * Two forms, as in aiohttp:
 *
 *   // a table filled by decorator-like calls, each of which returns the handler unchanged
 *   const routes = new RouteTableDef();
 *   const index = routes.get('/')(async (request) => new Response({ text: 'hi' }));
 *   routes.post('/items', createItem);                  // or the handler given directly
 *   routes.view('/users')(Users);                       // a View class
 *   class Api {
 *     @routes.get('/api/status') static async status() { … }   // a method decorator
 *   }
 *   app.router.addRoutes(routes);
 *
 *   // a list of definitions made by `get`, `post`, … (aiohttp's `web.get`, `web.post`, …)
 *   import * as web from 'weft/web';
 *   app.router.addRoutes([web.get('/', index), web.post('/items', createItem)]);
 *
 * TypeScript has no decorators for plain functions: `routes.get(path)` returns a function that
 * takes the handler and gives it back, which is what Python's decorator is called with; it also
 * works as a standard (TC39) decorator of a static method or of a View class.
 */
import type { Handler, Resource } from './resource.js';
import type { StaticOptions } from './static-resource.js';
import type { GetRouteOptions, UrlDispatcher } from './url-dispatcher.js';
import { isViewClass, type ViewClass } from './view.js';

/** A route's handler: a function of the request, or a View class. */
export type RouteHandler = Handler | ViewClass;

/** `name`, and for GET `allowHead` (default true). */
export type RouteDefOptions = GetRouteOptions;

/** What `addRoutes` takes: anything that can add itself to a router. */
export abstract class AbstractRouteDef {
  /** Adds the route to `router`; returns the resources it added to or made. */
  abstract register(router: UrlDispatcher): Resource[];
}

/** One route: a method, a path, a handler (aiohttp's `RouteDef`). */
export class RouteDef extends AbstractRouteDef {
  readonly method: string;
  readonly path: string;
  readonly handler: RouteHandler;
  readonly options: Readonly<RouteDefOptions>;

  /** @throws {TypeError} the handler is not a function or a View class. */
  constructor(method: string, path: string, handler: RouteHandler, options: RouteDefOptions = {}) {
    super();
    if (typeof handler !== 'function') {
      throw new TypeError(
        `Route handler must be a function or a View class: received ${typeof handler}`,
      );
    }
    this.method = method;
    this.path = path;
    this.handler = handler;
    this.options = { ...options };
  }

  /** As aiohttp's: GET through `addGet` (so it answers HEAD too), the rest through `addRoute`. */
  override register(router: UrlDispatcher): Resource[] {
    const m = typeof this.method === 'string' ? this.method.toUpperCase() : this.method;
    if (m === 'GET') return [router.addGet(this.path, this.handler, this.options)];
    if (this.options.allowHead !== undefined) {
      throw new TypeError(`allowHead is an option of GET routes only: ${m} ${this.path}`);
    }
    return [router.addRoute(this.method, this.path, this.handler, this.options)];
  }

  get [Symbol.toStringTag](): string {
    return `RouteDef ${this.method} ${this.path}`;
  }
}

/** A directory served under a prefix (aiohttp's `StaticDef`). */
export class StaticDef extends AbstractRouteDef {
  readonly prefix: string;
  readonly directory: string;
  readonly options: Readonly<StaticOptions>;

  constructor(prefix: string, directory: string, options: StaticOptions = {}) {
    super();
    this.prefix = prefix;
    this.directory = directory;
    this.options = { ...options };
  }

  override register(router: UrlDispatcher): Resource[] {
    return [router.addStatic(this.prefix, this.directory, this.options)];
  }

  get [Symbol.toStringTag](): string {
    return `StaticDef ${this.prefix} -> ${this.directory}`;
  }
}

/**
 * Where a standard (TC39) route decorator may sit: a View class or a static method. Not an
 * instance method: the router calls a handler without an instance, so its `this` would be
 * undefined at the first request.
 */
export type RouteDecoratorContext =
  | ClassDecoratorContext
  | (ClassMethodDecoratorContext & { readonly static: true });

/**
 * Takes the handler and returns it unchanged, having recorded the route. Also a standard
 * decorator of a static method or of a View class.
 * @throws {TypeError} it decorates an instance method, a field or an accessor.
 */
export type RouteDecorator = <H extends RouteHandler>(
  handler: H,
  context?: RouteDecoratorContext,
) => H;

/** `routes.view(path)`: a RouteDecorator for View classes only. */
export type ViewDecorator = <H extends ViewClass>(cls: H, context?: ClassDecoratorContext) => H;

/**
 * A list of route definitions filled by decorator-like calls (aiohttp's `RouteTableDef`):
 * `routes.get('/x')(handler)` records the route and returns `handler`; `routes.get('/x',
 * handler)` does the same in one call. Iterable, indexable with `at(i)`, with a `length`;
 * `app.router.addRoutes(routes)` adds them all, in the order they were recorded.
 */
export class RouteTableDef implements Iterable<AbstractRouteDef> {
  private readonly items: AbstractRouteDef[] = [];

  get length(): number {
    return this.items.length;
  }

  at(index: number): AbstractRouteDef | undefined {
    return this.items.at(index);
  }

  includes(item: AbstractRouteDef): boolean {
    return this.items.includes(item);
  }

  [Symbol.iterator](): IterableIterator<AbstractRouteDef> {
    return this.items[Symbol.iterator]();
  }

  route(method: string, path: string, options?: RouteDefOptions): RouteDecorator;
  route<H extends RouteHandler>(
    method: string,
    path: string,
    handler: H,
    options?: RouteDefOptions,
  ): H;
  route(
    method: string,
    path: string,
    handlerOrOptions?: RouteHandler | RouteDefOptions,
    options?: RouteDefOptions,
  ): RouteDecorator | RouteHandler {
    if (typeof handlerOrOptions === 'function') {
      this.items.push(new RouteDef(method, path, handlerOrOptions, options));
      return handlerOrOptions;
    }
    const opts = handlerOrOptions ?? {};
    return <H extends RouteHandler>(handler: H, context?: RouteDecoratorContext): H => {
      checkPlace(context, method, path);
      this.items.push(new RouteDef(method, path, handler, opts));
      return handler;
    };
  }

  get(path: string, options?: RouteDefOptions): RouteDecorator;
  get<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  get(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('GET', path, a as RouteHandler, b);
  }

  head(path: string, options?: RouteDefOptions): RouteDecorator;
  head<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  head(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('HEAD', path, a as RouteHandler, b);
  }

  post(path: string, options?: RouteDefOptions): RouteDecorator;
  post<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  post(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('POST', path, a as RouteHandler, b);
  }

  put(path: string, options?: RouteDefOptions): RouteDecorator;
  put<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  put(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('PUT', path, a as RouteHandler, b);
  }

  patch(path: string, options?: RouteDefOptions): RouteDecorator;
  patch<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  patch(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('PATCH', path, a as RouteHandler, b);
  }

  delete(path: string, options?: RouteDefOptions): RouteDecorator;
  delete<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  delete(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('DELETE', path, a as RouteHandler, b);
  }

  options(path: string, options?: RouteDefOptions): RouteDecorator;
  options<H extends RouteHandler>(path: string, handler: H, options?: RouteDefOptions): H;
  options(path: string, a?: RouteHandler | RouteDefOptions, b?: RouteDefOptions): unknown {
    return this.route('OPTIONS', path, a as RouteHandler, b);
  }

  /** A View class for every method (aiohttp's `METH_ANY`). */
  view(path: string, options?: RouteDefOptions): ViewDecorator;
  view<H extends ViewClass>(path: string, handler: H, options?: RouteDefOptions): H;
  view(path: string, a?: ViewClass | RouteDefOptions, b?: RouteDefOptions): unknown {
    if (typeof a === 'function') return this.route('*', path, checkView(a), b);
    const decorate = this.route('*', path, a);
    return <H extends ViewClass>(cls: H, context?: ClassDecoratorContext): H =>
      decorate(checkView(cls), context);
  }

  /** Serves `directory` under `prefix` (`addStatic`); returns nothing, as aiohttp's. */
  static(prefix: string, directory: string, options?: StaticOptions): void {
    this.items.push(new StaticDef(prefix, directory, options));
  }

  get [Symbol.toStringTag](): string {
    return `RouteTableDef count=${this.items.length}`;
  }
}

/**
 * @throws {TypeError} a decorator context other than a class or a static method's: the router
 *   would call an instance method without its instance.
 */
function checkPlace(context: unknown, method: string, path: string): void {
  if (typeof context !== 'object' || context === null) return;
  const c = context as { kind?: unknown; static?: unknown; name?: unknown };
  if (c.kind === 'class' || (c.kind === 'method' && c.static === true)) return;
  const what = c.kind === 'method' ? 'an instance method' : `a ${String(c.kind)}`;
  throw new TypeError(
    `A route decorator (${method} ${path}) goes on a static method or a View class: received ${what} (${String(c.name)}), which the router would call without an instance`,
  );
}

/** @throws {TypeError} not a View class (a plain function would be called for every method). */
function checkView<H>(cls: H): H {
  if (!isViewClass(cls)) {
    throw new TypeError('view() takes a class extending View');
  }
  return cls;
}

// aiohttp's route makers: `web.get(path, handler)` → a RouteDef for `addRoutes([...])`.

export function route(
  method: string,
  path: string,
  handler: RouteHandler,
  options?: RouteDefOptions,
): RouteDef {
  return new RouteDef(method, path, handler, options);
}
export function get(path: string, handler: RouteHandler, options?: RouteDefOptions): RouteDef {
  return new RouteDef('GET', path, handler, options);
}
export function head(path: string, handler: RouteHandler, options?: RouteDefOptions): RouteDef {
  return new RouteDef('HEAD', path, handler, options);
}
export function post(path: string, handler: RouteHandler, options?: RouteDefOptions): RouteDef {
  return new RouteDef('POST', path, handler, options);
}
export function put(path: string, handler: RouteHandler, options?: RouteDefOptions): RouteDef {
  return new RouteDef('PUT', path, handler, options);
}
export function patch(path: string, handler: RouteHandler, options?: RouteDefOptions): RouteDef {
  return new RouteDef('PATCH', path, handler, options);
}
/** aiohttp's `web.delete`; exported as `delete` (a reserved word: `web.delete(…)`). */
export function deleteRoute(
  path: string,
  handler: RouteHandler,
  options?: RouteDefOptions,
): RouteDef {
  return new RouteDef('DELETE', path, handler, options);
}
export function options(
  path: string,
  handler: RouteHandler,
  routeOptions?: RouteDefOptions,
): RouteDef {
  return new RouteDef('OPTIONS', path, handler, routeOptions);
}
export function view(path: string, handler: ViewClass, options?: RouteDefOptions): RouteDef {
  return new RouteDef('*', path, checkView(handler), options);
}
/** aiohttp's `web.static`; exported as `static` (a reserved word: `web.static(…)`). */
export function staticRoute(prefix: string, directory: string, options?: StaticOptions): StaticDef {
  return new StaticDef(prefix, directory, options);
}
