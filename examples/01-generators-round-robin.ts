/**
 * Lesson 01: what a scheduler does, with nothing but generator functions.
 *
 * Before asyncio, Python coroutines were generators: a function that stops at each `yield` and
 * is resumed by whoever calls `next()`. A scheduler is just a loop that keeps a queue of them
 * and resumes each in turn. No weft here: this is the machinery every later lesson relies on.
 */
import { defineLesson, runIfMain } from './lesson.js';

/** A task for our toy scheduler: counts down, giving the turn away at every step. */
function* countdown(name: string, from: number): Generator<string, string> {
  for (let n = from; n > 0; n--) {
    yield `${name} says ${n}`;
  }
  return `${name} is done`;
}

/** Round robin: take the first generator, run it to its next `yield`, put it at the back. */
function roundRobin(tasks: Generator<string, string>[], log: (...parts: unknown[]) => void) {
  const ready = [...tasks];
  const turns: string[] = [];
  while (ready.length > 0) {
    const task = ready.shift()!;
    const step = task.next();
    if (step.done) {
      log(`  scheduler: ${step.value}; ${ready.length} task(s) left in the queue`);
    } else {
      turns.push(step.value);
      log(`  ${step.value}   (back of the queue)`);
      ready.push(task);
    }
  }
  return turns;
}

const lesson = defineLesson({
  title: 'Two generator functions taking turns under a hand-written scheduler',
  shows:
    'A generator stops at each yield and is resumed by next(). A round-robin loop over a queue ' +
    'of generators is already a scheduler: the two countdowns interleave, one step each.',
  module: 'generators',
  async main({ quick, log }) {
    const n = quick ? 3 : 5;
    log(`Two countdowns from ${n}, A and B. Each yield hands the turn back to the scheduler.`);
    const turns = roundRobin([countdown('A', n), countdown('B', n)], log);
    log(`The turns went: ${turns.map((t) => t.split(' ')[0]).join(' ')}`);
    log('Neither ran to the end before the other started: that is cooperative multitasking.');
    log(
      'asyncio does the same with an event loop, and resumes a task when what it awaits is ready.',
    );
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
