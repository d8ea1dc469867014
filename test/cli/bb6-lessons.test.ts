/**
 * What the lessons' bug bash left for the CLI: `weft run` interrupted during lesson 65 (spawned
 * as a user runs it) leaves none of the lesson's processes behind, and the lesson filters refuse
 * an empty name and take a lesson's file path. The bug bash's checks of what lessons 23, 28, 29,
 * 61 and 71 print (their verdicts must match their figures) are tests of test/examples/lessons.ts
 * (FACTS), on the run of each lesson that its group's test file makes anyway.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../../src/cli/command.js';
import { type LessonFile, selectLessons } from '../../src/cli/lesson-catalog.js';
import { alive } from '../support/pids.js';

const root = new URL('../../', import.meta.url).pathname;

/** The pids and command lines of the children of `pid`. */
function childrenOf(pid: number): { pid: number; args: string }[] {
  let ids: string[];
  try {
    ids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
  return ids.filter(Boolean).map((id) => {
    let args = '';
    try {
      args = readFileSync(`/proc/${id}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {}
    return { pid: Number(id), args };
  });
}

describe('weft run: an interrupted lesson leaves no process behind', () => {
  test("SIGINT during lesson 65 ends its intermediate parent and that parent's daemon", async () => {
    const weftProc = spawn(process.execPath, [join(root, 'bin', 'weft.js'), 'run', '65'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    weftProc.stdout.on('data', (d) => {
      out += d;
    });
    weftProc.stderr.on('data', (d) => {
      out += d;
    });
    const exited = new Promise((r) => weftProc.once('exit', r));
    const left: number[] = [];
    try {
      // The lesson's helper: a process running the lesson file with --as-parent, busy for ever
      // once it has started its daemon child (the lesson kills it itself about 1 s later).
      const deadline = Date.now() + 60_000;
      let helper: number | undefined;
      while (helper === undefined && Date.now() < deadline) {
        helper = childrenOf(weftProc.pid!).find((c) => c.args.includes('--as-parent'))?.pid;
        if (helper === undefined) await sleep(20);
      }
      assert.ok(helper !== undefined, `the lesson started its helper process:\n${out}`);
      left.push(helper);
      // Its daemon child, once there (the interrupt must come before the lesson's own kill).
      while (Date.now() < deadline && childrenOf(helper).length === 0 && alive(helper))
        await sleep(20);
      left.push(...childrenOf(helper).map((c) => c.pid));
      assert.doesNotMatch(out, /Parent killed/, 'interrupted before the lesson ended its helper');
      weftProc.kill('SIGINT');
      await exited;
      const gone = Date.now() + 10_000;
      while (left.some(alive) && Date.now() < gone) await sleep(50);
      assert.deepEqual(
        left.filter(alive),
        [],
        'the helper and its daemon child end with the interrupted lesson',
      );
    } finally {
      for (const pid of left) if (alive(pid)) process.kill(pid, 'SIGKILL');
      if (weftProc.exitCode === null && weftProc.signalCode === null) weftProc.kill('SIGKILL');
      await exited;
    }
  });
});

describe('lesson filters', () => {
  const files: LessonFile[] = [
    '01-generators-round-robin',
    '10-gevent-sleep',
    '11-gevent-pool',
  ].map((id) => ({ number: id.slice(0, 2), id, path: `/x/examples/${id}.ts` }));

  test('an empty or blank filter is an error, not "every lesson"', () => {
    for (const f of ['', '  ']) {
      assert.throws(
        () => selectLessons(files, [f]),
        (e: unknown) => e instanceof CliError && /empty lesson name/.test(e.message),
        JSON.stringify(f),
      );
    }
  });

  test('a lesson file path, as the shell completes it, names that lesson', () => {
    for (const f of [
      'examples/10-gevent-sleep.ts',
      './examples/10-gevent-sleep.ts',
      '10-gevent-sleep.ts',
    ]) {
      assert.deepEqual(
        selectLessons(files, [f]).map((l) => l.id),
        ['10-gevent-sleep'],
        f,
      );
    }
  });
});
