/**
 * The multi-core server: `startServer(…, { workers: N })` runs N worker processes that share
 * one listening port (node:cluster).
 *
 *   primary (the process that called startServer first)
 *     ├─ cluster.fork() × N ── each worker re-runs the program; its startServer() call listens
 *     │                         through cluster, which shares one listening socket
 *     ├─ 'listening' from every worker ──► startServer() resolves in the primary
 *     └─ close(): worker.disconnect() — each worker closes its server, finishes its
 *        connections and exits; the group is closed when all have exited
 *
 * Connections are spread by cluster's policy: round robin by the primary (Node's default on
 * Linux), or `workerScheduling: 'os'` for the kernel's own spreading (SCHED_NONE), which costs
 * the primary nothing per connection. The primary serves nothing itself.
 */
import cluster, { type Address, type Worker } from 'node:cluster';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';

/** Set in the environment of the workers weft forks, so their startServer() listens itself. */
export const WORKER_ENV = 'WEFT_STREAMS_WORKER';

export type WorkerMessage = { weft: 'streams'; op: 'closeClients' | 'abortClients' };

/** What Server needs of a listener: net.Server has the same three members. */
export interface Listener extends EventEmitter {
  address(): AddressInfo | string | null;
  close(): void;
}

export function isWeftWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_ENV] === '1';
}

/** The primary's view of its workers, shaped like a net.Server for Server. */
export class WorkerGroup extends EventEmitter implements Listener {
  private readonly workers = new Set<Worker>();
  private addr: AddressInfo | string | null = null;
  private closing = false;

  private constructor() {
    super();
  }

  /** Forks `n` workers and resolves once every one of them listens. */
  static async start(n: number, scheduling: 'rr' | 'os'): Promise<WorkerGroup> {
    const g = new WorkerGroup();
    // Only before the first fork does the policy take effect.
    if (Object.keys(cluster.workers ?? {}).length === 0) {
      cluster.schedulingPolicy = scheduling === 'os' ? cluster.SCHED_NONE : cluster.SCHED_RR;
    }
    const listening: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const w = cluster.fork({ [WORKER_ENV]: '1' });
      g.workers.add(w);
      listening.push(
        new Promise<void>((resolve, reject) => {
          w.once('listening', (a: Address) => {
            g.addr ??=
              a.addressType === -1
                ? a.address
                : {
                    address: a.address,
                    port: a.port,
                    family: a.addressType === 6 ? 'IPv6' : 'IPv4',
                  };
            resolve();
          });
          w.once('exit', (code, signal) =>
            reject(
              new Error(
                `startServer: worker ${i + 1} exited before listening (code ${code}, signal ${signal})`,
              ),
            ),
          );
        }),
      );
      w.on('exit', () => {
        g.workers.delete(w);
        if (g.workers.size === 0) g.emit('close');
      });
    }
    try {
      await Promise.all(listening);
    } catch (e) {
      g.kill();
      throw e;
    }
    return g;
  }

  address(): AddressInfo | string | null {
    return this.addr;
  }

  get size(): number {
    return this.workers.size;
  }

  /** Each worker closes its server, finishes its connections, and exits. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    for (const w of this.workers) w.disconnect();
  }

  send(op: WorkerMessage['op']): void {
    const m: WorkerMessage = { weft: 'streams', op };
    // A worker can go in the meantime (it exits once its server closes): with a callback, a send
    // that meets its closed channel fails there instead of as an 'error' nobody handles, which
    // ended the primary with EPIPE. A worker that is gone has nothing left to close or abort.
    for (const w of this.workers) if (w.isConnected()) w.send(m, undefined, undefined, ignore);
  }

  kill(): void {
    for (const w of this.workers) w.process.kill('SIGKILL');
  }
}

function ignore(): void {}
