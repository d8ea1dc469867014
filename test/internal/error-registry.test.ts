/**
 * Which class an error that crossed is rebuilt as, at the edges (src/internal/error-registry.ts):
 * a user's class named as a weft one, a peer's frame naming Object.prototype's keys, fields whose
 * graph shares parts or loops, and an older copy of weft loaded after this one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { QueueFull } from '../../src/asyncio/errors.js';
import { run } from '../../src/asyncio/run.js';
import { sleep } from '../../src/asyncio/sleep.js';
import * as gevent from '../../src/gevent/errors.js';
import { Timeout } from '../../src/gevent/timeout.js';
import {
  decodeError,
  encodeError,
  registerUserErrorClass,
  TAG,
} from '../../src/internal/serialize.js';
import { OSError } from '../../src/socket/errors.js';
import { ClientError } from '../../src/web/errors.js';
import { HTTPError, HTTPNotFound } from '../../src/web/http-exceptions.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

/** `err` as the other side of a thread or process gets it. */
const cross = (err: unknown): Error => decodeError(structuredClone(encodeError(err)));

describe('error classes by name', () => {
  test('a user class named as a weft class of a loaded module is its own: registered or not, it never comes back as weft’s', () => {
    // Before: weft/web, socket and asyncio registered all their classes by name, so the user's
    // unregistered ClientError came back as weft's (code ERR_WEFT_CLIENT), and registering
    // the user's HTTPError threw, or not, by which module was imported first.
    const mine = {
      ClientError: class ClientError extends Error {},
      OSError: class OSError extends Error {},
      QueueFull: class QueueFull extends Error {},
      HTTPError: class HTTPError extends Error {},
    };
    for (const [name, C] of Object.entries(mine)) {
      const back = cross(new C('mine'));
      assert.equal(back.constructor, Error, `${name}: unregistered, the nearest built-in class`);
      assert.equal((back as { code?: unknown }).code, undefined, `${name}: no code of weft's`);
    }
    assert.equal(cross(new mine.ClientError('x')) instanceof ClientError, false);
    assert.equal(cross(new mine.OSError('x')) instanceof OSError, false);
    assert.equal(cross(new mine.QueueFull('x')) instanceof QueueFull, false);
    for (const C of Object.values(mine)) registerUserErrorClass(C);
    for (const [name, C] of Object.entries(mine)) {
      assert.equal(cross(new C('mine')).constructor, C, `${name}: registered, itself`);
    }
    // weft's own still come back as theirs.
    const weft = cross(new ClientError('weft'));
    assert.equal(weft.constructor, ClientError);
    const notFound = cross(new HTTPNotFound());
    assert.equal(notFound.constructor, HTTPNotFound);
    assert.ok(notFound instanceof HTTPError);
    assert.equal(notFound instanceof mine.HTTPError, false);
  });

  test('a user class with a weft class’s name and chain is refused, as one of a name weft keeps', () => {
    class PoolFull extends gevent.Full {
      static override readonly kind: string = 'PoolFull';
    }
    assert.throws(() => registerUserErrorClass(PoolFull), /another error class named 'PoolFull'/);
    assert.equal(cross(new gevent.PoolFull()).constructor, gevent.PoolFull);
  });

  test('a frame naming a key of Object.prototype as its class or name is rebuilt as an Error', () => {
    // Before: 'constructor' found Object (the error arrived as a String object), 'toString'
    // and the others a method, and decoding threw a TypeError.
    for (const key of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      const named = new Error('m');
      named.name = key;
      const back = cross(named);
      assert.ok(back instanceof Error, `name ${key}`);
      assert.equal(back.name, key);
      assert.equal(back.message, 'm');
      const chained = decodeError({
        [TAG]: 'Error',
        name: 'Error',
        message: 'm',
        stack: '',
        chain: [key, key],
      });
      assert.equal(chained.constructor, Error, `chain ${key}`);
    }
  });

  test('a peer’s frame of the wrong shape is still rebuilt as an Error', () => {
    const back = decodeError(
      structuredClone({
        [TAG]: 'Error',
        name: { not: 'a name' },
        message: 'm',
        stack: '',
        chain: 7,
        errors: 'not a list',
        home: ['x'],
      }) as never,
    );
    assert.ok(back instanceof Error);
    assert.equal(back.message, 'm');
    // A chain longer than any sender's is looked up by its first classes only (each suffix of
    // all 20000 took half a minute).
    const long = decodeError({
      [TAG]: 'Error',
      name: 'RangeError',
      message: 'long',
      stack: '',
      chain: [...Array.from({ length: 20_000 }, (_, i) => `C${i}`), 'RangeError'],
    });
    assert.equal(long.constructor, RangeError, 'by its name, its chain not known here');
  });

  test('a field named __proto__ stays a field: the error keeps its class', () => {
    const frame = structuredClone({
      [TAG]: 'Error',
      name: 'TypeError',
      message: 'm',
      stack: '',
      props: JSON.parse('{"__proto__": {"polluted": true}, "other": 1}'),
    });
    const back = decodeError(frame as never) as TypeError & { polluted?: unknown; other?: unknown };
    assert.ok(back instanceof TypeError);
    assert.equal(Object.getPrototypeOf(back), TypeError.prototype);
    assert.equal(back.polluted, undefined);
    assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, {
      polluted: true,
    });
    assert.equal(back.other, 1);
  });
});

