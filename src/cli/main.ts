/**
 * The `weft` command line: a commander program with one sub-command per file of src/cli/,
 * registered in COMMANDS below (to add `weft serve`, write src/cli/serve.ts exporting a
 * `CliCommand` and add it to the list). bin/weft.js calls `main`.
 *
 * Every `weft` imports every module of this list, for the help and the option checks: they
 * import nothing heavy (weft's own modules, a lesson, bench/) at their top, but in the action
 * that needs it (`await import(...)`), so that `weft --help`, a mistyped option or `weft
 * lessons` do not wait for the modules of another command. `weft serve` is split for that:
 * serve-command.ts has its options, serve.ts the servers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench.js';
import { endChildrenThenExit } from './child-processes.js';
import { type CliCommand, type CliContext, CliError } from './command.js';
import { lessonsCommand } from './lessons.js';
import { loadCommand } from './load.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve-command.js';
import { tourCommand } from './tour.js';

const COMMANDS: readonly CliCommand[] = [
  tourCommand,
  lessonsCommand,
  runCommand,
  benchCommand,
  serveCommand,
  loadCommand,
];

export interface MainOptions {
  /** True when bin/weft.js registered tsx, so the .ts lessons and benchmarks can be imported. */
  typescript: boolean;
  /**
   * The directory with `examples/` and `bench/`; bin/weft.js leaves it out: this package's root.
   * Tests point it at a scratch directory of lessons.
   */
  root?: string;
}

export async function main(argv: string[], options: MainOptions): Promise<void> {
  const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
  if (options.typescript) {
    // The processes and threads a lesson starts load their TypeScript through tsx's loader, which
    // looks for tsconfig.json from the working directory: run from elsewhere (`node
    // ~/weft/bin/weft.js tour`), a child found none, resolved `weft/threading` to the compiled
    // dist/ (a second copy of weft, whose Thread the first copy's worker could not run) and
    // failed. They inherit this variable, so they use this checkout's tsconfig, as this process.
    process.env.TSX_TSCONFIG_PATH ??= join(packageRoot, 'tsconfig.json');
  }
  const context: CliContext = {
    root: options.root ?? packageRoot,
    typescript: options.typescript,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  // `weft lessons | head -3`: once the reader is gone, Node reports the next write as an 'error'
  // event on the stream, which would end the command with a stack trace. Nobody reads any more,
  // so end quietly, with the exit code set so far, once the child processes a lesson started are
  // ended (they would outlive the command).
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      endChildrenThenExit(() => process.exit());
    });
  }
  const pkg = JSON.parse(readFileSync(`${packageRoot}package.json`, 'utf8')) as {
    version: string;
  };
  const program = new Command('weft')
    .description("Python's concurrency stack for TypeScript on Node.js: lessons and benchmarks")
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride();
  for (const c of COMMANDS) c.register(program, context);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version end here with code 0; usage errors were already printed.
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof CliError) {
      context.err(`weft: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}
