/**
 * A lesson's child processes do not outlive the command that ran it, whichever way it stops
 * early: the lesson fails, the command gets SIGINT or SIGTERM (`kill -INT <pid>` reaches it
 * alone, unlike Ctrl-C on a terminal, which signals the whole process group), or the reader of
 * its output goes away (`| head -1`).
 *
 * The lessons are written into a scratch examples/ directory: each starts a non-daemon Process
 * that would run for ever and waits until it runs. Spawned, the command is `main` of
 * src/cli/main.ts pointed at that directory (what bin/weft.js does with this package's).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CliContext } from '../../src/cli/command.js';
import { tour } from '../../src/cli/tour.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';
import { type ScratchWeft, scratchWeft } from '../support/scratch-weft.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

let scratch: ScratchWeft;
const pids: number[] = [];

/**
 * A lesson that starts a child running for ever, says `child <pid> running` once it runs, and
 * then `then` (a statement).
 */
function writeLesson(name: string, then: string): void {
  scratch.lesson(
    name,
    `import { Event, forever, Process } from ${JSON.stringify(join(root, 'test/cli/fixtures/forever.ts'))};
export default {
  title: 'lesson ${name}',
  shows: 'a child process that would run for ever',
  module: 'test',
  async main({ log }: { log: (...p: unknown[]) => void }) {
    const running = new Event();
    const p = new Process({ target: forever, args: [running], name: 'endless' });
    p.start();
    await running.wait();
    log(\`child \${p.pid} running\`);
    ${then}
  },
};
`,
  );
}

before(() => {
  scratch = scratchWeft('weft-stopping-');
  writeLesson('01-fails', "throw new Error('lesson 01 broke');");
  writeLesson('02-ticks', 'for (;;) { await new Promise((r) => setTimeout(r, 50)); log("tick"); }');
  scratch.lesson(
    '03-last',
    `export default { title: 'lesson 03', shows: 'what comes after a failed lesson', module: 'test',
       async main({ log }: { log: (...p: unknown[]) => void }) { log('last ran'); } };\n`,
  );
  // Errors that escape the lesson's promise: a rejection nobody awaits, a throw in a timer.
  for (const [name, escaping] of [
    ['04-rejects', "void Promise.reject(new Error('nobody awaited me'));"],
    ['05-throws', "setTimeout(() => { throw new Error('thrown in a timer'); }, 10);"],
  ] as const) {
    scratch.lesson(
      name,
      `export default { title: 'lesson ${name}', shows: 'an error that escapes the lesson', module: 'test',
         async main({ log }: { log: (...p: unknown[]) => void }) {
           log('before');
           ${escaping}
           await new Promise((r) => setTimeout(r, 200));
           log('after: not under the heading of a lesson that failed');
         } };\n`,
    );
  }
});

after(() => {
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  scratch.remove();
});

/** `weft …args` on the scratch lessons. */
function weft(...args: string[]): ChildProcess {
  return scratch.weft(...args);
}

/** `weft run 2` on the scratch lessons, until its child runs. */
async function startTicking(): Promise<{
  weft: ChildProcess;
  child: number;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  output: () => string;
}> {
  const proc = weft('run', '2');
  let out = '';
  proc.stdout!.on('data', (d) => {
    out += d;
  });
  proc.stderr!.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    proc.once('exit', (code, signal) => r([code, signal])),
  );
  const deadline = Date.now() + 60_000;
  let m: RegExpMatchArray | null = null;
  while (!(m = out.match(/child (\d+) running/)) && Date.now() < deadline) {
    if (proc.exitCode !== null) break;
    await sleep(20);
  }
  assert.ok(m, `the lesson started its child:\n${out}`);
  const child = Number(m[1]);
  pids.push(child);
  return { weft: proc, child, exited, output: () => out };
}

describe('a lesson stopped early leaves no child process behind', () => {
  test('a lesson that fails: the tour ends the process it started, says so, and goes on', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const context: CliContext = {
      root: scratch.dir,
      typescript: true,
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    };
    // Regression: the child ran on after the failure, through the rest of the tour and after it.
    assert.equal(await tour(['1', '3'], false, context), false);
    const child = Number(out.join('').match(/child (\d+) running/)?.[1]);
    assert.ok(child > 0, out.join(''));
    pids.push(child);
    assert.equal(alive(child), false, 'the child of the failed lesson has ended');
    assert.match(out.join(''), /last ran/);
    assert.match(out.join(''), /1 of 2 lessons ran .*; failed: 01-fails/);
    assert.match(err.join(''), /01-fails failed: Error: lesson 01 broke/);
    assert.match(err.join(''), /\(ended the child process the lesson had started\)/);
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} to weft alone: the child ends before weft does, which dies by ${signal}`, async () => {
      // Regression: weft died at once and its child ran on for ever (its parent gone).
      const { weft, child, exited, output } = await startTicking();
      weft.kill(signal);
      const [code, by] = await exited;
      assert.equal(alive(child), false, `the child has ended:\n${output()}`);
      assert.deepEqual([code, by], [null, signal], output());
      assert.match(
        output(),
        new RegExp(
          `weft: stopped by ${signal}; ended the child process the lesson had started\\n$`,
        ),
      );
    });
  }

  test('the reader of its output gone: weft ends quietly, and the child with it', async () => {
    // Regression: the closed pipe ended weft with process.exit(), and the child ran on.
    const { weft, child, exited, output } = await startTicking();
    let stderr = '';
    weft.stderr!.on('data', (d) => {
      stderr += d;
    });
    weft.stdout!.destroy(); // the next tick's line meets a pipe with no reader
    const [code, by] = await exited;
    assert.equal(alive(child), false, `the child has ended:\n${output()}`);
    assert.deepEqual([code, by], [0, null]);
    assert.equal(stderr, '');
  });
});

describe('an error that escapes a lesson fails that lesson, not the tour', () => {
  test('a rejection nobody awaited and a throw in a timer: reported, and the tour goes on', async () => {
    // Regression: either ended the whole command with a stack trace, the lessons after unrun.
    const proc = weft('tour', '4', '5', '3');
    let stdout = '';
    let stderr = '';
    proc.stdout!.on('data', (d) => {
      stdout += d;
    });
    proc.stderr!.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
    assert.equal(code, 1, stderr);
    assert.match(
      stderr,
      /04-rejects failed: Error: nobody awaited me\n[\s\S]*\(a rejected promise nobody awaited\)/,
    );
    assert.match(
      stderr,
      /05-throws failed: Error: thrown in a timer\n[\s\S]*\(thrown outside the lesson's promise, in a callback\)/,
    );
    assert.match(stdout, /last ran/);
    assert.match(stdout, /1 of 3 lessons ran .*; failed: 04-rejects, 05-throws/);
    // What a failed lesson says afterwards does not land under the next lesson's heading.
    assert.doesNotMatch(stdout, /not under the heading/);
  });
});
