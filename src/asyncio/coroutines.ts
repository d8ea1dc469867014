/**
 * `inspect.iscoroutinefunction` for JavaScript: true for `async function`s (and async
 * generator functions), which return a promise when called.
 */
export function iscoroutinefunction(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  const name = fn.constructor?.name;
  return name === 'AsyncFunction' || name === 'AsyncGeneratorFunction';
}

/**
 * `asyncio.iscoroutine` for JavaScript: true for a native promise, what calling an async
 * function gives. (Unlike a Python coroutine it is already running.)
 */
export function iscoroutine(x: unknown): boolean {
  return x instanceof Promise;
}
