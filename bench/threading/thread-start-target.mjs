/** The target of bench/threading/thread-start.mjs's threads: a module of its own, so that a
 * thread imports this small file rather than the bench script (which would start threads). */
export function returnAtOnce() {}
