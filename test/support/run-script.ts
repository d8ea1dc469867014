import { spawn } from 'node:child_process';
import { TS_IMPORT } from './ts.js';

export interface ScriptRun {
  /** The exit code (null when a signal ended it). */
  status: number | null;
  /** The signal that ended it (null when it exited). */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the TypeScript file at `path` (tsx) in a process of its own: for what only a whole
 * program shows (how it exits, an unsettled top-level await's code 13). Killed after `ms`, so a
 * hang fails the test instead of stalling it.
 */
export function runScript(path: string, args: string[] = [], ms = 60_000): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TS_IMPORT, path, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}
