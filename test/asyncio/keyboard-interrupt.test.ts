/**
 * Ctrl-C (SIGINT) during `run()` and `Runner.run()`, as CPython 3.11's Runner handles it: the
 * first SIGINT cancels the main task, and the call raises `KeyboardInterrupt` once it has ended
 * cancelled; a second one raises it at once; an uncaught one ends the process by SIGINT. Each
 * case was run in Python too (the same program with asyncio.run / asyncio.Runner): the output
 * and the exit status asserted here are Python's, except where a test says otherwise.
 *
 * The signal tests run a program in a child process and send it SIGINT when it prints a given
 * line, so no test depends on timing.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  CancelledError,
  currentTask,
  getRunningLoop,
  KeyboardInterrupt,
  Runner,
  RuntimeError,
  run,
  sleep,
  WeftError,
} from '../../src/asyncio/index.js';
import { checkLeaks } from '../support/leaks.js';
import { TS_IMPORT, TS_WORKER_LOADER } from '../support/ts.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;

interface Ended {
  status: number | null;
  signal: NodeJS.Signals | null;
  lines: string[];
  stderr: string;
}

/** What the programs below share: weft's asyncio, and `log`, one line of stdout. */
const PRELUDE = `
import { CancelledError, createTask, currentTask, Event, KeyboardInterrupt, Runner, run, sleep, WeftError }
  from './src/asyncio/index.ts';
const log = (s) => console.log(s);
`;

/**
 * Runs `body` (an ES module, from the repository root) in a child process and sends it one
 * SIGINT each time it prints the next line of `triggers`. Killed after a minute: a hang fails.
 */
function interrupted(body: string, triggers: string[]): Promise<Ended> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', TS_IMPORT, '--input-type=module', '-e', PRELUDE + body],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let next = 0;
    child.stdout.on('data', (d) => {
      stdout += d;
      const lines = stdout.split('\n');
      while (next < triggers.length && lines.includes(triggers[next] as string)) {
        next++;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, lines: stdout.split('\n').filter((l) => l !== ''), stderr });
    });
  });
}

/** A main task and a task it leaves, each saying when its `finally` runs. */
const MAIN = `
async function main() {
  createTask(async () => {
    try { await sleep(600_000); } finally { log('left task finally'); }
  });
  try {
    log('ready');
    await sleep(600_000);
  } finally {
    log('main finally');
  }
}
`;

