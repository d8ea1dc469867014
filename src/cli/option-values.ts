/**
 * The values of the options of `weft serve` and `weft load`, checked as the user typed them.
 * `Number()` alone would take `''` as 0 (a random port for `--port "$PORT"` with PORT unset),
 * `0x1f90` as 8080 and `1e3` as 1000: an integer option takes decimal digits only.
 */
import { CliError } from './command.js';

/**
 * `text` as an integer in [min, max], or a CliError: `<command>: --<name> must be <expected>:
 * received <text>`.
 */
export function integerOption(
  command: string,
  name: string,
  text: string,
  min: number,
  max: number,
  expected = `an integer ${min}-${max}`,
): number {
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new CliError(`${command}: --${name} must be ${expected}: received ${show(text)}`);
  }
  return n;
}

/**
 * `text` as a decimal number (digits, with an optional fraction: `5`, `0.5`, `.5`) in (0, max],
 * or a CliError: `<command>: --<name> must be <expected>: received <text>`. Not `Number()`,
 * which took `0x10` as 16 and `1e3` as 1000.
 */
export function positiveDecimalOption(
  command: string,
  name: string,
  text: string,
  max: number,
  expected = `a number of at most ${max}, above 0`,
): number {
  const n = /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN;
  if (!(n > 0 && n <= max)) {
    throw new CliError(`${command}: --${name} must be ${expected}: received ${show(text)}`);
  }
  return n;
}

/**
 * A host that is not empty. An empty one would make Node listen on every interface (`weft
 * serve --host "$HOST"` with HOST unset), or connect to a name that is no host.
 */
export function hostOption(command: string, text: string, fallback: string): string {
  if (text.trim() === '') {
    throw new CliError(
      `${command}: --host is empty: give an address (${fallback} when --host is left out)`,
    );
  }
  return text;
}

/** The text as received, quoted when quotes are needed to see it. */
function show(text: string): string {
  return text === '' || text.trim() !== text ? JSON.stringify(text) : text;
}
