/**
 * Who this process is, in multiprocessing's terms: `MainProcess` at the root, or the child a
 * parent started (its name, daemon flag and the parent's pid, handed over at boot).
 */
export interface Identity {
  name: string;
  daemon: boolean;
  parentPid: number | null;
  parentName: string | null;
  /** Children started here are named `${prefix}${n}`: `Process-` at the root, `Process-1:` below. */
  childPrefix: string;
}

const KEY = Symbol.for('weft.mp.identity');
const holder = globalThis as unknown as { [KEY]?: Identity };

export function identity(): Identity {
  holder[KEY] ??= {
    name: 'MainProcess',
    daemon: false,
    parentPid: null,
    parentName: null,
    childPrefix: 'Process-',
  };
  return holder[KEY];
}

export function setIdentity(id: Identity): void {
  holder[KEY] = id;
}
