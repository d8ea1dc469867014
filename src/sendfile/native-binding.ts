/**
 * Loads the sendfile addon (native/sendfile.c) if it was built at install time. Nothing here
 * throws: a missing addon means weft/sendfile uses its copy loop.
 */
import { createRequire } from 'node:module';
import { debuglog } from 'node:util';

export interface SendfileBinding {
  sendfileSlice(
    sockFd: number,
    fileFd: number,
    offset: number,
    count: number,
    cb: (errno: number, sent: number, eof: boolean) => void,
  ): void;
}

const debug = debuglog('weft');

function load(): SendfileBinding | null {
  if (process.env.WEFT_NO_NATIVE === '1') {
    debug('sendfile: WEFT_NO_NATIVE=1, using the copy loop');
    return null;
  }
  if (process.platform !== 'linux') return null;
  const require = createRequire(import.meta.url);
  // src/sendfile/ and dist/sendfile/ are both two levels below the package root.
  for (const rel of ['../../native/build/Release/weft_sendfile.node']) {
    try {
      return require(rel) as SendfileBinding;
    } catch (e) {
      debug('sendfile: addon not loaded from %s: %s', rel, (e as Error).message);
    }
  }
  return null;
}

export const binding: SendfileBinding | null = load();
