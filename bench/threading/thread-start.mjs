/**
 * Thread start → join with weft compiled to JavaScript (dist/), in a plain `node` process, as a
 * published program runs it (under the bench's tsx, a weft thread would load tsx before its
 * first line). `node bench/threading/thread-start.mjs STARTS` prints one JSON line per row:
 * weft's Thread, and Node's bare Worker (an empty script: what any thread costs on Node, the
 * floor under weft's). The two alternate start by start, so the machine's drift falls on both.
 */
import { Worker } from 'node:worker_threads';
import { Thread } from '../../dist/threading/index.js';
import { returnAtOnce } from './thread-start-target.mjs';

const starts = Number(process.argv[2] ?? 20);
let weft = 0;
let bare = 0;
for (let i = 0; i < starts; i++) {
  let t = performance.now();
  const th = new Thread({ target: returnAtOnce });
  th.start();
  await th.join();
  weft += (performance.now() - t) / 1000;
  t = performance.now();
  const w = new Worker('', { eval: true });
  const code = await new Promise((resolve) => w.once('exit', resolve));
  bare += (performance.now() - t) / 1000;
  if (code !== 0) throw new Error(`a bare Worker exited with code ${code}`);
}
const line = (name, seconds) =>
  process.stdout.write(`${JSON.stringify({ name, n: starts, seconds, unit: 'starts/s' })}\n`);
line('weft.compiled-js.thread-start', weft);
line('node.worker.bare-start', bare);
