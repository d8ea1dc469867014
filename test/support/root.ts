/**
 * Runs `code` (TypeScript, with tsx) in a fresh Node process at the repository's root, as a weft
 * root of its own: without the calling test's broker in its environment. For what only shows at
 * a root's exit (files it removes, warnings it prints) or in a process with another environment.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { TS_IMPORT } from './ts.js';

const root = new URL('../../', import.meta.url).pathname;

export function runRoot(
  code: string,
  options: { env?: Record<string, string>; timeout?: number; execArgv?: string[] } = {},
): SpawnSyncReturns<string> {
  return spawnSync(
    process.execPath,
    [...(options.execArgv ?? []), '--import', TS_IMPORT, '-e', code],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: options.timeout ?? 30_000,
      env: { ...process.env, WEFT_BROKER: '', ...options.env },
    },
  );
}
