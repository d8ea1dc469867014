/**
 * Lesson 29: CPU-bound work on threads versus one after another.
 *
 * Python's threads cannot run Python code in parallel (the GIL): 8 threads counting to 10^8
 * take as long as counting 8 times in a row. weft's threads are Node workers, each with its
 * own engine: on a machine with several cores they really run at the same time. The threads
 * are started first and wait at a Barrier, so the timing measures the counting only; each
 * way runs a few rounds in turn and the best of each counts.
 */
import { availableParallelism } from 'node:os';
import { Barrier, Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

export function count(n: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) x = (x + (i % 7)) | 0;
  return x;
}

export const countInThread = task(
  import.meta,
  (up: Barrier, start: Barrier, done: Barrier, n: number, rounds: number) => {
    up.waitSync(); // this thread has started (the sequential rounds run while it waits)
    let x = 0;
    for (let r = 0; r < rounds; r++) {
      start.waitSync(); // the main thread starts the clock when every thread is here
      for (let i = 0; i < n; i++) x = (x + (i % 7)) | 0;
      done.waitSync(); // and stops it when every thread has counted
    }
    return x;
  },
);

const lesson = defineLesson({
  title: 'CPU-bound: counting tasks on threads versus sequentially',
  shows:
    'Counting is pure CPU work. Sequentially the times add up; on weft threads they overlap ' +
    "across the cores — the speed-up Python's threads cannot give.",
  module: 'threading',
  async main({ quick, log }) {
    const tasks = quick ? 4 : 8;
    // Large enough that the counting, not a time slice of the scheduler, is what the clock
    // measures; and the best of a few rounds, sequential and threaded in turn, so that a burst
    // of other work on the machine does not decide the comparison.
    const n = quick ? 25_000_000 : 100_000_000;
    const rounds = quick ? 3 : 1;
    const cores = availableParallelism();
    log(`${tasks} tasks, each counting to ${n.toLocaleString('en')}, on ${cores} cores.`);
    const up = new Barrier(tasks + 1);
    const start = new Barrier(tasks + 1);
    const done = new Barrier(tasks + 1);
    const threads = Array.from(
      { length: tasks },
      () => new Thread({ target: countInThread, args: [up, start, done, n, rounds] }),
    );
    for (const t of threads) t.start();
    await up.wait(); // a starting thread takes CPU: none may start while the sequential run counts
    count(1_000_000); // compile the loop first, as each thread does in its first round
    const seq = { ms: Number.POSITIVE_INFINITY, cores: 0 };
    const par = { ms: Number.POSITIVE_INFINITY, cores: 0 };
    /** Wall time of `body`, and the CPU time of the whole process (every thread) over it. */
    const measure = async (into: typeof seq, body: () => Promise<unknown> | void) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await body();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (ms < into.ms) Object.assign(into, { ms, cores: (cpu.user + cpu.system) / 1000 / ms });
    };
    for (let r = 0; r < rounds; r++) {
      await measure(seq, () => {
        for (let k = 0; k < tasks; k++) count(n);
      });
      await start.wait(); // every thread has started: the clock measures the counting only
      await measure(par, () => done.wait());
    }
    for (const t of threads) await t.join();
    const best = rounds > 1 ? `, best of ${rounds} rounds` : '';
    const line = (label: string, m: typeof seq) =>
      `${label.padEnd(14)} ${m.ms.toFixed(0).padStart(5)} ms${best}; ${m.cores.toFixed(1)} cores busy meanwhile`;
    log(line('Sequential:', seq));
    log(line(`On ${tasks} threads:`, par));
    const speedup = Number((seq.ms / par.ms).toFixed(1));
    const overlap = Number(par.cores.toFixed(1));
    log(`Speed-up: ${speedup.toFixed(1)}× on ${cores} cores.`);
    if (speedup >= 1.3 && overlap >= 1.3) {
      log('The threads counted at the same time, on different cores.');
    } else {
      log(`Little speed-up here: the threads had ${overlap.toFixed(1)} cores between them (other`);
      log('work on this machine, one core, shared hardware threads or a CPU quota). On free');
      log('cores they overlap.');
    }
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
