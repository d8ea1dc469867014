/**
 * Compile-time assertions for the type tests of test/types/: `tsc --noEmit -p .` (part of
 * `npm test`) checks them; at run time the files only import this module.
 *
 * `const _: Expect<Equal<typeof r, Promise<number[]>>> = true;` compiles only when the two types
 * are identical (not merely assignable either way), and `// @ts-expect-error` marks a call that
 * must not compile: the suite fails if it ever does.
 */

/** `true` when `X` and `Y` are the same type (`any` equals only `any`). */
export type Equal<X, Y> =
  (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
export type Expect<T extends true> = T;
