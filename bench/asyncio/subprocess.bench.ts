/**
 * weft/asyncio subprocesses against Python's asyncio and uvloop (this repository's peer
 * bench/peers/python/asyncio_subprocess.py), and against Node's own `child_process`:
 *
 * - spawn: `createSubprocessExec('/bin/true')` then `wait()`, one child after the other.
 * - cat: a `cat` child with stdin and stdout pipes, `communicate()` of 1 MiB; the output is
 *   checked to be the input.
 *
 * Two weft rows: as built on Linux (the spawn addon, native/spawn/: posix_spawn, the exit watched
 * through a pidfd) and through Node's `child_process.spawn` (the path without the addon, forced
 * here as `_allowNativeSpawn(false)` forces it in the tests).
 *
 * What it shows: Node's spawn forks (libuv), and a fork copies the parent's page tables, so it
 * costs in proportion to the parent's memory — this bench process, with tsx and every suite's
 * modules loaded, is a large parent. posix_spawn (CPython's way too) does not copy them. weft's
 * own cost on top of a spawn is its pipes' wiring into StreamReader/StreamWriter and the exit's
 * wake-up through the ready queue: the Node-spawn row against the bare Node row. The cat round
 * trip moves 2 MiB through two socket pairs (Node's child pipes are Unix socket pairs; Python's
 * are pipes).
 *
 * weft rows run inside `run()`, as a user runs them; the Node row outside any task.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSubprocessExec, PIPE, run } from 'weft/asyncio';
import { _allowNativeSpawn } from '../../src/asyncio/subprocess.js';
import { nativeSpawnAvailable } from '../../src/asyncio/subprocess-native.js';
import { type BenchSuite, type Harness, withMainThreadPinned } from '../harness.js';
import { runLocalPython } from '../peers/python.js';

export const SCENARIOS = {
  spawn: 'spawn /bin/true and wait for its exit (one at a time)',
  cat: 'cat round trip of 1 MiB through communicate()',
} as const;

const SIZE = 1 << 20;
/** Children per measured round. */
const SPAWNS_PER_ROUND = 10;
const CATS_PER_ROUND = 4;
/** Interleaved passes over all the rows (a full run). */
const PASSES = 3;
/** The core the suite's main thread runs on; the Python peers and every child inherit it. */
const PIN_CORE = 1;
const IMPL_NODE = 'node:child_process';
const IMPL_WEFT_NODE = "weft, through Node's spawn";

export const suite: BenchSuite = {
  name: 'asyncio-subprocess',
  title: 'weft/asyncio subprocesses vs Python asyncio, uvloop and bare node:child_process',
  async run(h) {
    await withMainThreadPinned(PIN_CORE, async (pinned) => {
      h.note(
        pinned
          ? `the bench's main thread and its Python peers pinned to core ${PIN_CORE} (taskset); the children inherit it`
          : 'not pinned: taskset or a second core is missing',
      );
      await measureAll(h);
    });
  },
};

