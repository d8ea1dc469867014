/**
 * The corners of an error's crossing to another thread or process (src/internal/error-registry.ts,
 * serialize.ts): a user's own class named as a weft class, a user's subclass of a weft class
 * (one with a home among them), a subclass with no `kind` of its own, a cause chain thousands
 * deep, and a ClientResponseError's `history`. The classes are test/internal/fixtures/error-corners.ts,
 * which each side imports.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as asyncio from '../../src/asyncio/errors.js';
import { KeyboardInterrupt } from '../../src/asyncio/keyboard-interrupt.js';
import { ProcessPoolExecutor } from '../../src/futures/process-pool-executor.js';
import { ThreadPoolExecutor } from '../../src/futures/thread-pool-executor.js';
import * as gevent from '../../src/gevent/errors.js';
import { brandOf, ExceptionGroup, TimeoutError, WeftError } from '../../src/internal/errors.js';
import {
  decodeError,
  encodeError,
  MAX_ERROR_DEPTH,
  registerUserErrorClass,
} from '../../src/internal/serialize.js';
import * as mp from '../../src/multiprocessing/errors.js';
import * as selectors from '../../src/selectors/errors.js';
import { MIN_STACK_SIZE } from '../../src/threading/stack-size.js';
import { ClientResponseError } from '../../src/web/errors.js';
import { checkLeaks } from '../support/leaks.js';
import {
  depthThere,
  describeThere,
  make,
  raise,
  describe as said,
} from './fixtures/error-corners.js';

checkLeaks({ graceMs: 3000 });

/** What each user class comes back as: the nearest class of its chain that is weft's or built-in. */
const expected: Record<string, string> = {
  // Before: weft's KeyboardInterrupt (its chain, KeyboardInterrupt < Error, is weft's class's)
  // and queue.Empty (by its name), both unregistered user classes.
  Empty: 'Error Empty: mine',
  KeyboardInterrupt: 'Error KeyboardInterrupt: mine',
  Full: 'RangeError RangeError: mine',
  // A subclass that declares no `kind` is named by its class, as Python's.
  Drained: 'queue.Empty Drained: mine',
  // Before: multiprocessing's KeyError, whose chain selectors' shares.
  NoSuchFd: 'selectors.KeyError NoSuchFd: fd 9',
  // Before: refused registration as a second 'KeyError' / 'Full' (it had its parent's kind).
  FdGone: 'FdGone FdGone: fd 8',
  PoolGone: 'PoolGone PoolGone: no slot',
};

type Executor = ThreadPoolExecutor | ProcessPoolExecutor;
const executors: Array<[string, () => Executor]> = [
  ['a thread', () => new ThreadPoolExecutor({ maxWorkers: 1 })],
  ['a process', () => new ProcessPoolExecutor({ maxWorkers: 1 })],
];

for (const [where, make_] of executors) {
  describe(`an error from ${where}`, () => {
    /** `body` with an executor of its own: each test's workers are gone when it ends. */
    const using = async (body: (ex: Executor) => Promise<void>): Promise<void> => {
      const ex = make_();
      try {
        await body(ex);
      } finally {
        await ex.shutdown();
      }
    };

    test('a user class comes back as itself only when registered on both sides, else as its nearest weft or built-in class, its name and message kept', () =>
      using(async (ex) => {
        const got: Record<string, string> = {};
        for (const label of Object.keys(expected))
          got[label] = said(await ex.submit(raise, label).exception());
        assert.deepEqual(got, expected);
      }));

    test('going to it, as an argument, the same', () =>
      using(async (ex) => {
        const got: Record<string, string> = {};
        for (const label of Object.keys(expected))
          got[label] = await ex.submit(describeThere, (make[label] as () => Error)()).result();
        assert.deepEqual(got, expected);
      }));

    test('a cause chain 5,000 deep arrives cut at the documented depth, the error itself whole', () =>
      using(async (ex) => {
        // Before: the encoder's (or the serializer's) stack overflowed, and the future failed
        // with a NotCloneableError instead.
        const e = (await ex.submit(raise, 'deep').exception()) as Error;
        assert.equal(e.constructor, Error);
        assert.equal(e.message, 'level 5000');
        const messages: string[] = [];
        // Each error's cause is its remote stack, whose cause is the next error.
        for (let x: unknown = e; x instanceof Error; x = (x.cause as Error | undefined)?.cause)
          messages.push(x.message);
        assert.equal(messages.length, MAX_ERROR_DEPTH + 1);
        assert.equal(messages[MAX_ERROR_DEPTH - 1], `level ${5001 - MAX_ERROR_DEPTH}`);
        assert.match(
          messages[MAX_ERROR_DEPTH] as string,
          new RegExp(
            `^${5001 - MAX_ERROR_DEPTH} more errors not sent, from Error: level ${5000 - MAX_ERROR_DEPTH}`,
          ),
        );
      }));

    test('a ClientResponseError keeps its history: each redirect response’s head', () =>
      using(async (ex) => {
        // Before: history arrived [] (its responses are not cloneable, so the field was dropped).
        const e = (await ex.submit(raise, 'history').exception()) as ClientResponseError;
        assert.equal(e.constructor, ClientResponseError);
        assert.equal(e.history.length, 1);
        const hop = e.history[0]!;
        assert.equal(hop.status, 302);
        assert.equal(hop.reason, 'Found');
        assert.equal(hop.method, 'GET');
        assert.ok(hop.url instanceof URL);
        assert.equal(hop.url.href, 'http://example.test/a');
        assert.ok(hop.headers instanceof Headers);
        assert.equal(hop.headers.get('location'), '/b');
        assert.deepEqual(hop.history, []);
        assert.equal(hop.requestInfo.headers.get('accept'), '*/*');
      }));
  });
}

