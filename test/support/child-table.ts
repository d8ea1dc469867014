/** What the tests read of multiprocessing's process-wide child table (world.ts layout). */
import * as world from '../../src/internal/shm/world.js';

/** The pids the child table holds now, whichever thread started them. */
export function tablePids(): number[] {
  const w = world.worldWords();
  const out: number[] = [];
  for (let k = 0; k < world.CHILD_CAP; k++) {
    const pid = Atomics.load(w, world.CHILDREN + k * world.CHILD_WORDS);
    if (pid > 0) out.push(pid);
  }
  return out;
}
