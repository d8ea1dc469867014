/**
 * Starting a weft worker: the parent side of protocol.ts.
 *
 * The worker's first code is a tiny evaluated script, not a file, so that it can register a
 * TypeScript loader before anything else is imported: on Node 20 a Worker does not inherit
 * tsx's hooks (not even with `execArgv: process.execArgv`), and its entry file would be loaded
 * before an `--import` could take effect. When the parent runs TypeScript (weft's own sources,
 * or a task module ending in .ts), the script registers the loader first (tsx's ESM API unless
 * WEFT_TS_LOADER names another, ../ts-loader.ts); compiled JavaScript
 * needs nothing. Otherwise the worker only gets the loader's description, and registers it if it
 * meets a .ts module later (a pool's task submitted after it started, a Barrier's action).
 */
import {
  BroadcastChannel,
  isMainThread,
  MessageChannel,
  type MessagePort,
  type ResourceLimits,
  receiveMessageOnPort,
  Worker,
  type WorkerOptions,
} from 'node:worker_threads';
import { codeUrls } from '../bundled.js';
import { sharedHooks } from '../hooks.js';
import { sharedModules } from '../serialize.js';
import { snapshot } from '../shm/sab-registry.js';
import { threadStackSize, WORLD_KEY, worldBuffer } from '../shm/world.js';
import { findTsLoader, requireTsLoader, TS_MODULE } from '../ts-loader.js';
import type { BootData, WorkerMessage } from './protocol.js';

