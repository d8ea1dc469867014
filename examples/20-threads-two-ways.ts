/**
 * Lesson 20: creating threads, both of Python's ways.
 *
 * `new Thread({ target, args })` runs a function in a new thread; a subclass of Thread overrides
 * `run()`. In weft each thread is a Node worker: it really runs in parallel (no GIL), and it has
 * its own copy of every module, so the function it runs is found by a mark —
 * `task(import.meta, fn)` — rather than shared memory.
 */
import { Queue } from 'weft/queue';
import { currentThread, Thread, task } from 'weft/threading';
import { defineLesson, runIfMain } from './lesson.js';

/** Target style: a marked function. Its arguments are copied; the queue arrives connected. */
export const greet = task(import.meta, (out: Queue<string>, who: string, times: number) => {
  for (let i = 1; i <= times; i++)
    out.putSync(`${currentThread().name} greets ${who} (${i}/${times})`);
});

/** Subclass style: run() is the thread's body; fields set before start() travel with it. */
export class Counter extends Thread {
  out: Queue<string> | null = null;
  upTo = 3;
  override run(): void {
    const steps: number[] = [];
    for (let i = 1; i <= this.upTo; i++) steps.push(i);
    this.out?.putSync(`${this.name} (a ${this.constructor.name}) counted ${steps.join(' ')}`);
  }
}
task(import.meta, Counter);

const lesson = defineLesson({
  title: 'Creating threads: a target function, or a Thread subclass with run()',
  shows:
    "Both of Python's styles start a real thread (a Node worker). The thread reports back " +
    'through a shared Queue, since threads share no variables.',
  module: 'threading',
  async main({ quick, log }) {
    const out = new Queue<string>();
    const a = new Thread({
      target: greet,
      args: [out, 'the world', quick ? 2 : 3],
      name: 'greeter',
    });
    const b = new Counter();
    b.out = out;
    b.upTo = quick ? 3 : 5;
    log(`Before start(): ${a.name} alive = ${a.isAlive()}, ident = ${a.ident}`);
    a.start();
    b.start();
    log(`After start(): ${a.name} alive = ${a.isAlive()}, ${b.name} alive = ${b.isAlive()}`);
    await a.join();
    await b.join();
    const lines: string[] = [];
    while (!out.empty()) lines.push(await out.get());
    for (const line of lines.sort()) log(`  ${line}`);
    log(
      `After join(): both alive = ${a.isAlive() || b.isAlive()}; this is ${currentThread().name}`,
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
