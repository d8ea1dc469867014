/**
 * Model-based property test (fast-check) of a multiprocessing Lock and RLock between this
 * process and a child: random sequences of acquires, try-acquires and releases on both sides,
 * each checked against a model of who holds the lock, how many times, and who waits. It covers
 * the slab's paths (a free lock taken by CAS, a release that finds WAITERS and goes to the
 * broker, a re-entry, a hand-over to the parked side) and, in the WEFT_LOCK_SLAB=0 pass of
 * run-tests.mjs, the broker's alone.
 *
 * Every run has a fresh lock and queues; one child plays the child side of the runs in turn
 * (fixtures/lock-model-targets.ts), as a child per run cost a process start each. A run that
 * fails kills that child: the next run (fast-check's shrinking) starts with a fresh one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Lock, Process, Queue, RLock } from '../../src/multiprocessing/index.js';
import { checkLeaks } from '../support/leaks.js';
import { type LockRun, lockAgentRuns } from './fixtures/lock-model-targets.js';

checkLeaks({ graceMs: 3000 });

const PATIENCE = 20_000;
type Side = 'p' | 'c';
type Op = { side: Side; what: 'acquire' | 'try' | 'release' };

const ops = fc.array(
  fc.record({
    side: fc.constantFrom<Side>('p', 'c'),
    what: fc.constantFrom<Op['what']>('acquire', 'try', 'release'),
  }),
  { minLength: 1, maxLength: 24 },
);

for (const kind of ['Lock', 'RLock'] as const) {
  test(`${kind} between two processes behaves as its model, whatever the order of calls`, async () => {
    /** The child that plays the child side, and the queue of runs it takes them from. */
    let agent: { child: Process; runs: Queue<LockRun> } | null = null;
    const agentNow = (): { child: Process; runs: Queue<LockRun> } => {
      if (agent === null) {
        const runs = new Queue<LockRun>();
        const child = new Process({ target: lockAgentRuns, args: [runs] });
        child.start();
        agent = { child, runs };
      }
      return agent;
    };
    try {
      await fc.assert(
        fc.asyncProperty(ops, async (script) => {
          const recursive = kind === 'RLock';
          const lock = recursive ? new RLock() : new Lock();
          const cmds = new Queue<string>();
          const out = new Queue<string>();
          const { child, runs } = agentNow();
          runs.put([lock, cmds, out]);
          let played = false;
          // The model: the holder and its depth, and the side parked waiting (at most one: the
          // other side; a side that waits sends nothing more until it has the lock).
          let holder: Side | null = null;
          let depth = 0;
          let waiting: Side | null = null;
          let parentWait: Promise<boolean> | null = null;
          const log: string[] = [];
          const hear = async (): Promise<string> => out.get({ timeout: PATIENCE });
          /** The waiting side got it: the model hands it over, and the side says so. */
          const handedOver = async (): Promise<void> => {
            const w = waiting as Side;
            waiting = null;
            holder = w;
            depth = 1;
            if (w === 'p') assert.equal(await parentWait, true, 'the parked parent got it');
            else assert.equal(await hear(), 'granted', 'the parked child got it');
          };
          /** One hold of `side` given back; at the last, the waiting side gets the lock. */
          const release = async (side: Side): Promise<void> => {
            if (side === 'p') lock.release();
            else {
              cmds.put('release');
              assert.equal(await hear(), 'released');
            }
            depth--;
            if (depth === 0) {
              holder = null;
              if (waiting !== null) await handedOver();
            }
          };
          try {
            for (const { side, what } of script) {
              if (side === waiting) continue; // a waiting side is blocked
              const mine: boolean = holder === side;
              if (what === 'release' && !mine) continue;
              if (what === 'acquire' && mine && !recursive) continue; // a self-deadlock: told, not modelled here
              log.push(`${side} ${what}`);
              if (what === 'release') await release(side);
              else {
                const free: boolean = holder === null || (recursive && mine);
                if (what === 'try') {
                  let got: boolean;
                  if (side === 'p') got = await lock.acquire({ blocking: false });
                  else {
                    cmds.put('try');
                    got = (await hear()) === 'true';
                  }
                  assert.equal(got, free, `${log.join(', ')}: try-acquire`);
                  if (got) {
                    holder = side;
                    depth++;
                  }
                } else if (free) {
                  if (side === 'p') assert.equal(await lock.acquire(), true);
                  else {
                    cmds.put('acquire');
                    assert.equal(await hear(), 'granted', `${log.join(', ')}: a free lock`);
                  }
                  holder = side;
                  depth++;
                } else {
                  waiting = side;
                  if (side === 'p') {
                    let settled = false;
                    parentWait = lock.acquire().finally(() => {
                      settled = true;
                    });
                    // A blocking call answers after the acquire it follows: parked by then, and
                    // still waiting (the child holds it) once the broker's answers are in.
                    assert.equal(lock.locked(), true);
                    await new Promise((r) => setImmediate(r));
                    assert.equal(settled, false, `${log.join(', ')}: the parent waits`);
                  } else {
                    cmds.put('acquire');
                    assert.equal(await hear(), 'asked', `${log.join(', ')}: a held lock waits`);
                  }
                }
              }
              assert.equal(lock.locked(), holder !== null, `${log.join(', ')}: locked()`);
            }
            // Wind down: whoever holds lets go until nobody does.
            while (holder !== null) await release(holder);
            assert.equal(lock.locked(), false, `${log.join(', ')}: free at the end`);
            // The child's side of the run ends as its own process's would have: all said.
            cmds.put('stop');
            assert.equal(await hear(), 'stopped', `${log.join(', ')}: the child's side ended`);
            played = true;
          } finally {
            if (!played) {
              // Whatever state it was left in stays out of the next run.
              child.kill();
              await child.join({ timeout: PATIENCE });
              agent = null;
            }
          }
        }),
        { numRuns: 12 },
      );
    } finally {
      const last = agent as { child: Process; runs: Queue<LockRun> } | null;
      if (last !== null) {
        last.runs.put(null);
        await last.child.join({ timeout: PATIENCE });
        if (last.child.exitcode === null) last.child.kill();
        assert.equal(last.child.exitcode, 0);
      }
    }
  });
}
