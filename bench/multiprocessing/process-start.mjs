/**
 * Process start → first message with weft compiled to JavaScript (dist/), as a published program
 * runs it: `node bench/multiprocessing/process-start.mjs STARTS` prints one JSON line
 * {name, n, seconds, unit}. Run with plain `node`, no TypeScript loader, so neither this process
 * nor its children load tsx (under tsx, `weft/*` resolves to the TypeScript sources and every
 * child must load tsx and esbuild before its first line: most of a start).
 */
import { Process, SimpleQueue } from '../../dist/multiprocessing/index.js';
import { helloJs } from './start-target.mjs';

const starts = Number(process.argv[2] ?? 10);
let seconds = 0;
for (let i = 0; i < starts; i++) {
  const q = new SimpleQueue();
  const t = performance.now();
  const p = new Process({ target: helloJs, args: [q] });
  p.start();
  const pid = await q.get();
  seconds += (performance.now() - t) / 1000;
  await p.join();
  if (pid !== p.pid) throw new Error(`the first message came from ${pid}, not the child ${p.pid}`);
}
process.stdout.write(
  `${JSON.stringify({ name: 'weft.compiled-js.process-start', n: starts, seconds, unit: 'starts/s' })}\n`,
);
