/**
 * The `weft` command line: a commander program with one sub-command per file of src/cli/,
 * registered in COMMANDS below (to add `weft serve`, write src/cli/serve.ts exporting a
 * `CliCommand` and add it to the list). bin/weft.js calls `main`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { benchCommand } from './bench.js';
import { type CliCommand, type CliContext, CliError } from './command.js';
import { lessonsCommand } from './lessons.js';
import { loadCommand } from './load.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
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
}

export async function main(argv: string[], options: MainOptions): Promise<void> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const context: CliContext = {
    root,
    typescript: options.typescript,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  };
  // `weft lessons | head -3`: once the reader is gone, Node reports the next write as an 'error'
  // event on the stream, which would end the command with a stack trace. Nobody reads any more,
  // so end quietly, with the exit code set so far.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
      process.exit();
    });
  }
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
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