describe('in one thread', () => {
  const cross = (err: unknown): Error => decodeError(structuredClone(encodeError(err)));

  test('a chain exactly as deep as the limit is whole; one deeper is cut', () => {
    const chain = (n: number): Error => {
      let e = new Error('e0');
      for (let i = 1; i < n; i++) e = new Error(`e${i}`, { cause: e });
      return e;
    };
    const count = (e: Error): string[] => {
      const out: string[] = [];
      for (let x: unknown = e; x instanceof Error; x = (x.cause as Error | undefined)?.cause)
        out.push(x.message);
      return out;
    };
    const whole = count(cross(chain(MAX_ERROR_DEPTH)));
    assert.equal(whole.length, MAX_ERROR_DEPTH);
    assert.equal(whole.at(-1), 'e0');
    const cut = count(cross(chain(MAX_ERROR_DEPTH + 1)));
    assert.equal(cut.length, MAX_ERROR_DEPTH + 1);
    assert.match(cut.at(-1) as string, /^1 more error not sent, from Error: e0/);
  });

  test('groups nest into the same depth: a group of groups 5,000 deep is cut, not a stack overflow', () => {
    let e: Error = new Error('leaf');
    for (let i = 0; i < 5000; i++) e = new AggregateError([e], `group ${i}`);
    const back = cross(e) as AggregateError;
    assert.equal(back.message, 'group 4999');
    let depth = 0;
    for (let x: unknown = back; x instanceof AggregateError; x = x.errors[0]) depth++;
    assert.equal(depth, MAX_ERROR_DEPTH);
  });

  test('a frame that does not say which classes its sender registered is read as before', () => {
    // A peer of another version, or one built by hand: its class by its chain.
    const frame = encodeError(new selectors.KeyError('fd 1'));
    delete frame.known;
    assert.equal(decodeError(structuredClone(frame)).constructor, selectors.KeyError);
  });
});

describe('deep errors and a thread of the least stack', () => {
  test('a chain and a group 5,000 deep cross both ways to a thread of MIN_STACK_SIZE, cut', async () => {
    // Before (cut at 1,000): the worker's encoder overflowed (BrokenThreadPool) one way, and its
    // deserializer dropped the task's message the other (the future never settled).
    const ex = new ThreadPoolExecutor({
      maxWorkers: 1,
      resourceLimits: { stackSizeMb: MIN_STACK_SIZE / (1024 * 1024) },
    });
    try {
      for (const label of ['deep', 'deepGroup']) {
        // A bound against the hang only: it fails the test instead of the file.
        const back = (await ex.submit(raise, label).exception({ timeout: 60_000 })) as Error;
        assert.equal(back.constructor, label === 'deep' ? Error : AggregateError, label);
        assert.equal(back.message, label === 'deep' ? 'level 5000' : 'group 5000');
        const there = await ex
          .submit(depthThere, (make[label] as () => Error)())
          .result({ timeout: 60_000 });
        assert.equal(there, MAX_ERROR_DEPTH + 1, label);
      }
    } finally {
      await ex.shutdown();
    }
  });

  test('the error that stands for those cut counts a group’s errors too', () => {
    let e: Error = new Error('leaf');
    for (let i = 0; i < 150; i++) e = new AggregateError([e, new Error(`side ${i}`)], `group ${i}`);
    const back = decodeError(structuredClone(encodeError(e)));
    let x: unknown = back;
    for (let i = 0; i < MAX_ERROR_DEPTH; i++) x = (x as AggregateError).errors[0];
    // Groups 49 down to 0, their side errors and the leaf; before: 1 (its causes only).
    assert.match((x as Error).message, /^101 more errors not sent, from AggregateError: group 49:/);
  });
});

