/**
 * Types (no runtime code) tying a function to the arguments weft will call it with, so that a
 * call Python would refuse with a TypeError (a missing argument, one of the wrong type) fails to
 * compile instead: `Pool.apply(fn, args, kwds)`, `Executor.map(fn, iterables)`, `new Timer(ms,
 * fn, args, kwargs)`, a pool's `initializer` and `initargs`, and `ThreadOptions` and
 * `ProcessOptions` (`target`, `args`, `kwargs`).
 *
 * The function (`F`) and the arguments (`A`, a `const` type parameter where it is declared, so
 * that `'put'` stays `'put'` for a parameter typed `'put' | 'get'`) are inferred apart, then
 * `F` is checked against a call with `A` (see Accepting).
 */

/**
 * The constraint of an argument-list type parameter: the `[]` makes an array literal infer as a
 * tuple (`[1, 'a']` → `[number, string]`) rather than an array (`(string | number)[]`).
 */
export type ArgList = [] | readonly unknown[];

/** Any function: the constraint of `F`. */
export type AnyFn = (...args: any[]) => unknown;

/**
 * `F` itself when it can be called with arguments of types `P`, else the signature it should
 * have (which the compile error then shows). TypeScript's rule for a callback applies: a
 * function may take fewer parameters than it is given (weft passes the extra arguments and the
 * function ignores them); a missing argument or one of the wrong type fails.
 */
export type Accepting<F, P extends readonly unknown[]> =
  // First against `P` itself: for a generic caller (`fn: (...a: A) => R` given `args: A`)
  // TypeScript resolves this one, where the loosened form below would stay unresolved and refuse
  // the call. Then loosened (see Params), for the literals a `const` parameter infers.
  F extends (...args: P) => unknown
    ? F
    : F extends (...args: Params<P>) => unknown
      ? F
      : NoInfer<(...args: Params<P>) => unknown>;

/**
 * The parameters a function given arguments `P` must take: a list of known length checked
 * position by position; an array of unknown length element by element, and not at all when its
 * element type is `unknown` (arguments forwarded from a `...args: unknown[]`).
 */
type Params<P extends readonly unknown[]> = number extends P['length']
  ? unknown extends P[number]
    ? any[]
    : Loose<P[number]>[]
  : Loose<P> extends infer L extends unknown[]
    ? L
    : never;

/**
 * What a target called with `args` (`A`) and `kwargs` (`K`) receives, Python's
 * `target(*args, **kwargs)` in weft's shape: `args`, then `kwargs` as one trailing object.
 * `null`, `undefined` and `{}` are no keywords (Python's `**{}`): no trailing object.
 */
export type CallArgs<A extends readonly unknown[], K> = [K] extends [null | undefined]
  ? [...A]
  : keyof NonNullable<K> extends never
    ? [...A]
    : [...A, NonNullable<K>];

/** The type of a `kwargs` (or `kwds`) argument: an object whose keys are the keywords, or none. */
export type Kwargs = object | null | undefined;

/** One iterable per parameter, for a map that zips them (Python's `map(fn, *iterables)`). */
export type IterablesOf<A extends readonly unknown[]> = { [I in keyof A]: Iterable<A[I]> };

/**
 * `T` without the `readonly` a `const` type parameter adds to array and object literals
 * (`[[1, 2]]` infers `readonly [readonly [1, 2]]`, which a parameter `number[]` would refuse),
 * at every depth. An object whose mutable copy is not assignable to it (a class instance with
 * private members) is left as it is.
 */
type Loose<T> = T extends AnyFn
  ? T
  : T extends readonly unknown[]
    ? { -readonly [I in keyof T]: Loose<T[I]> }
    : T extends object
      ? LooseObject<T>
      : T;

type LooseObject<T> = { -readonly [P in keyof T]: Loose<T[P]> } extends infer M
  ? M extends T
    ? M
    : T
  : T;
