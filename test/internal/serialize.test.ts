/** encode/decode of values that carry shared objects (src/internal/serialize.ts). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import {
  decode,
  decodeError,
  encode,
  encodeError,
  registerUserErrorClass,
} from '../../src/internal/serialize.js';
import { Lock } from '../../src/threading/index.js';
import { checkLeaks } from '../support/leaks.js';

checkLeaks();

describe('serialize', () => {
  test('a shared object met twice in one value decodes to one revived object', () => {
    const lock = new Lock();
    const back = decode(structuredClone(encode([lock, { again: lock }], 'message'))) as [
      Lock,
      { again: Lock },
    ];
    assert.ok(back[0] instanceof Lock, 'revived');
    assert.equal(back[1].again, back[0], 'the second meeting is the same revived object');
  });

  test('a sparse array keeps its holes, as structuredClone does (helper-97: they came back undefined)', () => {
    const lock = new Lock();
    const sparse = (...items: [number, unknown][]): unknown[] => {
      const a: unknown[] = new Array(3);
      for (const [i, x] of items) a[i] = x;
      return a;
    };
    // Plain, and beside a shared object (the path that copies the array).
    for (const value of [sparse([0, 1], [2, { x: 1 }]), sparse([0, lock], [2, 3])]) {
      for (const carrier of ['message', 'bytes'] as const) {
        const wire = encode(value, carrier);
        const back = decode(
          carrier === 'bytes' ? v8.deserialize(v8.serialize(wire)) : structuredClone(wire),
        ) as unknown[];
        assert.equal(back.length, 3);
        assert.equal(1 in back, false, `${carrier}: the hole stays a hole`);
        assert.equal(0 in back && 2 in back, true);
      }
    }
  });

  test('an Error met twice decodes to one Error', () => {
    const e = new RangeError('x');
    const back = decode(structuredClone(encode([e, e], 'message'))) as [Error, Error];
    assert.ok(back[0] instanceof RangeError);
    assert.equal(back[1], back[0]);
  });

  test('cycles survive, with the shared objects inside them revived (message and bytes)', () => {
    const lock = new Lock();
    type Node = {
      name: string;
      self?: Node;
      lock?: Lock;
      list?: unknown[];
      map?: Map<string, unknown>;
    };
    const before: Node = { name: 'before' };
    before.self = before; // met again before the lock is: the walk gave the original back
    before.lock = lock;
    const after: Node = { name: 'after', lock };
    after.self = after;
    const list: unknown[] = [lock];
    const through: Node = { name: 'through', list };
    list.push(through);
    const map = new Map<string, unknown>([['lock', lock]]);
    const viaMap: Node = { name: 'map', map };
    map.set('back', viaMap);
    const carriers: Array<[string, (v: unknown) => unknown]> = [
      ['message', (v) => decode(structuredClone(encode(v, 'message')))],
      ['bytes', (v) => decode(v8.deserialize(v8.serialize(encode(v, 'bytes'))))],
    ];
    for (const [carrier, trip] of carriers) {
      const [b, a, t, m] = trip([before, after, through, viaMap]) as Node[];
      for (const n of [b, a] as Node[]) {
        assert.equal(n.self, n, `${carrier} ${n.name}: the cycle points at the copy`);
        assert.ok(n.lock instanceof Lock, `${carrier} ${n.name}: the lock is revived`);
      }
      assert.equal(b?.lock, a?.lock, `${carrier}: one lock met in two places is one object`);
      assert.ok((t?.list?.[0] as unknown) instanceof Lock, `${carrier}: lock in the list`);
      assert.equal(t?.list?.[1], t, `${carrier}: the list's cycle`);
      assert.ok(m?.map?.get('lock') instanceof Lock, `${carrier}: lock in the map`);
      assert.equal(m?.map?.get('back'), m, `${carrier}: the map's cycle`);
    }
  });

  test('a cycle with nothing to replace is passed as it is (no copy)', () => {
    const a: { self?: unknown; when: Date } = { when: new Date(0) };
    a.self = a;
    assert.equal(encode(a, 'message'), a);
  });

  test('registerErrorClass refuses what is not an Error class, and a second class of a known name', () => {
    // @ts-expect-error: not a class
    assert.throws(() => registerUserErrorClass('MyError'), TypeError);
    // @ts-expect-error: a class that does not extend Error
    assert.throws(() => registerUserErrorClass(class Plain {}), /class extending Error/);
    class Twice extends Error {}
    registerUserErrorClass(Twice);
    registerUserErrorClass(Twice); // the same class again: nothing to refuse
    const Other = class Twice extends Error {};
    assert.throws(() => registerUserErrorClass(Other), /another error class named 'Twice'/);
    const Impostor = class extends Error {};
    Object.defineProperty(Impostor, 'name', { value: 'TypeError' });
    assert.throws(
      () => registerUserErrorClass(Impostor),
      /named 'TypeError'/,
      'nor may a user class take a built-in name',
    );
  });

  test('a registered class whose constructor refuses a message still comes back as itself', () => {
    class Strict extends Error {
      constructor(readonly n: number) {
        if (typeof n !== 'number') throw new TypeError('Strict needs a number');
        super(`n is ${n}`);
        this.name = 'Strict';
      }
    }
    registerUserErrorClass(Strict);
    const back = decodeError(structuredClone(encodeError(new Strict(3))));
    assert.ok(back instanceof Strict);
    assert.ok(back instanceof Error);
    assert.equal(back.message, 'n is 3');
    assert.equal(back.n, 3, 'its fields are carried');
    assert.equal(back.name, 'Strict');
  });

  test('a cause chain that loops back is cut where it loops', () => {
    const a = new Error('A');
    const b = new Error('B', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const back = decodeError(structuredClone(encodeError(b)));
    assert.equal(back.message, 'B');
    const aBack = (back.cause as Error).cause as Error;
    assert.equal(aBack.message, 'A');
    const cut = (aBack.cause as Error).cause;
    assert.match(String(cut), /circular cause: Error: B/);
    const group = new AggregateError([], 'G');
    group.errors.push(group);
    const g = decodeError(structuredClone(encodeError(group))) as AggregateError;
    assert.match(String(g.errors[0]), /circular/);
  });

  test('an error crossing twice keeps one RemoteStack, with the first stack', () => {
    const first = new RangeError('far', { cause: new TypeError('root') });
    const once = decodeError(structuredClone(encodeError(first)));
    const twice = decodeError(structuredClone(encodeError(once)));
    assert.ok(twice instanceof RangeError);
    const remote = twice.cause as Error;
    assert.equal(remote.name, 'RemoteStack');
    assert.equal(remote.stack, first.stack, 'the stack where it was raised');
    const root = remote.cause as Error;
    assert.ok(root instanceof TypeError, 'then the original cause, not a second RemoteStack');
    assert.equal(root.message, 'root');
  });
});