describe('a user subclass of a weft class that declares no kind of its own', () => {
  class PoolGone extends gevent.Full {}
  class Late extends TimeoutError {}
  class Later extends Late {}
  class Groups extends ExceptionGroup {}
  class Interrupted extends KeyboardInterrupt {}
  class Past extends mp.IndexError {}

  test('instanceof answers for its own instances only; its parents’ still hold', () => {
    // Before: by its inherited kind, every gevent Full was a PoolGone, every TimeoutError a Late.
    assert.equal(new gevent.Full() instanceof PoolGone, false);
    assert.equal(new TimeoutError() instanceof Late, false);
    assert.equal(new Late() instanceof Later, false);
    assert.equal(new ExceptionGroup('g', []) instanceof Groups, false);
    assert.equal(new KeyboardInterrupt() instanceof Interrupted, false);
    assert.equal(new mp.IndexError('i') instanceof Past, false);
    const gone = new PoolGone();
    for (const C of [PoolGone, gevent.Full, asyncio.QueueFull, WeftError, Error])
      assert.ok(gone instanceof C, C.name);
    const later = new Later();
    for (const C of [Later, Late, TimeoutError, WeftError]) assert.ok(later instanceof C, C.name);
    assert.ok(new Groups('g', []) instanceof ExceptionGroup);
    assert.ok(new Interrupted() instanceof KeyboardInterrupt);
    assert.ok(new Past('p') instanceof mp.IndexError);
  });

  test('it is named by its class, as Python’s, and its brand names its parents once each', () => {
    // Before: 'Full', 'TimeoutError', 'ExceptionGroup', and the brand ['Full', 'Full', …].
    assert.equal(new PoolGone().name, 'PoolGone');
    assert.equal(new Later().name, 'Later');
    assert.equal(new Groups('g', []).name, 'Groups');
    assert.equal(new Interrupted().name, 'Interrupted');
    assert.equal(new gevent.Full().name, 'Full');
    const brand = brandOf(new PoolGone()) ?? [];
    assert.deepEqual(brand, brandOf(new gevent.Full()));
  });
});

describe('a frame read by a receiver older than homeAt', () => {
  test('home is sent as the error’s own class only where no registered class comes before it', () => {
    // Such a receiver takes `home` for the error's own class: a user's registered subclass of
    // selectors' KeyError (before: home sent) came back there as selectors' KeyError.
    class FdClosed extends selectors.KeyError {
      static override readonly kind: string = 'FdClosed';
    }
    registerUserErrorClass(FdClosed);
    const frame = encodeError(new FdClosed('fd 3'));
    assert.equal(frame.home, undefined);
    assert.equal(decodeError(structuredClone(frame)).constructor, FdClosed);
    // A receiver without FdClosed still tells selectors' KeyError from multiprocessing's.
    const unknownHere = {
      ...structuredClone(frame),
      chain: ['NotHere', ...(frame.chain ?? []).slice(1)],
    };
    assert.equal(decodeError(unknownHere).constructor, selectors.KeyError);
    // An unregistered subclass: `home` as before, which such a receiver reads rightly.
    assert.equal(typeof encodeError(new (class extends selectors.KeyError {})('x')).home, 'string');
  });
});

describe('two copies of weft in one process', () => {
  test('a class an older copy registered (in the shared maps only) crosses as itself', () => {
    // An older copy's registerErrorClass: the class in `byChain` by its chain, nothing else.
    class OldCopyError extends Error {
      static readonly kind = 'OldCopyError';
    }
    const registry = (globalThis as Record<symbol, { byChain: Map<string, unknown> }>)[
      Symbol.for('weft.errorClasses')
    ] as { byChain: Map<string, unknown> };
    registry.byChain.set('OldCopyError\nError', OldCopyError);
    try {
      const back = decodeError(structuredClone(encodeError(new OldCopyError('old'))));
      // Before: not among the sender's known classes, so an Error named 'Error'.
      assert.equal(back.constructor, OldCopyError);
      assert.equal(back.message, 'old');
    } finally {
      registry.byChain.delete('OldCopyError\nError');
    }
  });
});
