/**
 * AppRunner: runs an Application for one or more sites (aiohttp's `web.AppRunner`), for code
 * that embeds a server in a larger program; `runApp` is the one-call version.
 *
 *   const runner = new AppRunner(app);
 *   await runner.setup();                       // startup hooks, app frozen
 *   const site = new TCPSite(runner, '127.0.0.1', 8080);
 *   await site.start();                         // listening
 *   …
 *   await runner.cleanup();                     // graceful: see below
 *
 * Graceful shutdown (`cleanup`): the sites stop accepting connections and idle keep-alive
 * connections are closed; `onShutdown` hooks run; requests in flight get `shutdownTimeout` ms
 * to finish (their connections close after the response); whatever is still running then is
 * cancelled; the remaining connections — WebSockets included — are closed, without waiting for a
 * handler that ignores its cancellation; `onCleanup` hooks run last.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleClosed, handleOpened } from '../internal/live-handles.js';
import { reportException } from '../internal/scheduler.js';
import type { Application } from './application.js';
import {
  closeAllSockets,
  type RequestHost,
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
} from './http-server.js';
import type { Request } from './request.js';

export type AppRunnerOptions = ServerOptions;

export class AppRunner implements RequestHost, AsyncDisposable {
  /** @internal */ readonly _app: Application;
  /** @internal */ _closing = false;
  /** @internal requests in flight: a doubly linked list through `Request._prev/_next`. */
  private inflightHead: Request | null = null;
  private inflightCount = 0;
  /** @internal */ readonly _maxHeaderValues: number;
  /** @internal */ readonly _options: ResolvedServerOptions;
  /** @internal servers of the started sites, with a promise of their 'close' event. */
  readonly _servers = new Map<Server, Promise<void>>();
  private state: 'new' | 'ready' | 'closing' | 'closed' = 'new';
  private drained: (() => void) | null = null;

  constructor(app: Application, options: AppRunnerOptions = {}) {
    if (app === null || typeof app !== 'object' || typeof app._freeze !== 'function') {
      throw new TypeError('AppRunner expects an Application');
    }
    this._app = app;
    this._options = resolveServerOptions(options);
    this._maxHeaderValues = this._options.maxHeaders * 2;
  }

  get app(): Application {
    return this._app;
  }

  /** Addresses the started sites listen on. */
  get addresses(): AddressInfo[] {
    const out: AddressInfo[] = [];
    for (const s of this._servers.keys()) {
      const a = s.address();
      if (a !== null && typeof a === 'object') out.push(a);
    }
    return out;
  }

  /** Requests being handled now (a snapshot). */
  get inflight(): number {
    return this.inflightCount;
  }

  /**
   * Freezes the application and runs its startup hooks.
   * @throws the first startup hook's error; what had started is cleaned up before (the
   *   cleanupCtx generators that reached their `yield` finish, the onCleanup hooks run).
   */
  async setup(): Promise<void> {
    if (this.state !== 'new') throw new Error(`AppRunner.setup() was already called`);
    this.state = 'ready';
    handleOpened('web-runner');
    try {
      this._app._freeze();
    } catch (e) {
      this.state = 'closed';
      handleClosed('web-runner');
      throw e;
    }
    try {
      await this._app._startup();
    } catch (e) {
      this.state = 'closed';
      handleClosed('web-runner');
      // The runner is unusable, so nobody could call cleanup() later: undo what did start now,
      // as aiohttp's run_app does — the cleanupCtx generators that reached their `yield` finish
      // (only those), and the onCleanup hooks run. The startup error is the one raised.
      try {
        await this._app._cleanup();
      } catch (e2) {
        reportException('Error in cleanup after a failed startup', e2);
      }
      throw e;
    }
  }

  /** @internal */
  _checkReady(): void {
    if (this.state !== 'ready') {
      throw new Error(
        this.state === 'new'
          ? 'Call runner.setup() before starting a site'
          : 'The runner is shutting down',
      );
    }
  }

  /** @internal */
  _requestStart(request: Request): void {
    const head = this.inflightHead;
    request._next = head;
    if (head !== null) head._prev = request;
    this.inflightHead = request;
    this.inflightCount++;
  }

  /** @internal called once per started request. */
  _requestDone(request: Request): void {
    const { _prev: prev, _next: next } = request;
    if (prev !== null) prev._next = next;
    else this.inflightHead = next;
    if (next !== null) next._prev = prev;
    request._prev = request._next = null;
    this.inflightCount--;
    if (this.drained !== null && this.inflightCount === 0) this.drained();
  }

  /** The requests in flight now (a copy: cancelling one may end it). */
  private inflightRequests(): Request[] {
    const out: Request[] = [];
    for (let r = this.inflightHead; r !== null; r = r._next) out.push(r);
    return out;
  }

  /** Graceful shutdown, then cleanup hooks (see the class notes). Idempotent. */
  async cleanup(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'closed';
      return;
    }
    if (this.state !== 'ready') return;
    this.state = 'closing';
    this._closing = true;
    try {
      const servers = [...this._servers.keys()];
      for (const s of servers) {
        if (s.listening) s.close();
        s.closeIdleConnections();
      }
      for (const r of this.inflightRequests()) r._res.shouldKeepAlive = false;
      await this._app._shutdown();
      await this.waitInflight(this._options.shutdownTimeout);
      if (this.inflightCount > 0) {
        for (const r of this.inflightRequests()) r._task?.cancel('The server is shutting down');
        await this.waitInflight(1000);
      }
      for (const s of servers) closeAllSockets(s);
      await Promise.all(this._servers.values());
      this._servers.clear();
    } finally {
      this.state = 'closed';
      handleClosed('web-runner');
      await this._app._cleanup();
    }
  }

  private waitInflight(ms: number): Promise<void> {
    if (this.inflightCount === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.drained = null;
        resolve();
      }
      this.drained = done;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.cleanup();
  }
}
