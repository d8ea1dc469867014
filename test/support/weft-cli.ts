/**
 * Test helper: `weft …` run as a user runs it (node bin/weft.js), with its exit code and output.
 * Under `npm test` it registers the test loader WEFT_TS_LOADER names rather than tsx (bin/weft.js);
 * `{ WEFT_TS_LOADER: '' }` in `env` gives it tsx, as a user has it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const root = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

export interface WeftResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A `weft(...args)` whose commands must end by themselves within `timeoutMs`: one that does not
 * (it started serving, or hangs) fails the test saying so, instead of a bare timeout error.
 * `env` is added to this process's environment; `cwd` is where it runs (by default the
 * checkout's root).
 */
export function weftRunner(
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
  cwd: string = root,
): (...args: string[]) => Promise<WeftResult> {
  return async (...args) => {
    try {
      const r = await run(process.execPath, [join(root, 'bin', 'weft.js'), ...args], {
        cwd,
        timeout: timeoutMs,
        env: { ...process.env, ...env },
      });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code?: number; stdout: string; stderr: string; signal?: string };
      if (typeof x.code !== 'number') {
        throw new Error(`weft ${args.join(' ')} did not end by itself (${x.signal}): ${x.stdout}`, {
          cause: e,
        });
      }
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  };
}
