import { Process } from './process.js';
import { identity } from './process-identity.js';

let current: Process | null = null;
let parent: Process | null | undefined;

/** The Process object of the running process: `MainProcess` at the root. */
export function currentProcess(): Process {
  if (current === null) {
    const id = identity();
    // A ProcessPoolExecutor's worker says `daemon` false, as Python 3.11's, though it is booted a
    // daemon (it ends with its parent): its identity says so (src/internal/pool/process-role.ts).
    current = Process._adopt(Process, {
      name: id.name,
      daemon: id.daemon,
      pid: process.pid,
    });
  }
  return current;
}

/** @internal The child role sets the object `run()` is called on. */
export function _setCurrentProcess(p: Process): void {
  current = p;
}

/**
 * The parent of the running process (a handle with its pid and name), null in MainProcess. Its
 * `isAlive()` turns false, and its `join()` returns, once the parent has ended.
 */
export function parentProcess(): Process | null {
  if (parent === undefined) {
    const id = identity();
    parent =
      id.parentPid === null ? null : Process._handle(id.parentName ?? 'MainProcess', id.parentPid);
  }
  return parent;
}

/** The children of this process still running (those started here). */
export function activeChildren(): Process[] {
  return Process._active().filter((p) => p.isAlive());
}
