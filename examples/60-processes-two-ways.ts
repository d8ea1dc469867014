/**
 * Lesson 60: creating processes, both of Python's ways.
 *
 * `new Process({ target, args })` runs a function in a child process; a subclass of Process
 * overrides `run()`. Each child is a separate Node process with its own heap, so the function it
 * runs is found by a mark — `task(import.meta, fn)` — and it reports back through a Queue.
 */
import { currentProcess, Process, Queue, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const greet = task(import.meta, async (out: Queue<string>, who: string) => {
  await out.put(`${currentProcess().name} (pid ${process.pid}) greets ${who}`);
});

export class Squarer extends Process {
  out: Queue<string> | null = null;
  n = 7;
  override async run(): Promise<void> {
    await this.out?.put(
      `${this.name} (a ${this.constructor.name}) says ${this.n}² = ${this.n * this.n}`,
    );
  }
}
task(import.meta, Squarer);

const lesson = defineLesson({
  title: 'Creating processes: a target function, or a Process subclass with run()',
  shows:
    "Both of Python's styles start a real child process; each reports back through a shared Queue.",
  module: 'multiprocessing',
  async main({ log }) {
    const out = new Queue<string>();
    const a = new Process({ target: greet, args: [out, 'the world'], name: 'greeter' });
    const b = new Squarer();
    b.out = out;
    log(`Before start(): ${a.name} pid = ${a.pid}, alive = ${a.isAlive()}`);
    a.start();
    b.start();
    log(`After start(): ${a.name} pid = ${a.pid}, ${b.name} pid = ${b.pid}`);
    const lines = [await out.get(), await out.get()].sort();
    for (const line of lines) log(`  ${line}`);
    await a.join();
    await b.join();
    log(
      `After join(): exit codes ${a.exitcode} and ${b.exitcode}; this is ${currentProcess().name}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