describe('a class whose constructor refuses a message', () => {
  test('a gevent Timeout that crossed is made by its constructor: not pending, cancelled and started again', async () => {
    // Before: `new Timeout(message)` threw, and the instance made without its constructor had
    // none of its class fields: start() threw a TypeError, and a copy of a pending Timeout
    // said it was pending and threw from cancel().
    const back = cross(new Timeout(250)) as Timeout;
    assert.equal(back.constructor, Timeout);
    assert.equal(back.ms, 250);
    assert.equal(back.message, 'Timed out after 250 ms');
    assert.equal(back.pending, false);
    back.cancel();
    await run(async () => {
      back.start();
      assert.equal(back.pending, true);
      await sleep(0);
      back.cancel();
      assert.equal(back.pending, false);
      // Its timer and its task stay where it was armed.
      const armed = new Timeout(60_000).start();
      const copy = cross(armed) as Timeout;
      armed.cancel();
      assert.equal(copy.pending, false);
      copy.cancel();
    });
  });
});

describe('error fields', () => {
  test('a field whose graph shares parts and loops crosses with its shape, its Buffer a Buffer', () => {
    // Before: the walk that turns Buffers, Headers and URLs into data unrolled shared parts and
    // cycles into copies, eight levels deep, one walk per path.
    const graph: Record<string, unknown> = { data: Buffer.from('abc') };
    graph.self = graph;
    graph.twin = graph;
    graph.list = [graph, graph.data];
    const back = cross(Object.assign(new Error('g'), { graph })) as Error & {
      graph: Record<string, unknown>;
    };
    const g = back.graph;
    assert.ok(Buffer.isBuffer(g.data));
    assert.equal((g.data as Buffer).toString(), 'abc');
    assert.equal(g.self, g, 'the cycle is kept');
    assert.equal(g.twin, g);
    assert.equal((g.list as unknown[])[0], g);
    assert.equal((g.list as unknown[])[1], g.data, 'one Buffer, met twice');
  });

  test('a field whose graph fans out over itself crosses at once, both ways', {
    timeout: 60_000,
  }, () => {
    // Twelve keys to itself: a walk per path, eight deep, is 12^8 steps (it hung).
    const fan: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++) fan[`k${i}`] = fan;
    const back = cross(Object.assign(new Error('f'), { fan })) as Error & {
      fan: Record<string, unknown>;
    };
    assert.equal(back.fan.k11, back.fan);
    // A peer's frame that shares one Buffer descriptor twelve ways decodes to one Buffer.
    const d = { [TAG]: 'Buffer', v: new Uint8Array([1, 2]) };
    const node: Record<string, unknown> = {};
    for (let i = 0; i < 12; i++) node[`k${i}`] = i === 0 ? d : node;
    const peer = decodeError(
      structuredClone({
        [TAG]: 'Error',
        name: 'Error',
        message: 'p',
        stack: '',
        props: { node, again: d },
      }) as never,
    ) as Error & { node: Record<string, unknown>; again: unknown };
    assert.ok(Buffer.isBuffer(peer.node.k0));
    assert.equal(peer.again, peer.node.k0);
    assert.equal(peer.node.k5, peer.node);
  });
});

describe('two copies of weft in one process', () => {
  test('the shared holder keeps the error map an older copy registers into at import', () => {
    // Before: a newer copy loaded first left it out, and an older copy's import threw
    // "Cannot read properties of undefined (reading 'has')".
    const holder = (globalThis as unknown as Record<symbol, { errors?: unknown }>)[
      Symbol.for('weft.sharedKinds')
    ];
    assert.ok(holder?.errors instanceof Map);
  });
});

test("an anonymous subclass of a weft class is named by the kind it inherits, but keyed '' in its chain", () => {
  const Anonymous = (() => class extends gevent.Full {})();
  assert.equal(Anonymous.name, '');
  const err = new Anonymous('full');
  assert.equal(err.name, 'Full', "named as JavaScript names an anonymous class's instance");
  const sent = encodeError(err);
  assert.equal(sent.chain?.[0], '', 'its own key is its name, not its parent kind');
  assert.deepEqual(sent.chain?.slice(1), encodeError(new gevent.Full('x')).chain);
  const back = decodeError(structuredClone(sent));
  assert.ok(back instanceof gevent.Full);
  assert.equal(back.name, 'Full');
});
