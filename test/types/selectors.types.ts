/**
 * weft/selectors' signatures: the data registered with a socket comes back typed from
 * `select()`, `getKey()` and `getMap()`. Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as selectors from '../../src/selectors/index.js';
import type { Socket } from '../../src/socket/index.js';
import type { Equal, Expect } from './expect.js';

type Callback = (sock: Socket, mask: number) => void;
declare const sel: selectors.DefaultSelector<Callback>;
declare const plain: selectors.DefaultSelector;
declare const epoll: selectors.EpollSelector<string>;
declare const sock: Socket;
declare const accept: Callback;
declare const READ: typeof selectors.EVENT_READ;

export async function selector_data(): Promise<void> {
  sel.register(sock, READ, accept);
  for (const [key, mask] of await sel.select()) key.data?.(key.fileobj, mask);
  const k = sel.getKey(sock);
  const _k: Expect<Equal<typeof k.data, Callback | undefined>> = true;
  // @ts-expect-error: data of another type than the selector's
  sel.register(sock, READ, 'accept');
  // @ts-expect-error
  sel.modify(sock, READ, 42);
  const [first] = await epoll.select();
  if (first) {
    const _e: Expect<Equal<(typeof first)[0]['data'], string | undefined>> = true;
  }
  // Without a type argument the data is anything, as Python's.
  const key = plain.register(sock, READ, 'x');
  const _p: Expect<Equal<typeof key.data, string | undefined>> = true;
  const [any] = await plain.select();
  if (any) {
    const _a: Expect<Equal<(typeof any)[0]['data'], unknown>> = true;
  }
}