const bootstrapUrl = new URL(
  `./bootstrap${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
  import.meta.url,
).href;

const LOADER_FLAGS = new Set(['--import', '--loader', '--experimental-loader', '--require', '-r']);

/**
 * The parent's Node flags for the worker, minus loader registrations: those would load tsx a
 * second time (and fail on Node 20); the boot script registers it itself when needed.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    if (LOADER_FLAGS.has(flag)) {
      if (eq < 0) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

export interface SpawnOptions<M = WorkerMessage> {
  /** URL of the role module (exports `main(payload)`). */
  role: string;
  /**
   * Encoded for the message carrier (serialize.ts `encode(…, 'message')`); sent on the start port,
   * not in workerData (protocol.ts).
   */
  payload: unknown;
  /** Module URLs the worker will import (task modules): a .ts one needs the TypeScript loader. */
  modules?: string[];
  name?: string;
  /** Memory limits of the worker (an executor's `resourceLimits`; exceeding them ends it). */
  resourceLimits?: ResourceLimits;
  /**
   * Each of weft's messages from the worker (protocol.ts), in order, the last ones at its exit:
   * WorkerMessage, and a role's own protocol (a pool's runner) when it has one.
   */
  onMessage?: (m: M) => void;
  /** In its place, one that could not be read here (the error that said so). */
  onUnreadable?: (error: unknown) => void;
}

/** The channel on which a worker asks the main thread to start multiprocessing's broker. */
export const BROKER_CHANNEL = 'weft.broker';
let brokerRequests: BroadcastChannel | null = null;

/**
 * The main thread answers workers that need multiprocessing's broker started (it must live as
 * long as the process, so not as a worker of a worker). Listening from the first spawn on, and
 * from the first load of multiprocessing (broker-client.ts): a worker started with a plain
 * `new Worker` may ask too, and its message carries the nonce it claimed in a world of its own.
 */
export function listenForBrokerRequests(): void {
  if (brokerRequests !== null || !isMainThread) return;
  brokerRequests = new BroadcastChannel(BROKER_CHANNEL);
  brokerRequests.onmessage = (e) => {
    const nonce = (e as { data?: { nonce?: unknown } | null }).data?.nonce;
    void import('../process/broker-client.js').then((m) => m.startWantedBroker(nonce));
  };
  brokerRequests.unref();
}

const beforeSpawn = sharedHooks<() => void>('beforeWorkerSpawn');

/**
 * Runs `fn` on this thread before each worker it spawns (multiprocessing registers "decide the
 * broker", so that a worker's copy of the environment names it).
 */
export function beforeWorkerSpawn(fn: () => void): void {
  beforeSpawn.add(fn);
}

/** The worker's `resourceLimits`: threading.stackSize()'s setting unless they name a stack. */
function withStackSize(limits: ResourceLimits | undefined): { resourceLimits?: ResourceLimits } {
  const bytes = threadStackSize();
  if (bytes === 0 || limits?.stackSizeMb !== undefined)
    return limits ? { resourceLimits: limits } : {};
  return { resourceLimits: { ...limits, stackSizeMb: bytes / (1024 * 1024) } };
}

export function spawnWorker(o: SpawnOptions): Worker {
  return spawnWorkerWithPort(o).worker;
}

/**
 * spawnWorker, and the parent's end of weft's port, for a role that is spoken to on it (a pool's
 * runner, pool/protocol.ts): nothing the worker's own code posts on parentPort can reach it.
 */
export function spawnWorkerWithPort<M = WorkerMessage>(
  o: SpawnOptions<M>,
): { worker: Worker; port: MessagePort } {
  listenForBrokerRequests();
  for (const fn of beforeSpawn) fn();
  const preload = sharedModules();
  const needsTs = [bootstrapUrl, o.role, ...preload, ...(o.modules ?? [])].some((u) =>
    TS_MODULE.test(u),
  );
  const loader = needsTs ? requireTsLoader('worker') : findTsLoader();
  // The payload waits on weft's port (protocol.ts), posted first, so that it is queued before
  // the worker can look for it, and so that a payload that cannot be cloned throws here, before
  // there is a worker to end.
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(o.payload);
  } catch (err) {
    port1.close();
    port2.close();
    throw err;
  }
  const data: BootData = {
    [WORLD_KEY]: worldBuffer(),
    sabs: snapshot(),
    preload: codeUrls(preload),
    role: o.role,
    start: port2,
    tsLoader: loader?.worker ?? null,
    tsLoaderOn: needsTs,
  };
  const script = [
    'const { workerData } = require("node:worker_threads");',
    needsTs && loader
      ? `${loader.workerRegistration}.then(() => import(${JSON.stringify(bootstrapUrl)}))`
      : `import(${JSON.stringify(bootstrapUrl)})`,
    '.then((b) => b.boot(workerData));',
  ].join('\n');
  const options: WorkerOptions = {
    eval: true,
    workerData: data,
    transferList: [port2],
    ...(o.name ? { name: o.name } : {}),
    ...withStackSize(o.resourceLimits),
  };
  let worker: Worker;
  try {
    worker = newWorker(script, options);
  } catch (err) {
    port1.close();
    port2.close();
    throw err;
  }
  listen(worker, port1, o);
  return { worker, port: port1 };
}

/**
 * The parent's end of weft's port: its messages as they come while the worker runs, and at the
 * worker's 'exit' — before any listener the caller adds hears of it — the rest, read to the end
 * here (Node's own reading may have stopped at an unreadable one: protocol.ts). It never keeps
 * this thread alive: the worker does, for as long as the caller lets it.
 */
function listen<M>(worker: Worker, port: MessagePort, o: SpawnOptions<M>): void {
  const { onMessage, onUnreadable } = o;
  if (onMessage !== undefined) port.on('message', onMessage);
  if (onUnreadable !== undefined) port.on('messageerror', onUnreadable);
  port.unref();
  worker.once('exit', () => {
    try {
      for (;;) {
        let got: { message: unknown } | undefined;
        try {
          got = receiveMessageOnPort(port);
        } catch (err) {
          // Taken off the queue all the same: the next one follows.
          onUnreadable?.(err);
          continue;
        }
        if (got === undefined) break;
        onMessage?.(got.message as M);
      }
    } finally {
      port.close();
    }
  });
}

function newWorker(script: string, options: WorkerOptions): Worker {
  try {
    return new Worker(script, { ...options, execArgv: workerExecArgv() });
  } catch (err) {
    // Process-wide flags (--expose-gc, --max-old-space-size, …) are refused in a worker, before
    // the start port is transferred: it can still go with the second try.
    if ((err as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    return new Worker(script, { ...options, execArgv: [] });
  }
}
