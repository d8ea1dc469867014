/**
 * The mailbox between a thread that makes a blocking broker call and its sync client thread
 * (sync-client-thread.ts): the synckit technique. Messages travel on a MessagePort; a tiny
 * SharedArrayBuffer says when a reply is there, so the caller can park on it with Atomics.wait
 * and then take the reply with `receiveMessageOnPort` — no event loop involved on its side.
 *
 *   caller thread                              sync client thread
 *   ─────────────                              ──────────────────
 *   seq = SEQ; port.postMessage(req) ───────▶  port 'message' → broker socket
 *   park while SEQ == seq                       … broker answers …
 *                               ◀───────────── port.postMessage(reply); SEQ += 1; notify(SEQ)
 *   receiveMessageOnPort(port) → reply
 *
 * Layout (Int32Array over 8 bytes):
 * | idx | name  | writer        | readers | meaning                                            |
 * |  0  | SEQ   | client thread | caller  | replies posted so far (wraps; only compared)       |
 * |  1  | STATE | client thread | caller  | STARTING 0, RUNNING 1, CRASHED 2                   |
 *
 * Invariants
 * - One request at a time per mailbox: the caller is parked until its reply is there, and a
 *   mailbox belongs to one thread.
 * - The client thread puts the reply on the port *before* it bumps SEQ, so a caller that sees
 *   SEQ move always finds the reply with receiveMessageOnPort (postMessage enqueues at once).
 * - A crashed client thread sets STATE to CRASHED, then bumps SEQ: the caller wakes, finds no
 *   reply and throws instead of waiting for ever.
 * - A message that cannot be read ('messageerror': a value nested deeper than the reading
 *   thread's stack can read) is lost on either side, and the caller learns it instead of
 *   waiting: a reply it cannot read makes `receiveMessageOnPort` throw here; a request the client
 *   thread cannot read is answered with a notice (sync-client-thread.ts). Either is taken as the
 *   waiting call's, see `call`.
 */
import { type MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { load, parkSync } from '../atomics.js';
import { describeError, RuntimeError } from '../errors.js';

export const SEQ = 0;
export const STATE = 1;
export const STARTING = 0;
export const RUNNING = 1;
export const CRASHED = 2;
export const MAILBOX_BYTES = 8;

/** What the client thread is told about the layout (it cannot import this module). */
export const LAYOUT = { SEQ, STATE, RUNNING, CRASHED } as const;
export type MailboxLayout = typeof LAYOUT;

/**
 * Trade-off: how long a caller waits for a client thread that has not started to run at all
 * (a Worker that cannot start reports nothing a parked thread could see) before failing; long,
 * because a loaded machine can take seconds to start a thread.
 */
const START_BUDGET_MS = 60_000;
/** How often a parked caller looks at STATE (a crash is also notified; this is a backstop). */
const SLICE_MS = 1000;

export class MailboxCrashed extends Error {}

function isUnreadableNotice(m: unknown): m is { r: 0; unreadable: string } {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as { r?: unknown }).r === 0 &&
    typeof (m as { unreadable?: unknown }).unreadable === 'string'
  );
}

/**
 * Posts `message` and parks the calling thread until a reply for which `isReply` holds arrives;
 * returns it. Other messages on the port (a late reply to a call that gave up) are dropped.
 * @throws RuntimeError (`ERR_WEFT_UNREADABLE_MESSAGE`) when the request could not be read by the
 *   client thread, or the reply here.
 */
export function call(
  a: Int32Array,
  port: MessagePort,
  message: unknown,
  isReply: (m: unknown) => boolean,
): unknown {
  let seq = load(a, SEQ);
  port.postMessage(message);
  const start = performance.now();
  for (;;) {
    while (load(a, SEQ) === seq) {
      const state = load(a, STATE);
      if (state === CRASHED) break;
      if (state === STARTING && performance.now() - start > START_BUDGET_MS) {
        throw new MailboxCrashed(
          `The multiprocessing sync client thread did not start within ${START_BUDGET_MS} ms`,
        );
      }
      parkSync(a, SEQ, seq, SLICE_MS);
    }
    seq = load(a, SEQ);
    // Which message could not be read is gone with it. It is taken as this call's, which is safe
    // because a call has at most one reply coming (one request at a time per mailbox), and the
    // only other messages — a late reply to a call that gave up (a client thread that started
    // after its budget) — are read first: one that is found readable below still wins. What the
    // client thread could not read never reached the broker; its other messages (shipStuck's:
    // weft's bookkeeping, and for an early post what the thread had queued, whose items and
    // values are bytes already) hold none of the user's nested data.
    let unreadable: string | null = null;
    for (;;) {
      let got: { message: unknown } | undefined;
      try {
        got = receiveMessageOnPort(port);
      } catch (e) {
        unreadable = `the broker's reply could not be read in this thread (${describeError(e)}); store flatter data, or give the thread a larger stack (threading.stackSize())`;
        continue;
      }
      if (got === undefined) break;
      if (isUnreadableNotice(got.message)) {
        unreadable = `the request could not be read by the multiprocessing sync client thread (${got.message.unreadable}); it did not reach the broker: pass flatter data`;
        continue;
      }
      if (isReply(got.message)) return got.message;
    }
    if (unreadable !== null) {
      throw new RuntimeError(
        `A blocking multiprocessing call failed: ${unreadable}`,
        'ERR_WEFT_UNREADABLE_MESSAGE',
      );
    }
    if (load(a, STATE) === CRASHED) {
      throw new MailboxCrashed('The multiprocessing sync client thread crashed');
    }
  }
}

/** Whether the client thread of this mailbox crashed (a new one must be started). */
export function crashed(a: Int32Array): boolean {
  return load(a, STATE) === CRASHED;
}
