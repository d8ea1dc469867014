/**
 * The child side of `Process` (the role module src/internal/process/bootstrap.ts hands over to):
 * takes the identity the parent gave, rebuilds the Process (target or subclass), runs it, and
 * exits — 0 after `run()` returns, 1 after an uncaught error, whose stack goes to stderr as
 * Python prints "Process NAME:" and the traceback.
 */
import { inspect } from 'node:util';
import { BrokerClient } from '../internal/process/broker-client.js';
import { settlePassed } from '../internal/process/fd-handoff.js';
import { receiveRunTarget } from '../internal/run-target.js';
import { decode } from '../internal/serialize.js';
import { untouchedThread, userCodeStarts } from '../internal/task-ref.js';
import { _setCurrentProcess } from './current-process.js';
import { flushBeforeExit } from './exit-hooks.js';
import { Process, type ProcessPayload } from './process.js';
import { setIdentity } from './process-identity.js';

export async function main(encoded: unknown): Promise<void> {
  // Named before anything connects to the broker, so that its reports name this process.
  BrokerClient.processName = (encoded as { name?: string })?.name ?? 'Process';
  untouchedThread();
  const p = decode(encoded) as ProcessPayload;
  setIdentity({
    name: p.name,
    daemon: p.daemon,
    parentPid: process.ppid,
    parentName: p.parentName,
    childPrefix: `${p.name}:`,
    // Its children are named from its identity, not its name (`Process-1:1` under a Process
    // renamed 'w'), as Python's; unknown when the parent's own was not known.
    ...(p.ident ? { ident: p.ident } : {}),
  });
  let code = 0;
  try {
    const self = await receiveRunTarget(p, (cls, call) =>
      Process._adopt(cls ?? Process, {
        ...call,
        name: p.name,
        daemon: p.daemon,
        pid: process.pid,
      }),
    );
    _setCurrentProcess(self);
    userCodeStarts();
    await self.run();
  } catch (err) {
    code = 1;
    process.stderr.write(`Process ${p.name}:\n${describeThrown(err)}\n`);
  }
  // Python's child ends when run() returns, whatever timers it left — after its queues have
  // handed their items over, and after its own non-daemon children.
  await flushBeforeExit();
  await settlePassed();
  process.exit(code === 0 ? Number(process.exitCode) || 0 : code);
}

/**
 * What run() threw, for stderr. Never throws itself: a value String() refuses (an object without
 * a prototype, a toString that throws) escaped the report and ended the child before it flushed
 * its queues and joined its children. A non-Error is shown as Node shows an uncaught one.
 */
function describeThrown(err: unknown): string {
  try {
    // inspect, not the stack alone: it shows the `cause` (why the target's module failed to
    // load in the child, which the TaskReferenceError wraps), an AggregateError's errors and
    // the error's own fields, as Python prints the chained tracebacks.
    if (err instanceof Error) return inspect(err, { depth: 6 });
    return `Uncaught ${inspect(err)}`;
  } catch (e) {
    return `Uncaught value that cannot be shown (${e instanceof Error ? e.message : typeof e})`;
  }
}
