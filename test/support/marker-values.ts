/**
 * Values shaped like weft's own encoding (serialize.ts: a descriptor `{ __weft$: kind, s }`, an
 * error `{ __weft$: 'Error', … }`, a buffer id `{ $sab: n }`, an escape `{ __weft$: 'escaped',
 * o }`), as a caller's data may be, at any depth of JSON-like values: what every carrier must
 * give back exactly (test/queue/user-markers.test.ts, test/multiprocessing/user-markers.test.ts).
 */
import fc from 'fast-check';

const KINDS = [
  'escaped',
  'Error',
  'threading.Lock',
  'queue.Queue',
  'mp:Connection',
  'mp:Queue',
  'x',
];

const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...KINDS),
);

const key = fc.oneof(
  fc.constantFrom('__weft$', '$sab', 's', 'o', 'v', 'message', 'name', 'stack'),
  fc.string({ maxLength: 4 }).filter((k) => k !== '__proto__'),
);

const tree = fc.letrec<{ value: unknown; array: unknown[]; object: unknown; marker: unknown }>(
  (tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      tie('array'),
      tie('object'),
      tie('marker'),
    ),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
    marker: fc.oneof(
      fc.record({ __weft$: fc.constantFrom(...KINDS), s: tie('value') }),
      fc.record({ $sab: fc.nat(3) }),
      fc.record({ __weft$: fc.constant('escaped'), o: tie('value') }),
      fc.record({
        __weft$: fc.constant('Error'),
        name: fc.constant('TypeError'),
        message: fc.string({ maxLength: 4 }),
        stack: fc.constant(''),
      }),
    ),
  }),
);

/** JSON-like values with marker-shaped objects anywhere (the first ones always hold some). */
export const markerValue = tree.value;

/** A fixed sample (same seed, same values): many values through one carrier at once. */
export function markerSample(n: number, seed = 4242): unknown[] {
  const fixed: unknown[] = [
    { $sab: 3 },
    { $sab: 0 },
    { __weft$: 'x', s: {} },
    { __weft$: 'threading.Lock', s: { a: 1 } },
    { __weft$: 'Error', name: 'TypeError', message: 'not an error', stack: '' },
    { __weft$: 'escaped', o: { $sab: 1 } },
    [1, { deep: [{ $sab: 2 }, { __weft$: 'mp:Queue', s: null }] }],
  ];
  return [...fixed, ...fc.sample(tree.value, { numRuns: n, seed })];
}
