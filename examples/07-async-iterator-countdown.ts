/**
 * Lesson 07: `async for` — an async iterator that counts down, sleeping between numbers.
 */
import { run, sleep } from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

/** Python's `__aiter__`/`__anext__` are `Symbol.asyncIterator` and `next()` in TypeScript. */
class Countdown implements AsyncIterable<number> {
  constructor(
    private readonly from: number,
    private readonly pauseMs: number,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<number> {
    let n = this.from;
    const pause = this.pauseMs;
    return {
      async next(): Promise<IteratorResult<number>> {
        if (n <= 0) return { done: true, value: undefined };
        await sleep(pause);
        return { done: false, value: n-- };
      },
    };
  }
}

/** The same with an async generator: the short way to write an async iterator. */
async function* countdown(from: number, pauseMs: number): AsyncGenerator<number> {
  for (let n = from; n > 0; n--) {
    await sleep(pauseMs);
    yield n;
  }
}

const lesson = defineLesson({
  title: 'for await over an async iterator counting down with sleeps',
  shows:
    "Python's async for is for await: each step awaits the iterator's next(), which may sleep " +
    'before handing over the next number. A class with Symbol.asyncIterator and an async ' +
    'generator do the same.',
  module: 'asyncio',
  async main({ quick, log }) {
    const pause = quick ? 15 : 500;
    await run(async () => {
      const seen: number[] = [];
      log(`A Countdown class from 5, pausing ${pause} ms before each number:`);
      for await (const n of new Countdown(5, pause)) {
        log(`  ${n}…`);
        seen.push(n);
      }
      log(`Counted: ${seen.join(' ')} — liftoff!`);
      const gen: number[] = [];
      for await (const n of countdown(3, pause)) gen.push(n);
      log(`An async generator from 3: ${gen.join(' ')}`);
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