async function measureAll(h: Harness): Promise<void> {
  const data = randomBytes(SIZE);
  h.note(
    `every figure is the median of ${h.quick ? 1 : PASSES} interleaved passes over all the rows, Python's included; a spawn costs mostly the kernel's work (fork or vfork, then exec), so the machine's load moves every row`,
  );
  // The addon is loaded with the first spawn: one before anything is measured.
  await run(() => weftSpawns(1));
  h.note(
    nativeSpawnAvailable()
      ? 'weft: the spawn addon (posix_spawn) is built and used here'
      : "weft: no spawn addon here (not built, WEFT_NO_NATIVE=1 or no pidfds): both weft rows go through Node's spawn",
  );
  await h.interleaved(h.quick ? 1 : PASSES, async () => {
    await h.measure({
      scenario: SCENARIOS.spawn,
      impl: 'weft',
      n: SPAWNS_PER_ROUND,
      unit: 'processes/s',
      fn: () => run(() => weftSpawns(SPAWNS_PER_ROUND)),
    });
    await h.measure({
      scenario: SCENARIOS.spawn,
      impl: IMPL_WEFT_NODE,
      n: SPAWNS_PER_ROUND,
      unit: 'processes/s',
      fn: () => throughNodeSpawn(() => run(() => weftSpawns(SPAWNS_PER_ROUND))),
    });
    await h.measure({
      scenario: SCENARIOS.spawn,
      impl: IMPL_NODE,
      n: SPAWNS_PER_ROUND,
      unit: 'processes/s',
      fn: () => nodeSpawns(SPAWNS_PER_ROUND),
    });
    await h.measure({
      scenario: SCENARIOS.cat,
      impl: 'weft',
      n: CATS_PER_ROUND,
      unit: 'round trips/s',
      fn: () => run(() => weftCats(CATS_PER_ROUND, data)),
    });
    await h.measure({
      scenario: SCENARIOS.cat,
      impl: IMPL_WEFT_NODE,
      n: CATS_PER_ROUND,
      unit: 'round trips/s',
      fn: () => throughNodeSpawn(() => run(() => weftCats(CATS_PER_ROUND, data))),
    });
    await h.measure({
      scenario: SCENARIOS.cat,
      impl: IMPL_NODE,
      n: CATS_PER_ROUND,
      unit: 'round trips/s',
      fn: () => nodeCats(CATS_PER_ROUND, data),
    });
    const py = h.quick ? ['60', '10'] : ['300', '40'];
    await runLocalPython(h, 'asyncio_subprocess.py', py, pythonScenario, 'python asyncio');
    await runLocalPython(
      h,
      'asyncio_subprocess.py',
      ['--uvloop', ...py],
      pythonScenario,
      'python uvloop',
    );
  });
}

function pythonScenario(name: string): string | null {
  if (name.endsWith('.spawn_true')) return SCENARIOS.spawn;
  if (name.endsWith('.cat_1MiB')) return SCENARIOS.cat;
  return null;
}

/** `fn` with every weft spawn through Node's `child_process.spawn`. */
async function throughNodeSpawn(fn: () => Promise<void>): Promise<void> {
  const was = _allowNativeSpawn(false);
  try {
    await fn();
  } finally {
    _allowNativeSpawn(was);
  }
}

async function weftSpawns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const p = await createSubprocessExec('/bin/true');
    const rc = await p.wait();
    if (rc !== 0) throw new Error(`/bin/true exited with ${rc}`);
  }
}

async function weftCats(n: number, data: Buffer): Promise<void> {
  for (let i = 0; i < n; i++) {
    const p = await createSubprocessExec('cat', { stdin: PIPE, stdout: PIPE });
    const [out] = await p.communicate(data);
    if (out === null || !out.equals(data) || p.returncode !== 0) {
      throw new Error(`cat gave ${out?.length} bytes back, exit ${p.returncode}`);
    }
  }
}

/** Node's spawn and its 'exit' event, nothing else: what weft through Node's spawn adds to. */
async function nodeSpawns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const rc = await new Promise<number | null>((resolve, reject) => {
      const c = spawn('/bin/true', [], { stdio: 'inherit' });
      c.once('error', reject);
      c.once('exit', resolve);
    });
    if (rc !== 0) throw new Error(`/bin/true exited with ${rc}`);
  }
}

/** Node's cat: write the input, end stdin, gather stdout's chunks, wait for 'close'. */
async function nodeCats(n: number, data: Buffer): Promise<void> {
  for (let i = 0; i < n; i++) {
    const out = await new Promise<Buffer>((resolve, reject) => {
      const c = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] });
      const chunks: Buffer[] = [];
      c.stdout.on('data', (d: Buffer) => chunks.push(d));
      c.once('error', reject);
      c.once('close', (code) => {
        if (code !== 0) reject(new Error(`cat exited with ${code}`));
        else resolve(Buffer.concat(chunks));
      });
      c.stdin.end(data);
    });
    if (!out.equals(data)) throw new Error(`cat gave ${out.length} bytes back`);
  }
}
