/**
 * weft's CLI pointed at lessons a test writes: a scratch directory with an examples/ of its own
 * and a `weft.mts` that runs `main` of src/cli/main.ts on it (what bin/weft.js does with this
 * package's examples/), spawned under the test loader.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TS_IMPORT } from './ts.js';

const root = new URL('../../', import.meta.url).pathname;

export interface ScratchWeft {
  /** The scratch directory: the CLI's root (`examples/` below it). */
  readonly dir: string;
  /** Writes examples/`name`.ts with `source`. */
  lesson(name: string, source: string): void;
  /** `weft …args` on the scratch lessons, stdout and stderr piped, run from the checkout. */
  weft(...args: string[]): ChildProcess;
  /** Removes the directory. */
  remove(): void;
}

export function scratchWeft(prefix: string): ScratchWeft {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  mkdirSync(join(dir, 'examples'));
  // ES modules, as in this package: without it tsx loads the lessons, and through them weft, as
  // CommonJS (a second copy of weft, which knows none of the first one's children).
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(
    join(dir, 'weft.mts'),
    `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))};
await main(process.argv, { typescript: true, root: ${JSON.stringify(dir)} });
`,
  );
  return {
    dir,
    lesson: (name, source) => writeFileSync(join(dir, 'examples', `${name}.ts`), source),
    weft: (...args) =>
      spawn(process.execPath, ['--import', TS_IMPORT, join(dir, 'weft.mts'), ...args], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