describe('run() and Ctrl-C (SIGINT)', () => {
  test('one SIGINT cancels the main task; its finally and the tasks left run; run() rejects with KeyboardInterrupt', async () => {
    const r = await interrupted(
      `${MAIN}
try {
  await run(main);
  log('returned');
} catch (e) {
  log(\`\${e.name} KeyboardInterrupt=\${e instanceof KeyboardInterrupt} WeftError=\${e instanceof WeftError} CancelledError=\${e instanceof CancelledError} cause=\${e.cause instanceof CancelledError}\`);
}
log(\`listeners \${process.listenerCount('SIGINT')}\`);
`,
      ['ready'],
    );
    assert.deepEqual(r.lines, [
      'ready',
      'main finally',
      'left task finally',
      'KeyboardInterrupt KeyboardInterrupt=true WeftError=false CancelledError=false cause=true',
      'listeners 0',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });

  test('an uncaught KeyboardInterrupt ends the process by SIGINT, after the exit listeners and printed', async () => {
    // Python: the traceback ends in "KeyboardInterrupt", and the process kills itself with
    // SIGINT (a shell sees 130).
    const r = await interrupted(
      `${MAIN}
process.on('exit', () => log('exit listener'));
await run(main);
log('not reached');
`,
      ['ready'],
    );
    assert.deepEqual(r.lines, ['ready', 'main finally', 'left task finally', 'exit listener']);
    assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /KeyboardInterrupt: interrupted by SIGINT \(Ctrl-C\)/);
    assert.match(r.stderr, /\[cause\]: CancelledError/);
  });

  test('a main task that catches the cancel and returns: run() resolves to its value', async () => {
    const r = await interrupted(
      `
const value = await run(async () => {
  try {
    log('ready');
    await sleep(600_000);
  } catch (e) {
    log(\`main caught \${e.name}\`);
    return 42;
  }
});
log(\`result \${value}\`);
`,
      ['ready'],
    );
    assert.deepEqual(r.lines, ['ready', 'main caught CancelledError', 'result 42']);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a main task cancelled by its own code too ends run() with CancelledError, not KeyboardInterrupt', async () => {
    // CPython's test: uncancel() leaves 1 (the task's own request), so the CancelledError stands.
    const r = await interrupted(
      `
try {
  await run(async () => {
    try {
      log('ready');
      await sleep(600_000);
    } catch {
      currentTask().cancel();
      await sleep(600_000);
    }
  });
} catch (e) {
  log(\`rejected \${e.name}\`);
}
`,
      ['ready'],
    );
    assert.deepEqual(r.lines, ['ready', 'rejected CancelledError']);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a second SIGINT ends run() at once: the tasks are cancelled again, and the process dies by SIGINT', async () => {
    // Python: KeyboardInterrupt out of run_until_complete; asyncio.run's close cancels the main
    // task again (its finally runs) and the task left; the traceback, then death by SIGINT.
    const r = await interrupted(
      `
async function main() {
  createTask(async () => {
    try { await sleep(600_000); } finally { log('left task finally'); }
  });
  try {
    log('ready');
    await sleep(600_000);
  } catch {
    log('main cancelled');
    await sleep(600_000);
  } finally {
    log('main finally');
  }
}
await run(main);
log('not reached');
`,
      ['ready', 'main cancelled'],
    );
    assert.deepEqual(r.lines, ['ready', 'main cancelled', 'main finally', 'left task finally']);
    assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /KeyboardInterrupt/);
  });

  test('a SIGINT while run() cancels the tasks left has Node default action: the process dies at once', async () => {
    // Python: the default handler is back during close, and raises KeyboardInterrupt there
    // (printed); weft's Node default prints nothing.
    const r = await interrupted(
      `
async function main() {
  createTask(async () => {
    try { await sleep(600_000); } catch { log('left task holds on'); await sleep(600_000); }
    finally { log('left task finally'); }
  });
  try {
    log('ready');
    await sleep(600_000);
  } catch {
    log('main cancelled');
    await sleep(600_000);
  }
}
await run(main);
`,
      ['ready', 'main cancelled', 'left task holds on'],
    );
    assert.deepEqual(r.lines, ['ready', 'main cancelled', 'left task holds on']);
    assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /KeyboardInterrupt/);
  });

  test('Runner.run(): KeyboardInterrupt, the tasks left cancelled by close() after', async () => {
    const r = await interrupted(
      `${MAIN}
const runner = new Runner();
try {
  try {
    await runner.run(main);
  } catch (e) {
    log(\`caught \${e.name}\`);
  }
  log(\`after run, listeners \${process.listenerCount('SIGINT')}\`);
} finally {
  await runner.close();
}
log('closed');
`,
      ['ready'],
    );
    assert.deepEqual(r.lines, [
      'ready',
      'main finally',
      'caught KeyboardInterrupt',
      'after run, listeners 0',
      'left task finally',
      'closed',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });

  test("a program's own SIGINT listener is left alone: run() adds none while it is there", async () => {
    // Python: a handler the program set (signal.signal) is not replaced, and the Runner sets
    // none; the main task is not cancelled.
    const r = await interrupted(
      `
// A real program would have a server open: an unref'd signal listener alone does not keep Node's
// loop alive, and the wait would be reported as a deadlock.
const keep = setInterval(() => {}, 60_000);
let wake = () => {};
const own = () => { log('own listener'); wake(); };
process.on('SIGINT', own);
const first = await run(async () => {
  const woken = new Event();
  wake = () => woken.set();
  log(\`ready \${process.listenerCount('SIGINT')}\`);
  await woken.wait();
  return 'main not cancelled';
});
log(first);
process.off('SIGINT', own);
clearInterval(keep);
await run(async () => log(\`alone: listeners \${process.listenerCount('SIGINT')}\`));
`,
      ['ready 1'],
    );
    assert.deepEqual(r.lines, [
      'ready 1',
      'own listener',
      'main not cancelled',
      'alone: listeners 1',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a listener the program adds while run() runs takes SIGINT over', async () => {
    // Python: a handler set inside the main task (loop.add_signal_handler, signal.signal)
    // replaces the Runner's.
    const r = await interrupted(
      `
const keep = setInterval(() => {}, 60_000);
const value = await run(async () => {
  const before = process.listenerCount('SIGINT');
  const stop = new Event();
  process.once('SIGINT', () => { log('program listener'); stop.set(); });
  log(\`ready \${before}\`);
  await stop.wait();
  return 'stopped gracefully';
});
clearInterval(keep);
log(value);
log(\`listeners \${process.listenerCount('SIGINT')}\`);
`,
      ['ready 1'],
    );
    assert.deepEqual(r.lines, ['ready 1', 'program listener', 'stopped gracefully', 'listeners 0']);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a once listener the program puts first while run() runs takes that SIGINT over, and the next is run()’s', async () => {
    // Python: a handler set with signal.signal inside the main task that puts the previous one
    // (the Runner's) back when it runs: the first SIGINT is the program's, the second cancels
    // the main task (['ready', 'program listener', 'main goes on', 'again', 'main finally',
    // 'KeyboardInterrupt'], status 0). Node's once wrapper has removed itself before run()'s
    // listener runs for the same signal, which took it for its own too.
    const r = await interrupted(
      `
const keep = setInterval(() => {}, 60_000);
const removals = process.listenerCount('removeListener');
try {
  await run(async () => {
    const stop = new Event();
    process.prependOnceListener('SIGINT', () => { log('program listener'); stop.set(); });
    log('ready');
    await stop.wait();
    log('main goes on');
    try {
      log('again');
      await sleep(600_000);
    } finally {
      log('main finally');
    }
  });
} catch (e) {
  log(e.name);
}
clearInterval(keep);
log(\`listeners \${process.listenerCount('SIGINT')} \${process.listenerCount('removeListener') - removals}\`);
`,
      ['ready', 'again'],
    );
    assert.deepEqual(r.lines, [
      'ready',
      'program listener',
      'main goes on',
      'again',
      'main finally',
      'KeyboardInterrupt',
      'listeners 0 0',
    ]);
    assert.equal(r.status, 0, r.stderr);
  });

  test('a run() whose main task deadlocks removes its listener', async () => {
    const r = await interrupted(
      `
try {
  await run(async () => {
    log(\`inside \${process.listenerCount('SIGINT')}\`);
    await new Event().wait();
  });
} catch (e) {
  log(e.name);
}
log(\`after \${process.listenerCount('SIGINT')}\`);
`,
      [],
    );
    assert.deepEqual(r.lines, ['inside 1', 'DeadlockError', 'after 0']);
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('the SIGINT listener of run() and Runner.run()', () => {
  const count = (): number => process.listenerCount('SIGINT');

  test('is there while the main task runs and gone however the call ends', async () => {
    assert.equal(count(), 0, 'the test process listens for SIGINT itself');
    assert.equal(await run(async () => count()), 1);
    assert.equal(count(), 0);

    let inside = -1;
    await assert.rejects(
      run(async () => {
        inside = count();
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual([inside, count()], [1, 0]);

    await assert.rejects(
      run(async () => {
        inside = count();
        currentTask()?.cancel();
        await sleep(0);
      }),
      (e) => e instanceof CancelledError,
    );
    assert.deepEqual([inside, count()], [1, 0]);

    inside = -1;
    await assert.rejects(
      run(async () => {
        inside = count();
        getRunningLoop().stop();
        await sleep(10);
      }),
      (e) => e instanceof RuntimeError,
    );
    assert.deepEqual([inside, count()], [1, 0]);

    const runner = new Runner();
    try {
      assert.equal(await runner.run(async () => count()), 1);
      assert.equal(count(), 0);
      await assert.rejects(
        runner.run(async () => {
          inside = count();
          throw new Error('again');
        }),
        /again/,
      );
      assert.deepEqual([inside, count()], [1, 0]);
    } finally {
      await runner.close();
    }
    assert.equal(count(), 0);
  });

  test('is not added by a run() in a worker thread (signals reach the main thread only)', async () => {
    const asyncio = new URL('../../src/asyncio/index.ts', import.meta.url).href;
    const seen = await run(async () => {
      const main = count();
      // Node 20 applies no --import loader to a worker's code: it registers one, then imports.
      const w = new Worker(
        `const { parentPort } = require('node:worker_threads');
import(${JSON.stringify(TS_WORKER_LOADER)})
  .then((t) => { t.register?.(); return import(${JSON.stringify(asyncio)}); })
  .then((m) => m.run(async () => process.listenerCount('SIGINT')))
  .then((n) => parentPort.postMessage(n));`,
        { eval: true },
      );
      const exited = new Promise((resolve) => w.once('exit', resolve));
      const worker = await new Promise<number>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      await exited;
      return { main, worker, mainAfter: count() };
    });
    assert.deepEqual(seen, { main: 1, worker: 0, mainAfter: 1 });
  });
});

describe('KeyboardInterrupt', () => {
  test('is an Error with a name and code, but neither a WeftError nor a CancelledError', () => {
    const e = new KeyboardInterrupt();
    assert.ok(e instanceof Error);
    assert.ok(e instanceof KeyboardInterrupt);
    assert.equal(e instanceof WeftError, false);
    assert.equal(e instanceof CancelledError, false);
    assert.equal(e.name, 'KeyboardInterrupt');
    assert.equal(e.code, 'ERR_WEFT_KEYBOARD_INTERRUPT');
    assert.equal(new Error('other') instanceof KeyboardInterrupt, false);
    assert.equal(new CancelledError() instanceof KeyboardInterrupt, false);
  });

  test('uncaught, it ends the process by SIGINT even while the program listens for SIGINT', async () => {
    // Python's interpreter puts SIGINT's default action back before it kills itself, whatever
    // handler the program set: the status is 130 in a shell either way.
    const r = await interrupted(
      `
process.on('SIGINT', () => log('own listener'));
process.on('exit', () => log('exit listener'));
throw new KeyboardInterrupt();
`,
      [],
    );
    assert.deepEqual(r.lines, ['exit listener']);
    assert.equal(r.signal, 'SIGINT', `status ${r.status}: ${r.stderr}`);
    assert.match(r.stderr, /KeyboardInterrupt: interrupted by SIGINT/);
  });

  test('one taken by an uncaught-exception capture callback (domains, the REPL) does not end the process later', async () => {
    // The capture callback handles the error and the program goes on: its normal exit must not
    // turn into a death by SIGINT.
    const r = await interrupted(
      `
process.setUncaughtExceptionCaptureCallback((e) => log(\`captured \${e.name}\`));
setTimeout(() => { throw new KeyboardInterrupt(); }, 0);
setTimeout(() => log('went on'), 50);
`,
      [],
    );
    assert.deepEqual(r.lines, ['captured KeyboardInterrupt', 'went on']);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.status, 0, r.stderr);
  });
});
