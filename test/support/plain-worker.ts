/**
 * A worker thread started as a user's program starts one, with a plain `new Worker` (not a weft
 * Thread), on a TypeScript entry: what it said and how it ended (its exit code, or
 * 'still running' once `patience` ms passed, after which it is terminated).
 */
import { Worker } from 'node:worker_threads';
import { TS_WORKER_LOADER } from './ts.js';

export async function runPlainWorker(
  entry: string,
  workerData: unknown,
  patience: number,
): Promise<{ said: unknown[]; code: unknown }> {
  // Node 20 applies no --import loader to a worker's entry: register the loader, then import.
  const w = new Worker(
    `import(${JSON.stringify(TS_WORKER_LOADER)}).then((t) => { t.register?.(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData },
  );
  const said: unknown[] = [];
  w.on('message', (m) => said.push(m));
  w.on('error', (e) => said.push(`error: ${e}`));
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    new Promise((r) => w.once('exit', r)),
    new Promise((r) => {
      timer = setTimeout(() => r('still running'), patience);
    }),
  ]);
  clearTimeout(timer);
  if (code === 'still running') await w.terminate();
  return { said, code };
}
