/**
 * Validation of the options every waiting call takes: `{ blocking | block, timeout, signal }`.
 * One place, so every primitive answers bad input with the same words.
 */
import { describeValue } from './errors.js';

export interface WaitOptions {
  /** Milliseconds; `undefined`/`null` waits for ever; a negative timeout is 0. */
  timeout?: number | null;
  signal?: AbortSignal;
}

export interface ParsedWait {
  timeout: number | null;
  signal: AbortSignal | null;
}

export function parseWait(what: string, options: WaitOptions | undefined): ParsedWait {
  if (options === undefined || options === null) return { timeout: null, signal: null };
  if (typeof options !== 'object') {
    throw new TypeError(`${what}: options must be an object: received ${describeValue(options)}`);
  }
  const { timeout, signal } = options;
  let t: number | null = null;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
      throw new TypeError(
        `${what}: timeout must be a number of milliseconds: received ${describeValue(timeout)}`,
      );
    }
    t = Math.max(timeout, 0);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `${what}: signal must be an AbortSignal: received ${describeValue(signal)}`,
    );
  }
  return { timeout: t, signal: signal ?? null };
}

export function parseBlocking(what: string, value: unknown, name: string): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${what}: ${name} must be a boolean: received ${describeValue(value)}`);
  }
  return value;
}
