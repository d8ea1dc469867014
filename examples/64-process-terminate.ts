/**
 * Lesson 64: terminate. `terminate()` sends SIGTERM; once the child is gone `isAlive()` is false
 * and `exitcode` is −15 (minus the signal number, as in Python).
 */
import { Process, task } from 'weft/multiprocessing';
import { defineLesson, runIfMain } from './lesson.js';

export const forever = task(import.meta, () => new Promise(() => setInterval(() => {}, 1000)));

const lesson = defineLesson({
  title: 'terminate() then isAlive()',
  shows: 'A process that would run for ever is ended with SIGTERM; its exit code says so.',
  module: 'multiprocessing',
  async main({ log }) {
    const p = new Process({ target: forever, name: 'endless' });
    p.start();
    await p.join({ timeout: 200 });
    log(`Before terminate(): alive = ${p.isAlive()}, exitcode = ${p.exitcode}`);
    p.terminate();
    log(`Right after terminate(): alive = ${p.isAlive()} (the signal is on its way)`);
    await p.join();
    log(`After join(): alive = ${p.isAlive()}, exitcode = ${p.exitcode}`);
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
