/**
 * What a `Thread` or a `Process` runs: Python's `target(*args, **kwargs)`, from the options
 * both constructors take (multiprocessing.Process copies threading.Thread's signature), to the
 * call the default `run()` makes, to what `start()` sends so that the worker or the child finds
 * the target (or the subclass) again.
 *
 * One place for both classes; every message names the class it is for
 * ("Thread target must be a function: …", "Process target must be a function: …").
 */
import type { Accepting, AnyFn, ArgList, CallArgs, Kwargs } from './call-args.js';
import { argumentError, RuntimeError } from './errors.js';
import { resolveTaskRef, type TaskRef, toTaskRef } from './task-ref.js';

export type TargetFn = AnyFn;

/** The class whose options are checked: the first word of its messages. */
export type TargetOwner = 'Thread' | 'Process';

/**
 * The constructor options `ThreadOptions` and `ProcessOptions` share; each of them documents
 * its own default `name` and `daemon`. `F`, `A` and `K` are the types of `target`, `args` and
 * `kwargs`: `target` must accept `args` and then `kwargs` (see Accepting and CallArgs). The
 * defaults leave them unchecked.
 */
export interface RunTargetOptions<
  F extends TargetFn = TargetFn,
  A extends ArgList = any[],
  K extends Kwargs = any,
> {
  /**
   * The function `run()` calls, with `args` and then `kwargs`; a marked function
   * (`task(import.meta, fn)`) or a self-contained one.
   */
  target?: Accepting<F, CallArgs<A, K>> | null;
  args?: A;
  /** Reaches the target as one trailing object after `args` (none when `null` or `{}`). */
  kwargs?: K;
  name?: string;
  daemon?: boolean | null;
}

/** The call as it travels to the worker or child: the target, or the subclass and its fields. */
export interface RunTargetPayload {
  target: TaskRef | null;
  cls: TaskRef | null;
  fields: Record<string, unknown> | null;
  args: unknown[];
  kwargs: Record<string, unknown> | null;
}

/**
 * The arguments of Python's `f(*args, **kwargs)` in weft's shape: `args`, then `kwargs` as one
 * trailing object when it has keys (`{}`, Python's `**{}`, and null are no keywords).
 */
export function withKwargs(args: readonly unknown[], kwargs: object | null | undefined): unknown[] {
  return kwargs && Object.keys(kwargs).length > 0 ? [...args, kwargs] : (args as unknown[]);
}

/** The call the default `run()` makes: `target(...args, kwargs)`. */
export class RunTarget {
  readonly target: TargetFn | null;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown> | null;

  /** From options already checked (`checkRunOptions`) or built by weft itself; `args` is copied. */
  constructor(init: RunTargetOptions<any, any, any>) {
    this.target = init.target ?? null;
    this.args = init.args ? [...init.args] : [];
    this.kwargs = init.kwargs ?? null;
  }

  /** What the default `run()` does: calls the target, if any, and returns what it returns. */
  call(): unknown {
    const target = this.target;
    if (!target) return undefined;
    // `kwargs: {}` is Python's `**{}`: no keywords, so no trailing object.
    return target(...withKwargs(this.args, this.kwargs));
  }

  /**
   * What `start()` sends: a subclass that overrides `run()` (`subclassed`) travels as its class
   * and the own fields of `self`, else the target does; `modules` are for the other side to load
   * first.
   * @throws TaskReferenceError when the target or subclass cannot be found from there.
   */
  send(
    owner: TargetOwner,
    self: object,
    subclassed: boolean,
  ): { payload: RunTargetPayload; modules: string[] } {
    let target: TaskRef | null = null;
    let cls: TaskRef | null = null;
    let fields: Record<string, unknown> | null = null;
    const modules: string[] = [];
    if (subclassed) {
      cls = toTaskRef(self.constructor, `${owner} subclass ${self.constructor.name}`);
      fields = { ...(self as Record<string, unknown>) };
    } else if (this.target) {
      target = toTaskRef(this.target, `${owner} target ${this.target.name || '(anonymous)'}`);
    }
    // A subclass may keep a reference of its own among its fields (a Timer's function): its
    // module is loaded there too, and a .ts one needs the TypeScript loader as a target's does.
    // The subclass names them ([kModuleRefs]); a field of the user's that merely has a TaskRef's
    // shape is data, not a module to load.
    const own = subclassed ? ((self as ModuleRefHolder)[kModuleRefs]?.() ?? []) : [];
    for (const ref of [target, cls, ...own])
      if (ref?.kind === 'module' && !modules.includes(ref.url)) modules.push(ref.url);
    return { payload: { target, cls, fields, args: this.args, kwargs: this.kwargs }, modules };
  }
}

