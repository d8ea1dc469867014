/**
 * Test helper: `weft …` run as a user runs it (node bin/weft.js), with its exit code and output.
 * Under `npm test` it registers the test loader WEFT_TS_LOADER names rather than tsx (bin/weft.js);
 * `{ WEFT_TS_LOADER: '' }` in `env` gives it tsx, as a user has it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;

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
  return scriptRunner(join(root, 'bin', 'weft.js'), 'weft', timeoutMs, env, cwd);
}

/**
 * `weftRunner` for any Node script (`name` stands for it in messages). A command still running
 * when `timeoutMs` has passed is ended by execFile, which closes its pipes before it signals it:
 * weft's next write then meets a closed pipe and ends it quietly, with code 0 (src/cli/main.ts),
 * which execFile reports as a success. Regression: such a run (a tour killed inside a lesson's
 * spawnSync) came back as code 0 with its output cut short, and the test failed on a missing
 * line instead of saying that the command did not end.
 */
export function scriptRunner(
  script: string,
  name: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
  cwd: string = root,
): (...args: string[]) => Promise<WeftResult> {
  return (...args) =>
    new Promise((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [script, ...args],
        { cwd, timeout: timeoutMs, env: { ...process.env, ...env } },
        (e, stdout, stderr) => {
          const x = e as { code?: unknown; signal?: string } | null;
          if (child.killed || (x !== null && typeof x.code !== 'number')) {
            reject(
              new Error(
                `${[name, ...args].join(' ')} did not end by itself within ${timeoutMs / 1000} s ` +
                  `(ended ${x?.signal ?? child.signalCode ?? `with code ${child.exitCode}`}): ${stdout}`,
                { cause: e ?? undefined },
              ),
            );
            return;
          }
          resolve({ code: x === null ? 0 : (x.code as number), stdout, stderr });
        },
      );
    });
}
