/**
 * runApp: serve an application until SIGINT/SIGTERM (aiohttp's `web.run_app`).
 *
 * With `workers: N` (N > 1) the calling process becomes a supervisor: it forks N copies of the
 * program with `node:cluster`; each copy reaches the same `runApp` call, is a worker there,
 * and serves the application on the shared listening socket (the primary hands out
 * connections round-robin). SIGINT/SIGTERM to the supervisor is passed on to every worker,
 * which shuts down gracefully; the supervisor resolves when all have exited. A worker that
 * dies on its own is replaced, unless it died within a second of starting (a crash loop).
 *
 *   primary (runApp, workers: 2) ──fork──► worker 1 (runApp → AppRunner + TCPSite)
 *          │  SIGTERM ─────────────────────► worker 2 (runApp → AppRunner + TCPSite)
 *          └── resolves when both exited        both accept on one shared port
 */
import cluster, { type Worker } from 'node:cluster';
import { AppRunner, type AppRunnerOptions } from './app-runner.js';
import type { Application } from './application.js';
import { TCPSite } from './tcp-site.js';

export interface RunAppOptions extends AppRunnerOptions {
  /** Default `127.0.0.1` (aiohttp listens on every interface; weft only when asked). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  backlog?: number;
  /** Stop on SIGINT/SIGTERM (default true). */
  handleSignals?: boolean;
  /** Stop when this signal aborts (for embedding and tests). */
  signal?: AbortSignal;
  /** Serve on this many worker processes (default 1: in this process). */
  workers?: number;
  /** Called once listening, with the site (its `name` is the URL). */
  onReady?: (site: TCPSite) => void;
  /** Where to print the "Running on" banner (default: nowhere). */
  print?: ((line: string) => void) | null;
}

/**
 * Runs `app` (or the application a promise or function gives) until stopped, then shuts it
 * down gracefully (see AppRunner.cleanup).
 *
 * @example
 * const app = new Application();
 * app.router.addGet('/', () => new Response({ text: 'hello' }));
 * await runApp(app, { host: '127.0.0.1', port: 8080 });
 */
export async function runApp(
  app: Application | Promise<Application> | (() => Application | Promise<Application>),
  options: RunAppOptions = {},
): Promise<void> {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) {
    throw new RangeError(`workers must be an integer >= 1: received ${String(workers)}`);
  }
  if (workers > 1 && cluster.isPrimary) return supervise(workers, options);
  const application = typeof app === 'function' ? await app() : await app;
  const runner = new AppRunner(application, options);
  await runner.setup();
  const stop = stopSignal(options);
  try {
    const site = new TCPSite(runner, options.host ?? '127.0.0.1', options.port ?? 8080, {
      backlog: options.backlog ?? 1024,
    });
    await site.start();
    options.print?.(`======== Running on ${site.name} ========\n(Press CTRL+C to quit)`);
    options.onReady?.(site);
    await stop.promise;
  } finally {
    stop.dispose();
    await runner.cleanup();
    // A cluster worker stays alive through its IPC channel to the supervisor: let it go.
    if (cluster.isWorker) cluster.worker?.disconnect();
  }
}

interface StopSignal {
  promise: Promise<void>;
  dispose(): void;
}

function stopSignal(options: RunAppOptions): StopSignal {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const onSignal = (): void => resolve();
  const handle = options.handleSignals ?? true;
  if (handle) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const signal = options.signal;
  if (signal?.aborted) resolve();
  signal?.addEventListener('abort', onSignal, { once: true });
  return {
    promise,
    dispose() {
      if (handle) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      signal?.removeEventListener('abort', onSignal);
    },
  };
}

async function supervise(n: number, options: RunAppOptions): Promise<void> {
  const live = new Set<Worker>();
  let stopping = false;
  let allExited!: () => void;
  const exited = new Promise<void>((r) => (allExited = r));
  const fork = (): void => {
    const started = Date.now();
    const w = cluster.fork();
    live.add(w);
    w.once('exit', () => {
      live.delete(w);
      if (!stopping && Date.now() - started > 1000) fork();
      else if (live.size === 0) allExited();
    });
  };
  for (let i = 0; i < n; i++) fork();
  const stop = stopSignal(options);
  try {
    await Promise.race([stop.promise, exited]);
  } finally {
    stopping = true;
    stop.dispose();
    for (const w of live) w.process.kill('SIGTERM');
    if (live.size > 0) await exited;
  }
}
