/**
 * What a test thread says to the multiprocessing broker: for the tests that check a call stays
 * in the calling thread (the lock slab) and goes to the broker only when it must.
 */
import assert from 'node:assert/strict';
import { broker } from '../../src/internal/process/broker-client.js';
import { brokerSync } from '../../src/internal/process/broker-sync.js';
import { Event } from '../../src/multiprocessing/index.js';

/**
 * Counts the messages this thread sends to the broker while `fn` runs whose operation `counts`
 * picks: requests on its connection and blocking requests on its sync connection, and its posts
 * (messages nobody waits for) unless `posts` is false.
 */
export async function brokerMessages(
  counts: (op: string) => boolean,
  fn: () => Promise<void> | void,
  { posts = true }: { posts?: boolean } = {},
): Promise<number> {
  const c = broker();
  const s = brokerSync();
  const post = c.post;
  const request = c.request;
  const requestTakenBack = c.requestTakenBack;
  const syncRequest = s.request;
  let n = 0;
  c.post = function (this: typeof c, o, ...rest) {
    if (posts && counts(o)) n++;
    return post.call(this, o, ...rest);
  };
  c.request = function (this: typeof c, o, ...rest) {
    if (counts(o)) n++;
    return request.call(this, o, ...rest);
  };
  c.requestTakenBack = function (this: typeof c, o, ...rest) {
    if (counts(o)) n++;
    return requestTakenBack.call(this, o, ...rest);
  };
  s.request = function (this: typeof s, o, ...rest) {
    if (counts(o)) n++;
    return syncRequest.call(this, o, ...rest);
  };
  try {
    await fn();
  } finally {
    c.post = post;
    c.request = request;
    c.requestTakenBack = requestTakenBack;
    s.request = syncRequest;
  }
  return n;
}

/**
 * A round trip on this thread's connection (a wait with no time on a clear Event is answered by
 * the broker, slab or not): what the thread sent before it has been handled.
 */
export async function roundTrip(): Promise<void> {
  assert.equal(await new Event().wait({ timeout: 0 }), false);
}
