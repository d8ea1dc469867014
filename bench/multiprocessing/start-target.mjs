// The child-process target of the process-start bench, in plain JavaScript: a child that runs
// compiled code (as a published program does) needs no TypeScript loader at start.
import { task } from '../../dist/multiprocessing/index.js';

export const helloJs = task(import.meta, async (q) => {
  await q.put(process.pid);
});
