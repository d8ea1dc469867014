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

/** A child's stdout and stderr together, and its end, for a test that watches it run. */
export interface Watched {
  /** Everything the child printed so far, stdout and stderr interleaved as they came. */
  readonly out: string;
  /** How the child ended: its code and the signal that ended it. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** The first match of `re` in its output within `ms`, or null (it ended, or time ran out). */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray | null>;
}

/** Watches `child` (spawned with stdout and stderr piped). */
export function watch(child: ChildProcess): Watched {
  let out = '';
  const add = (d: Buffer): void => {
    out += d.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    child.once('exit', (code, signal) => r([code, signal])),
  );
  return {
    get out() {
      return out;
    },
    exited,
    async waitFor(re, ms) {
      const deadline = Date.now() + ms;
      for (;;) {
        const m = out.match(re);
        if (m !== null || child.exitCode !== null || child.signalCode !== null) return m;
        if (Date.now() >= deadline) return null;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}
