/**
 * `new Thread({ target, args, kwargs })` and `new Process({ … })`: the target must accept
 * `args` and then `kwargs`, as Python's `target(*args, **kwargs)` must (a TypeError in the thread
 * or child). A misuse fails to compile (`@ts-expect-error`: tsc fails if the line ever
 * compiles). Nothing here runs: `tsc --noEmit -p .` (part of `npm test`) checks it.
 */
import type * as mp from '../../src/multiprocessing/index.js';
import type * as threading from '../../src/threading/index.js';

declare const Thread: typeof threading.Thread;
declare const Process: typeof mp.Process;
declare const work: (n: number, label: string) => void;
declare const report: (id: number, kw: { verbose: boolean }) => Promise<void>;
declare const op: (q: threading.Event, how: 'put' | 'get') => void;
declare const forward: (...args: unknown[]) => void;
declare const q: threading.Event;
declare const rest: unknown[];

export function threads(): void {
  new Thread({ target: work, args: [1, 'a'] });
  new Thread({ target: work, args: [1, 'a', 'extra'] }); // passed, and ignored
  new Thread({ target: report, args: [1], kwargs: { verbose: true } });
  new Thread({ target: work, args: [1, 'a'], kwargs: {} }); // `{}`: no trailing object
  new Thread({ target: op, args: [q, 'put'] });
  new Thread({ target: (n, s) => n.toFixed() + s.toUpperCase(), args: [1, 'a'] });
  new Thread({ target: forward, args: [1, 'a'] });
  new Thread({ target: work, args: rest }); // arguments forwarded from elsewhere: unchecked
  new Thread({ target: () => {}, name: 'worker', daemon: true });
  new Thread();
  // @ts-expect-error: an argument of the wrong type
  new Thread({ target: work, args: [1, 2] });
  // @ts-expect-error: an argument missing
  new Thread({ target: work, args: [1] });
  // @ts-expect-error: args missing
  new Thread({ target: work });
  // @ts-expect-error: kwargs of the wrong shape
  new Thread({ target: report, args: [1], kwargs: { verbose: 'yes' } });
  // @ts-expect-error: the trailing kwargs object missing
  new Thread({ target: report, args: [1] });
  // @ts-expect-error: not one of the literal types the parameter takes
  new Thread({ target: op, args: [q, 'pop'] });
}

export function processes(): void {
  new Process({ target: work, args: [1, 'a'] });
  new Process({ target: report, args: [1], kwargs: { verbose: true } });
  new Process({ target: (n, s) => n.toFixed() + s.toUpperCase(), args: [1, 'a'] });
  // @ts-expect-error
  new Process({ target: work, args: [1, 2] });
  // @ts-expect-error
  new Process({ target: work });
  // @ts-expect-error
  new Process({ target: report, args: [1], kwargs: { verbose: 'yes' } });
}
