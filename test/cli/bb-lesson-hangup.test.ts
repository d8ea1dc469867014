/**
 * The echo lessons' clients read each reply in a loop until they have all its bytes. A server
 * that hangs up makes every later recv() resolve at once with no bytes, so a loop that did not
 * look for that spun for ever without giving the event loop a turn: `weft run 48` with a server
 * child that died never ended, at 100% CPU, its ended children left as zombies. Now the client
 * says that the server hung up (or meets the reset, when the server died with bytes unread), and
 * the lesson fails as any lesson does. The SIGINT case is a guard: review r19 did not see it spin
 * on the old source (SIGINT at 200, 500 and 900 ms), and it passes there.
 *
 * Spawned as a user runs it (node bin/weft.js); the first server child is killed as soon as it
 * exists, which is before it can have served the three rounds of its connection.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch } from '../support/child-lines.js';
import { checkLeaks } from '../support/leaks.js';
import { alive } from '../support/pids.js';

checkLeaks();

const root = new URL('../../', import.meta.url).pathname;
const node = realpathSync(process.execPath);

/** The children of `pid`'s main thread that run Node (weft/multiprocessing forks Node). */
function nodeChildren(pid: number): number[] {
  let ids: string[];
  try {
    ids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  } catch {
    return [];
  }
  return ids.filter(Boolean).flatMap((id) => {
    try {
      return readlinkSync(`/proc/${id}/exe`) === node ? [Number(id)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * `weft run 48 --quick`, with `act` called on weft's pid and its first Process child as soon as
 * that child exists; resolves with how weft ended, its output and every child it had.
 */
async function run48(act: (weft: number, child: number) => void): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  children: Set<number>;
}> {
  const proc = spawn(process.execPath, [join(root, 'bin', 'weft.js'), 'run', '48', '--quick'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = watch(proc);
  const exited = w.exited;
  const children = new Set<number>();
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  try {
    let acted = false;
    // Watches until weft ends: the children it starts after `act` are checked too.
    const deadline = Date.now() + 90_000;
    while (!ended && Date.now() < deadline) {
      for (const c of nodeChildren(proc.pid!)) children.add(c);
      if (!acted && children.size > 0) {
        act(proc.pid!, [...children][0]!);
        acted = true;
      }
      await sleep(5);
    }
    assert.ok(acted, `lesson 48 started no child process: ${w.out}`);
    assert.ok(ended, `weft run 48 did not end within 90 s of its server child's end: ${w.out}`);
    const [code, signal] = await exited;
    return { code, signal, out: w.out, children };
  } finally {
    if (!ended) proc.kill('SIGKILL');
    await exited;
    for (const c of children) if (alive(c)) process.kill(c, 'SIGKILL');
  }
}

describe('lesson 48 when its server hangs up', () => {
  test('a server child killed mid-lesson fails the lesson instead of hanging weft', async () => {
    const r = await run48((_weft, child) => process.kill(child, 'SIGKILL'));
    assert.equal(r.code, 1, r.out);
    // Which client fails first is a race (r19: about half the runs each): the killed child's,
    // with ECONNRESET when the kernel resets a connection whose bytes it never read, or
    // another's, whose child weft ended after the failure, with the hang-up. The old loop spun
    // in either case, once the lesson had failed and weft ended the other children.
    assert.match(
      r.out,
      /✖ 48-echo-process-per-connection failed: (?:Error: the server hung up before answering "client-\d round \d"|ConnectionResetError)/,
    );
    // The lesson's other server children were ended by weft, not left running.
    assert.deepEqual([...r.children].filter(alive), [], `children left running; output:\n${r.out}`);
  });

  test('SIGINT mid-lesson ends weft by SIGINT with no child left', async () => {
    const r = await run48((weft) => process.kill(weft, 'SIGINT'));
    assert.equal(r.signal, 'SIGINT', r.out);
    assert.match(r.out, /weft: stopped by SIGINT/);
    assert.deepEqual([...r.children].filter(alive), [], `children left running; output:\n${r.out}`);
  });
});
