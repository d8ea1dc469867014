/**
 * Who this process is, in multiprocessing's terms: `MainProcess` at the root, or the child a
 * parent started (its name, daemon flag and the parent's pid, handed over at boot). Every thread
 * of a process is that process: a worker thread reads the identity its process's main thread
 * set (below), and numbers children with the same counter.
 */
import { isMainThread } from 'node:worker_threads';
import { nextProcessNumber } from '../internal/shm/world.js';

export interface Identity {
  name: string;
  daemon: boolean;
  parentPid: number | null;
  parentName: string | null;
  /**
   * Children started here whose identity is not known are named `${prefix}${n}`. Only a child
   * booted without one (a ProcessPoolExecutor worker) uses it: see `ident`.
   */
  childPrefix: string;
  /**
   * Python's `_identity`: `[]` at the root, the parent's plus this child's number below it
   * (`[1]`, `[1, 2]`). A child's default name comes from it, not from its parent's name:
   * `Process-1:2`, `SpawnPoolWorker-3`.
   */
  ident?: number[];
}

const KEY = Symbol.for('weft.mp.identity');
const holder = globalThis as unknown as { [KEY]?: Identity };

/**
 * Carries a child's identity to its worker threads: a worker starts with a copy of the
 * environment of the thread that spawned it. The pid tells a copy inherited by another process
 * (a grandchild before its boot, any program the child runs) from this process's own.
 */
const ENV_IDENTITY = 'WEFT_MP_IDENTITY';

function inherited(): Identity | null {
  const raw = process.env[ENV_IDENTITY];
  if (isMainThread || raw === undefined) return null;
  try {
    const { pid, ...id } = JSON.parse(raw) as Identity & { pid: number };
    return pid === process.pid ? id : null;
  } catch {
    return null;
  }
}

export function identity(): Identity {
  holder[KEY] ??= inherited() ?? {
    name: 'MainProcess',
    daemon: false,
    parentPid: null,
    parentName: null,
    childPrefix: 'Process-',
    ident: [],
  };
  return holder[KEY];
}

/** The names a Pool gives its workers; their identity is read back from it at their boot. */
const POOL_WORKER = /^SpawnPoolWorker-(\d+(?::\d+)*)$/;

export function setIdentity(id: Identity): void {
  // A pool worker is booted with its name alone (src/internal/process/bootstrap.ts); that name
  // says its identity, from which its own children are named (`Process-3:1`, as in Python).
  const m = id.ident === undefined ? POOL_WORKER.exec(id.name) : null;
  const set = m ? { ...id, ident: (m[1] as string).split(':').map(Number) } : id;
  holder[KEY] = set;
  if (isMainThread) process.env[ENV_IDENTITY] = JSON.stringify({ pid: process.pid, ...set });
}

/** A child about to be made here: its number, and its identity when this process's is known. */
export interface NextChild {
  n: number;
  ident: number[] | null;
}

/**
 * The next child started here (a Process or a Pool worker, from any thread): this process's
 * identity plus the next number of one counter they share, as Python's `_process_counter` — so a
 * Process made after a Pool of two is `Process-3`.
 */
export function nextChild(): NextChild {
  const n = nextProcessNumber();
  const own = identity().ident;
  return { n, ident: own === undefined ? null : [...own, n] };
}

/** The default name of a child of class `kind` (`Process`, `SpawnPoolWorker`). */
export function childName(kind: string, child: NextChild): string {
  if (child.ident !== null) return `${kind}-${child.ident.join(':')}`;
  // This process's identity is not known (a ProcessPoolExecutor worker): its name is the prefix.
  return `${identity().childPrefix}${child.n}`;
}
