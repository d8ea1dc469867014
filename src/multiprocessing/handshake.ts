/**
 * The opening exchange of a Listener/Client connection: Python 3.11's HMAC challenge and
 * response when the two share an authkey, and weft's greeting when neither has one — so that
 * an authkey on one side only fails on both, at once, instead of leaving one side waiting.
 *
 *   with authkey (Python's, byte for byte: 3.11's multiprocessing.connection)
 *   Listener                                         Client
 *   '#CHALLENGE#' + 20 random bytes   ──────────▶    HMAC-MD5(key, those 20)
 *   WELCOME if it is ours, else FAILURE   ◀──────    (and the same the other way round:
 *                                                     the Client challenges, the Listener answers)
 *
 *   without (weft's)
 *   Listener  '#WEFT-NOAUTH#'  ──────────▶  Client
 *             ◀──────────  '#WEFT-NOAUTH#'
 *
 *   mixed: a Client without an authkey answers a challenge with '#WEFT-NOAUTH#'; a Client with
 *   one answers a greeting with '#FAILURE#'. Each side then raises AuthenticationError.
 *
 * Every message is a bytes frame of at most 256 bytes (Python's `recv_bytes(256)`); anything
 * else is not a handshake, and an AuthenticationError. A Python Client or Listener with an
 * authkey completes the exchange with weft's; one without (which sends nothing) does not.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, EOFError, OSError } from './errors.js';
import type { SocketConnection } from './socket-connection.js';

const MESSAGE_LENGTH = 20;
const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const NOAUTH = Buffer.from('#WEFT-NOAUTH#');
/** The longest handshake message (Python's `recv_bytes(256)`). */
const LIMIT = 256;

type Side = 'Listener' | 'Client';
const other = (side: Side): Side => (side === 'Listener' ? 'Client' : 'Listener');

const digestOf = (key: Buffer, message: Buffer): Buffer =>
  createHmac('md5', key).update(message).digest();

/** The next handshake message; an object, a long message or the end are not one. */
async function next(c: SocketConnection, side: Side, signal: AbortSignal | null): Promise<Buffer> {
  let f: Awaited<ReturnType<SocketConnection['_recvFrame']>>;
  try {
    f = await c._recvFrame(LIMIT, signal);
  } catch (e) {
    if (e instanceof EOFError || (e instanceof OSError && e.code === 'ERR_WEFT_TRUNCATED_MESSAGE'))
      throw new EOFError(
        `The ${other(side)} closed the connection before the handshake ended (it gave up, or is not a multiprocessing ${other(side)})`,
        'ERR_WEFT_EOF',
        { cause: e },
      );
    if (e instanceof OSError && e.code === 'ERR_WEFT_BAD_MESSAGE_LENGTH')
      throw notHandshake(side, { cause: e });
    throw e;
  }
  if (f.object) throw notHandshake(side);
  return f.body;
}

function notHandshake(side: Side, options?: ErrorOptions): AuthenticationError {
  return new AuthenticationError(
    `The ${other(side)} did not answer with a multiprocessing.connection handshake message: it is not a weft ${other(side)}, or a Python one without an authkey`,
    options,
  );
}

function oneSided(side: Side, mine: boolean): AuthenticationError {
  return mine
    ? new AuthenticationError(
        `This ${side} has an authkey and the ${other(side)} has none: give both the same authkey, or neither`,
      )
    : new AuthenticationError(
        `The ${other(side)} has an authkey and this ${side} has none: give both the same authkey, or neither`,
      );
}

/** Python's `deliver_challenge`: asks the peer to prove it holds `key`. */
async function deliver(
  c: SocketConnection,
  key: Buffer,
  side: Side,
  signal: AbortSignal | null,
): Promise<void> {
  const message = randomBytes(MESSAGE_LENGTH);
  c._sendFrame(Buffer.concat([CHALLENGE, message]));
  const expected = digestOf(key, message);
  const response = await next(c, side, signal);
  if (response.length === expected.length && timingSafeEqual(response, expected)) {
    c._sendFrame(WELCOME);
    return;
  }
  c._sendFrame(FAILURE);
  if (response.equals(NOAUTH)) throw oneSided(side, true);
  throw new AuthenticationError(
    `digest received was wrong: the ${other(side)} has another authkey than this ${side}`,
  );
}

/** Python's `answer_challenge`: proves to the peer that this side holds `key`. */
async function answer(
  c: SocketConnection,
  key: Buffer,
  side: Side,
  signal: AbortSignal | null,
): Promise<void> {
  const message = await next(c, side, signal);
  if (message.equals(NOAUTH)) {
    c._sendFrame(FAILURE);
    throw oneSided(side, true);
  }
  if (!message.subarray(0, CHALLENGE.length).equals(CHALLENGE)) throw notHandshake(side);
  c._sendFrame(digestOf(key, message.subarray(CHALLENGE.length)));
  const response = await next(c, side, signal);
  if (!response.equals(WELCOME))
    throw new AuthenticationError(
      `digest sent was rejected: the ${other(side)} has another authkey than this ${side}`,
    );
}

/** The greeting of two sides without an authkey; `first`: this side speaks first. */
async function greet(
  c: SocketConnection,
  side: Side,
  signal: AbortSignal | null,
  first: boolean,
): Promise<void> {
  if (first) c._sendFrame(NOAUTH);
  const m = await next(c, side, signal);
  if (!first) c._sendFrame(NOAUTH);
  if (m.equals(NOAUTH)) return;
  if (m.equals(FAILURE) || m.subarray(0, CHALLENGE.length).equals(CHALLENGE))
    throw oneSided(side, false);
  throw notHandshake(side);
}

/** The Listener's side (Python's `accept`: deliver, then answer). */
export async function listenerHandshake(c: SocketConnection, key: Buffer | null): Promise<void> {
  if (key === null) return greet(c, 'Listener', null, true);
  await deliver(c, key, 'Listener', null);
  await answer(c, key, 'Listener', null);
}

/** The Client's side (Python's `Client`: answer, then deliver). */
export async function clientHandshake(
  c: SocketConnection,
  key: Buffer | null,
  signal: AbortSignal | null,
): Promise<void> {
  if (key === null) return greet(c, 'Client', signal, false);
  await answer(c, key, 'Client', signal);
  await deliver(c, key, 'Client', signal);
}
