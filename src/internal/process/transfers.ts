/**
 * Pipe handles on their way to another process or thread (see src/multiprocessing/connection.ts):
 * serialising one registers a token that counts it at the broker until the receiver revives it.
 * A sender whose message never arrives — a child that died before reviving its args, an encode
 * that failed halfway, a batch encoded again after one of its tasks was refused — drops the
 * tokens it made, or the other end would never see EOF.
 */
import { broker } from './broker-client.js';

let collecting: string[] | null = null;

/** Runs `encode`, adding the tokens of the handles it serialises to `into` (even if it throws). */
export function collectTransfers<T>(into: string[], encode: () => T): T {
  const outer = collecting;
  collecting = into;
  try {
    return encode();
  } finally {
    collecting = outer;
  }
}

/** A handle was serialised under `token` (Connection's [kShared]). */
export function noteTransfer(token: string): void {
  collecting?.push(token);
}

/** Those handles will never be revived: they stop counting. */
export function dropTransfers(tokens: string[]): void {
  if (tokens.length > 0) broker().post('dropTokens', undefined, [tokens]);
}
