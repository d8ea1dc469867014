/**
 * Lesson 52: asyncio subprocesses — programs run side by side, their output read as it comes,
 * their input fed, and one that takes too long stopped.
 *
 * Python's `asyncio.create_subprocess_exec`/`_shell` start a program and hand back a `Process`
 * at once: the event loop goes on while the child runs. Its pipes are asyncio streams (a
 * `StreamReader` for stdout, a `StreamWriter` for stdin), `communicate()` feeds the input and
 * collects the output, `wait()` waits for the exit, and a timeout plus `kill()` stops a child.
 */
import {
  createSubprocessExec,
  createSubprocessShell,
  FileNotFoundError,
  gather,
  PIPE,
  run,
  TimeoutError,
} from 'weft/asyncio';
import { defineLesson, runIfMain } from './lesson.js';

const lesson = defineLesson({
  title: 'asyncio subprocesses: run, stream, feed and stop child programs',
  shows:
    'createSubprocessShell/Exec start programs without blocking the loop: three run side by ' +
    'side under gather(), one is read line by line while it runs, sort is fed through ' +
    'communicate(input), and a child that overruns wait({ timeout }) is killed (returncode -9).',
  module: 'asyncio',
  async main({ quick, log }) {
    const unit = quick ? 100 : 500; // ms
    const secs = (ms: number): string => (ms / 1000).toFixed(1);
    await run(async () => {
      log('1. Three jobs at once: each a shell that sleeps, then says it is done.');
      const jobs = await Promise.all(
        [3, 1, 2].map((n) =>
          createSubprocessShell(
            `sleep ${secs(n * unit)}; echo "job ${n} slept ${secs(n * unit)} s"`,
            {
              stdout: PIPE,
            },
          ),
        ),
      );
      const t0 = performance.now();
      const outputs = await gather(...jobs.map((p) => p.communicate()));
      const ms = Math.round(performance.now() - t0);
      for (const [out] of outputs) log(`   ${out?.toString().trim()}`);
      log(
        `   started together, all three were done ${ms} ms later; one after another their ` +
          `sleeps alone would take ${6 * unit} ms. gather() kept the order they were given in.`,
      );

      log('2. Reading a child while it runs: async iteration over process.stdout.');
      const ticker = await createSubprocessShell(
        `for i in 1 2 3; do echo "tick $i"; sleep ${secs(unit)}; done`,
        { stdout: PIPE },
      );
      let first = true;
      for await (const line of ticker.stdout ?? []) {
        log(`   got "${line.toString().trim()}"; returncode ${ticker.returncode}`);
        if (first) log('   (null: the child still runs while its first line is read)');
        first = false;
      }
      log(`   end of its stdout; wait() gives ${await ticker.wait()}`);

      log('3. Feeding a child: communicate(input) writes stdin, closes it, reads stdout.');
      const sort = await createSubprocessExec('sort', { stdin: PIPE, stdout: PIPE });
      const [sorted] = await sort.communicate('pear\napple\nfig\n');
      log(`   sort answered: ${sorted?.toString().trim().split('\n').join(' ')}`);

      log('4. A child that takes too long: wait({ timeout }), then kill().');
      const slow = await createSubprocessExec('sleep', '60');
      try {
        await slow.wait({ timeout: 2 * unit });
      } catch (e) {
        if (!(e instanceof TimeoutError)) throw e;
        log(`   still running after ${2 * unit} ms (returncode ${slow.returncode}): killing it`);
        slow.kill();
      }
      log(`   returncode ${await slow.wait()}: minus the signal that ended it, as Python says`);

      log('5. A program that does not exist:');
      try {
        await createSubprocessExec('no-such-program-here');
      } catch (e) {
        if (!(e instanceof FileNotFoundError)) throw e;
        log(`   ${e.name} (${e.errnoName}): ${e.message}`);
      }
    });
  },
});
export default lesson;

await runIfMain(import.meta, lesson);
