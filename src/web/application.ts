/**
 * Application: routes, middlewares, lifecycle hooks and shared state (aiohttp's
 * `web.Application`).
 *
 * Life: built and configured → `AppRunner.setup()` runs the first half of each `cleanupCtx`
 * generator, then the `onStartup` hooks, and freezes it: routes and middlewares can no longer
 * change, and each route's handler is wrapped in its middleware chain once → requests → on
 * shutdown the `onShutdown` hooks run while in-flight requests finish, then the second half of
 * the `cleanupCtx` generators (in reverse order) and the `onCleanup` hooks. A sub-application's
 * hooks run as one hook of its parent's, added to `onStartup`, `onShutdown` and `onCleanup` by
 * `addSubapp` (aiohttp's `_reg_subapp_signals`): they run where `addSubapp` was called among
 * the parent's own hooks.
 */
import { rangeError } from '../internal/errors.js';
import { HTTPMethodNotAllowed, HTTPNotFound } from './http-exceptions.js';
import type { Request } from './request.js';
import type { Handler } from './resource.js';
import type { StreamResponse } from './stream-response.js';
import { UrlDispatcher } from './url-dispatcher.js';

/**
 * A middleware: receives the request and the next handler, returns the response
 * (`async (request, handler) => handler(request)`).
 */
export type Middleware = (
  request: Request,
  handler: Handler,
) => StreamResponse | Promise<StreamResponse>;

/** A lifecycle hook (`onStartup`, `onShutdown`, `onCleanup`). */
export type AppHook = (app: Application) => void | Promise<void>;

/** A cleanup context: code before `yield` runs at startup, after it at cleanup. */
export type CleanupContext = (app: Application) => AsyncGenerator<unknown, void, unknown>;

export interface ApplicationOptions {
  middlewares?: Middleware[];
  /**
   * Largest request body a handler may read whole, in bytes (default 1 MiB, aiohttp's): 413
   * above. 0 is no limit, as in aiohttp (`client_max_size=0`).
   */
  clientMaxSize?: number;
  /**
   * Called with an error a handler raised that is not an HTTP error (answered 500). By default
   * it is written to stderr, as aiohttp logs it; the client never sees the stack.
   */
  onError?: (error: unknown, request: Request) => void;
}

const notFound: Handler = () => {
  throw new HTTPNotFound();
};

const notAllowed: Handler = (request) => {
  throw new HTTPMethodNotAllowed(request.method, request._allowed ?? []);
};

export class Application {
  readonly router: UrlDispatcher;
  /** Middlewares, outermost first; fixed once the application starts. */
  readonly middlewares: Middleware[];
  readonly onStartup: AppHook[] = [];
  readonly onShutdown: AppHook[] = [];
  readonly onCleanup: AppHook[] = [];
  readonly cleanupCtx: CleanupContext[] = [];
  /** Application-wide state (aiohttp's `app['key']`): database pools, settings, … */
  readonly state = new Map<unknown, unknown>();
  readonly clientMaxSize: number;
  /** @internal */ readonly _onError: ((error: unknown, request: Request) => void) | null;
  private _frozen = false;
  private readonly subapps: Application[] = [];
  private parent: Application | null = null;
  private running: AsyncGenerator<unknown, void, unknown>[] = [];

  constructor(options: ApplicationOptions = {}) {
    const max = options.clientMaxSize ?? 1024 ** 2;
    if (!Number.isInteger(max) || max < 0) {
      throw rangeError('clientMaxSize must be an integer number of bytes >= 0', max);
    }
    this.clientMaxSize = max;
    this.middlewares = [...(options.middlewares ?? [])];
    for (const m of this.middlewares) {
      if (typeof m !== 'function') throw new TypeError('Every middleware must be a function');
    }
    this._onError = options.onError ?? null;
    this.router = new UrlDispatcher(this);
  }

  /** True once the application has started: routes and middlewares are fixed. */
  get frozen(): boolean {
    return this._frozen;
  }

  /**
   * Mounts `subapp` under `prefix` (`'/admin'`): its routes answer `/admin/...`, wrapped in
   * this application's middlewares and then its own; `request.app` is `subapp` there. Its
   * lifecycle runs as one hook appended now to this application's `onStartup`, `onShutdown` and
   * `onCleanup`, as in aiohttp: after the hooks added before this call, before those added after.
   */
  addSubapp(prefix: string, subapp: Application): void {
    if (!(subapp instanceof Application)) {
      throw new TypeError('addSubapp expects an Application');
    }
    if (typeof prefix !== 'string' || !prefix.startsWith('/') || prefix === '/') {
      throw rangeError("Sub-application prefix must start with '/' and not be '/'", prefix);
    }
    if (subapp.parent !== null || subapp === this) {
      throw new Error('This application is already mounted');
    }
    const p = prefix.replace(/\/+$/, '');
    this.router._addSubapp(p, subapp);
    subapp.parent = this;
    this.subapps.push(subapp);
    subapp.router._setPrefix(this.router._prefix + p);
    this.onStartup.push(() => subapp._startup());
    this.onShutdown.push(() => subapp._shutdown());
    this.onCleanup.push(() => subapp._cleanup());
  }

  /** @internal freezes this application and its sub-applications, compiling the chains. */
  _freeze(outer: Middleware[] = []): void {
    if (this._frozen) return;
    this._frozen = true;
    const chain = [...outer, ...this.middlewares];
    Object.freeze(this.middlewares);
    const compose = (h: Handler): Handler => {
      let next = h;
      for (let i = chain.length - 1; i >= 0; i--) {
        const mw = chain[i] as Middleware;
        const inner = next;
        next = (request) => mw(request, inner);
      }
      return next;
    };
    this.router._freeze(compose, notFound, notAllowed);
    for (const s of this.subapps) s._freeze(chain);
  }

  /** @internal */
  async _startup(): Promise<void> {
    // aiohttp's order: the cleanup contexts are the first startup hook (aiohttp registers them
    // when the application is built), so an onStartup hook can use what a context opened.
    for (const ctx of this.cleanupCtx) {
      const gen = ctx(this);
      const r = await gen.next();
      if (r.done) throw new Error('A cleanupCtx generator must yield once');
      this.running.push(gen);
    }
    for (const h of this.onStartup) await h(this);
  }

  /** @internal */
  async _shutdown(): Promise<void> {
    for (const h of this.onShutdown) await h(this);
  }

  /** @internal runs every cleanup even if one fails; the first error is raised after. */
  async _cleanup(): Promise<void> {
    const errors: unknown[] = [];
    // As in aiohttp, the cleanup contexts are also the first cleanup hook (in reverse order).
    const gens = this.running.reverse();
    this.running = [];
    for (const g of gens) {
      try {
        const r = await g.next();
        if (!r.done) errors.push(new Error('A cleanupCtx generator must yield only once'));
      } catch (e) {
        errors.push(e);
      }
    }
    for (const h of this.onCleanup) {
      try {
        await h(this);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'Several cleanup hooks failed');
  }

  get [Symbol.toStringTag](): string {
    return 'Application';
  }
}
