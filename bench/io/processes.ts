/**
 * What the IO benchmarks need around their processes: C tools built at bench time, servers
 * started pinned to a core, a wait until a port accepts, and a process's CPU time from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

export const SHARED = new URL('../../../shared/', import.meta.url).pathname;
export const ROOT = new URL('../../', import.meta.url).pathname;
export const WEFT_BIN = join(ROOT, 'bin', 'weft.js');

/** Builds `sources` (paths under ../shared) with gcc -O2 into a temp dir; null without gcc. */
export function buildC(sources: string[]): Record<string, string> | null {
  const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
  const out: Record<string, string> = {};
  try {
    for (const src of sources) {
      const name = src.replace(/^.*\//, '').replace(/\.c$/, '');
      const exe = join(dir, name);
      execFileSync('gcc', ['-O2', '-o', exe, join(SHARED, src)], { stdio: 'pipe' });
      out[name] = exe;
    }
  } catch {
    return null;
  }
  return out;
}

/** True when processes can be pinned: taskset exists and there are two cores or more. */
export function canPin(): boolean {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `cmd args` pinned to `core` when pinning is possible (taskset execs: same pid). */
export function pinned(core: number, cmd: string, args: string[]): [string, string[]] {
  return canPin() ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves once 127.0.0.1:port accepts a connection; false after `ms` or if `child` exits. */
export async function waitForPort(
  port: number,
  child: ChildProcess,
  ms = 15_000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of `pid` so far (Linux /proc), or NaN. */
export function cpuSeconds(pid: number): number {
  const path = `/proc/${pid}/stat`;
  if (!existsSync(path)) return Number.NaN;
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name (which may contain spaces) — utime and stime are 14 and 15.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

export interface Started {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts a server process (pinned to core 1) and waits for its port. */
export async function startServer(
  cmd: string,
  args: string[],
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Started | string> {
  const [c, a] = pinned(1, cmd, args);
  const child = spawn(c, a, { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr?.on('data', (d) => {
    if (err.length < 4000) err += d;
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  };
  if (!(await waitForPort(port, child))) {
    await stop();
    return err.trim().split('\n').pop() || 'did not start listening';
  }
  return { child, stderr: () => err, stop };
}

/** Runs a command to completion, pinned to `core` (default 0), and returns its output. */
export function runPinned(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  core = 0,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [c, a] = pinned(core, cmd, args);
  return new Promise((resolve) => {
    const child = spawn(c, a, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}
