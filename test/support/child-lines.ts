/**
 * Child programs of a test that talk on their stdout, line by line: a fixture started under the
 * TypeScript loader, its first line, its end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TS_IMPORT } from './ts.js';

/** `url` (a fixture's file URL) run under the TypeScript loader with `args`; stdout piped. */
export function tsFixture(url: URL, ...args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', TS_IMPORT, fileURLToPath(url), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

/** The first line `child` prints, or a rejection when it ends first. */
export function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout?.off('data', onData);
      resolve(out.slice(0, nl));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited (${code}) before a line: ${out}`)));
  });
}

/** Resolves with `child`'s exit code once it has ended (at once if it has). */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}
