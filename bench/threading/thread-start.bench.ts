/**
 * weft/threading Thread start → join against Python's threading.Thread and Node's bare Worker.
 * A weft thread is a worker_threads Worker: a new V8 isolate with its own event loop, which then
 * imports weft's thread bootstrap and the target's module. Python starts an OS thread in the
 * same interpreter. The bare Worker row (an empty script) is what any thread costs on Node: the
 * part of weft's figure above it is weft's own. Measured in a plain `node` process on dist/
 * (thread-start.mjs), as a published program runs it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BenchSuite, runCaptured, timed } from '../harness.js';

const START = 'Thread start → join (a target that returns at once), one at a time';

const ROWS: Record<string, string> = {
  'weft.compiled-js.thread-start': 'weft Thread (compiled JavaScript)',
  'node.worker.bare-start': 'Node Worker, empty script (the floor)',
};

export const suite: BenchSuite = {
  name: 'threading-thread-start',
  title: 'weft/threading Thread start vs Python threading.Thread and a bare Node Worker',
  async run(h) {
    const starts = h.quick ? 10 : 40;
    if (!existsSync(fileURLToPath(new URL('../../dist/threading/index.js', import.meta.url)))) {
      h.note('skipped weft Thread start: dist/ is not built (npm run build)');
    } else {
      const script = fileURLToPath(new URL('./thread-start.mjs', import.meta.url));
      const out = await runCaptured(process.execPath, [script, String(starts)]);
      if (out.code !== 0) {
        h.note(`thread start failed (exit ${out.code}): ${out.stderr.trim().split('\n').pop()}`);
      }
      for (const line of out.stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const d = JSON.parse(line) as { name: string; n: number; seconds: number; unit: string };
        const impl = ROWS[d.name];
        if (impl === undefined) continue;
        h.record(timed(START, impl, d.n, d.seconds, d.unit, { name: `${impl}: ${START}` }));
      }
    }
    await h.python(
      fileURLToPath(new URL('./thread_start.py', import.meta.url)),
      [String(h.quick ? 500 : 2000)],
      () => START,
      'python threading',
    );
    h.note(
      'thread start: weft and the bare Worker alternate start by start in one plain node process on dist/; ' +
        "a weft thread is a V8 isolate of its own, Python's an OS thread in the same interpreter: for many short calls, " +
        'start threads once and hand them work (ThreadPoolExecutor, see the futures suite)',
    );
  },
};
