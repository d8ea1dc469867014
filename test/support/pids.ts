/** Whether a process still runs, for tests that watch the processes a program left. Linux /proc. */
import { readFileSync } from 'node:fs';

/**
 * A live process. A zombie counts as gone: an orphan that ended stays one until its new parent
 * reaps it, which a container's init may never do.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
