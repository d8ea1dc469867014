/**
 * Lesson 62: data isolation. A child that changes a module variable changes its own copy: the
 * parent's stays as it was. Processes share nothing unless given a shared object.
 */
import { Process, Queue, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const state = { counter: 0 };

export const change = task(import.meta, async (out: Queue<number>) => {
  state.counter += 100;
  await out.put(state.counter);
});

const lesson = defineLesson({
  title: 'Data isolation: a child changing a global does not change the parent',
  shows: "Each process has its own memory: the child's change stays in the child.",
  module: 'multiprocessing',
  async main({ log }) {
    const out = new Queue<number>();
    const p = new Process({ target: change, args: [out] });
    p.start();
    log(`The child sees counter = ${await out.get()}`);
    await p.join();
    log(`The parent still sees counter = ${state.counter}`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
