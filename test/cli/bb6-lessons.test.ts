/**
 * The lessons as `weft tour` shows them (quick mode, spawned as a user runs it): what a lesson
 * concludes must agree with the figures it prints, whatever the machine's load, and a lesson
 * about two consumers must show two consumers at work. No assertion is about speed: where a
 * lesson prints times, the test checks that its verdict is the one those times call for.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from '../../src/cli/command.js';
import { type LessonFile, selectLessons } from '../../src/cli/lesson-catalog.js';
import { alive } from '../support/pids.js';
import { weftRunner } from '../support/weft-cli.js';

const root = new URL('../../', import.meta.url).pathname;

/** `weft …` as a user runs it; every command here ends within 110 s. */
const weft = weftRunner(110_000);

/** The narration of one lesson in a tour's output: its `│` lines, without the prefix. */
function narration(stdout: string, number: string): string {
  const start = stdout.indexOf(`━━ ${number} · `);
  assert.ok(start >= 0, `lesson ${number} ran`);
  const end = stdout.indexOf('\n━━ ', start + 1);
  return stdout
    .slice(start, end < 0 ? undefined : end)
    .split('\n')
    .filter((l) => l.startsWith('   │ '))
    .map((l) => l.slice(5))
    .join('\n');
}

describe('weft tour: lessons whose verdict must match their figures', () => {
  let out = '';
  before(async () => {
    const r = await weft('tour', '23', '28', '29', '61', '71');
    assert.equal(r.code, 0, r.stderr);
    out = r.stdout;
  });

  test('23 daemon threads: how long each program lived past its main code, measured inside it', () => {
    const text = narration(out, '23');
    const [daemon, worker] = text.split('Program with a non-daemon thread:');
    assert.ok(daemon && worker, text);
    assert.doesNotMatch(daemon, /heartbeat/);
    assert.equal(worker.match(/heartbeat \d/g)?.length, 3, text);
    const exits = (part: string) => Number(part.match(/the process exits (\d+) ms after/)?.[1]);
    const beat = Number(text.match(/three beats of (\d+) ms/)?.[1]);
    assert.ok(beat > 0, text);
    // Three timers of `beat` ms one after another: never less, whatever the machine's load
    // (a difference of two programs' whole run times, start-up included, could be anything).
    assert.ok(exits(worker) >= 3 * beat, text);
    assert.ok(exits(daemon) >= 0, text);
    assert.match(
      text,
      new RegExp(`daemon program ended ${exits(daemon)} ms after .* one ${exits(worker)} ms after`),
    );
  });

  test('28 producer/consumer: both consumer threads take jobs, and all jobs are counted', () => {
    const text = narration(out, '28');
    const m = text.match(/consumer-A did (\d+) jobs, consumer-B did (\d+); total (\d+)\./);
    assert.ok(m, text);
    const [a, b, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(a + b, total);
    assert.match(text, new RegExp(`all ${total} jobs are done`));
    // The consumers are up before the first job: neither is left out (one did all 8 before).
    assert.ok(a > 0 && b > 0, `consumer-A did ${a}, consumer-B did ${b}`);
  });

  test('29 CPU on threads: "the threads counted at the same time" only when the figures say so', () => {
    const text = narration(out, '29');
    const speedup = Number(text.match(/Speed-up: ([\d.]+)× on (\d+) cores\./)?.[1]);
    const seq = text.match(/Sequential: +(\d+) ms.*; ([\d.]+) cores busy meanwhile/);
    const par = text.match(/On \d+ threads: +(\d+) ms.*; ([\d.]+) cores busy meanwhile/);
    assert.ok(seq && par && speedup > 0, text);
    // The printed speed-up is the ratio of the printed times.
    assert.ok(Math.abs(Number(seq[1]) / Number(par[1]) - speedup) < 0.15, text);
    const overlap = Number(par[2]);
    if (/The threads counted at the same time/.test(text)) {
      assert.ok(speedup >= 1.3 && overlap >= 1.3, text);
    } else {
      assert.match(text, /Little speed-up here: the threads had [\d.]+ cores between them/);
      assert.ok(speedup < 1.3 || overlap < 1.3, text);
    }
    // It never promises a bound its own figures break ("at most the number of cores").
    assert.doesNotMatch(text, /at most the number of cores/);
  });

  test('61 process join: the clock starts when the children are up, the verdict fits the times', () => {
    const text = narration(out, '61');
    assert.match(text, /All three started \(in [\d.]+ s\); now they sleep\./);
    const joined = [
      ...text.matchAll(/joined sleeper-(\d) after ([\d.]+) s \(it slept ([\d.]+) s\)/g),
    ];
    assert.deepEqual(
      joined.map((j) => j[1]),
      ['1', '2', '3'],
    );
    const m = text.match(
      /All three took ([\d.]+) s, (less|not less) than the sum of the sleeps \(([\d.]+) s\)/,
    );
    assert.ok(m, text);
    const [total, sum] = [Number(m[1]), Number(m[3])];
    const slept = joined.reduce((a, j) => a + Number(j[3]), 0);
    assert.ok(Math.abs(sum - slept) < 1e-9, text);
    assert.equal(m[2] === 'less', total < sum, text);
  });

  test('71 threads vs processes: "both beat sequential" only when both speed-ups say so', () => {
    const text = narration(out, '71');
    const ms = (label: string) =>
      text.match(new RegExp(`${label}: +(\\d+) ms.*?(?:: ([\\d.]+)×)?$`, 'm'));
    const seq = ms('sequential');
    const th = ms('ThreadPoolExecutor');
    const pr = ms('ProcessPoolExecutor');
    assert.ok(seq && th?.[2] && pr?.[2], text);
    const [sThreads, sProcesses] = [Number(th[2]), Number(pr[2])];
    assert.ok(Math.abs(Number(seq[1]) / Number(th[1]) - sThreads) < 0.15, text);
    assert.ok(Math.abs(Number(seq[1]) / Number(pr[1]) - sProcesses) < 0.15, text);
    if (/Both executors beat running the jobs one after another/.test(text)) {
      assert.ok(sThreads >= 1.3 && sProcesses >= 1.3, text);
    } else {
      assert.match(text, /Little speed-up here/);
      assert.ok(sThreads < 1.3 || sProcesses < 1.3, text);
    }
  });
});

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
