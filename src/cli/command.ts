import type { Command } from 'commander';

/** What every command may need to know about the installation it runs from. */
export interface CliContext {
  /** The package root (where `examples/`, `bench/` and `package.json` are). */
  root: string;
  /** True when TypeScript files can be imported (a checkout, run through tsx). */
  typescript: boolean;
  /** Where the command writes its output. */
  out: (text: string) => void;
  /** Where the command writes its errors. */
  err: (text: string) => void;
}

/**
 * One `weft` sub-command, in its own file under src/cli/, registered in the list of
 * src/cli/main.ts. `register` adds it to the program; its action sets `process.exitCode` on
 * failure rather than exiting, so that output is flushed.
 */
export interface CliCommand {
  register(program: Command, context: CliContext): void;
}

/** Raised by a command for a failure that needs no stack trace (a bad argument, a missing tool). */
export class CliError extends Error {
  override name = 'CliError';
}
