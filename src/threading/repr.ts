/**
 * The key util.inspect looks for (`util.inspect.custom`), reached through the global symbol
 * registry so that the primitives need not import node:util: their repr is Python's short one,
 * not a dump of the shared memory they live in.
 */
export const inspectCustom: unique symbol = Symbol.for('nodejs.util.inspect.custom') as never;
