/**
 * `inspect.iscoroutinefunction` for JavaScript: true for `async function`s, which return a
 * promise when called. False for async generator functions, as Python's is for `async def`
 * with `yield` (they return an async iterator, not something to await).
 */
export function iscoroutinefunction(fn: unknown): boolean {
  return typeof fn === 'function' && fn.constructor?.name === 'AsyncFunction';
}

/**
 * `asyncio.iscoroutine` for JavaScript: true for a native promise, what calling an async
 * function gives. (Unlike a Python coroutine it is already running.)
 */
export function iscoroutine(x: unknown): boolean {
  return x instanceof Promise;
}