/**
 * @internal A Thread or Process subclass of weft's that keeps task references among its own
 * fields (Timer's `_ref`) returns them from this method, so that `send` counts their modules
 * among those the other side loads.
 */
export const kModuleRefs = Symbol.for('weft.moduleRefs');
interface ModuleRefHolder {
  [kModuleRefs]?: () => readonly TaskRef[];
}

/**
 * Checks a constructor's options; `name` and `daemon` are left for the class to default.
 * @throws TypeError naming `owner` and what was received.
 */
export function checkRunOptions(
  owner: TargetOwner,
  options: RunTargetOptions<any, any, any>,
): { target: RunTarget; name: string | undefined; daemon: boolean | null | undefined } {
  if (typeof options !== 'object' || options === null) {
    throw argumentError(`${owner} options must be an object`, options);
  }
  const { target, args, kwargs, name, daemon } = options;
  if (target !== undefined && target !== null && typeof target !== 'function') {
    throw argumentError(`${owner} target must be a function`, target);
  }
  if (args !== undefined && !Array.isArray(args)) {
    throw argumentError(`${owner} args must be an array`, args);
  }
  if (
    kwargs !== undefined &&
    kwargs !== null &&
    (typeof kwargs !== 'object' || Array.isArray(kwargs))
  ) {
    throw argumentError(`${owner} kwargs must be an object`, kwargs);
  }
  if (name !== undefined) checkName(owner, name);
  if (daemon !== undefined && daemon !== null) checkDaemon(owner, daemon);
  return { target: new RunTarget(options), name, daemon };
}

/** @throws TypeError when `name` (an option, or the `name` setter's value) is not a string. */
export function checkName(owner: TargetOwner, name: unknown): asserts name is string {
  if (typeof name !== 'string') throw argumentError(`${owner} name must be a string`, name);
}

const DAEMON_STARTED = {
  Thread: ['Cannot set daemon status of an active thread', 'ERR_WEFT_THREAD_STARTED'],
  Process: ['Cannot set daemon status of an active process', 'ERR_WEFT_PROCESS_STARTED'],
} as const;

/**
 * Checks the `daemon` option, or the `daemon` setter's value (`started`: whether the thread or
 * process has been started, when it may no longer change).
 * @throws TypeError when `daemon` is not a boolean; RuntimeError when `started`.
 */
export function checkDaemon(
  owner: TargetOwner,
  daemon: unknown,
  started = false,
): asserts daemon is boolean {
  if (typeof daemon !== 'boolean') throw argumentError(`${owner} daemon must be a boolean`, daemon);
  if (started) {
    const [message, code] = DAEMON_STARTED[owner];
    throw new RuntimeError(message, code);
  }
}

/**
 * The other end of `RunTarget.send`, in the worker or child: the Thread or Process to run,
 * rebuilt by `adopt` — from the subclass (`cls`, then its fields copied onto it), or from the
 * base class (`cls` null) with the target found again, `args` and `kwargs`.
 * @throws TaskReferenceError when the target or subclass cannot be found here.
 */
export async function receiveRunTarget<S extends object>(
  p: RunTargetPayload,
  adopt: (cls: Function | null, call: RunTargetOptions) => S,
): Promise<S> {
  if (p.cls) {
    const self = adopt((await resolveTaskRef(p.cls, true)) as Function, {});
    Object.assign(self, p.fields ?? {});
    return self;
  }
  const target = p.target ? ((await resolveTaskRef(p.target, true)) as TargetFn) : null;
  return adopt(null, { target, args: p.args, kwargs: p.kwargs });
}
