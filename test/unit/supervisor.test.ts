/**
 * The supervisor of `npm start` and the chaos suite: a process that dies is restarted only after
 * the beforeRestart hook (its eviction from its consumer groups) is done, and a hook that hangs
 * or fails never keeps it down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Supervisor } from '../../scripts/supervisor.js';

/** A child that says when it started, then exits with code 3 after `lifeMs`. */
const crasher = (name: string, lifeMs: number) => ({
  name,
  cmd: process.execPath,
  args: ['-e', `console.log('started', Date.now()); setTimeout(() => process.exit(3), ${lifeMs})`],
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a dead process is restarted only once its beforeRestart hook is done', async () => {
  const starts: number[] = [];
  const hooks: { name: string; at: number; doneAt?: number }[] = [];
  const sup = new Supervisor({
    log: () => undefined,
    initialBackoffMs: 10,
    beforeRestart: async (name) => {
      const call: { name: string; at: number; doneAt?: number } = { name, at: Date.now() };
      hooks.push(call);
      await sleep(400);
      call.doneAt = Date.now();
    },
  });
  sup.start({ ...crasher('route-1', 50), output: (_n, line) => line.startsWith('started') && starts.push(Number(line.split(' ')[1])) });
  const deadline = Date.now() + 10_000;
  while (starts.length < 2 && Date.now() < deadline) await sleep(20);
  await sup.stopAll();
  assert.ok(starts.length >= 2, `restarted: ${starts.length - 1} times`);
  assert.equal(hooks[0]!.name, 'route-1');
  assert.ok(hooks[0]!.doneAt !== undefined && starts[1]! >= hooks[0]!.doneAt, 'the restart began before the hook was done');
});

test('a hook that hangs or fails delays the restart by its bound at most, and says so', async () => {
  for (const hook of [() => new Promise<never>(() => undefined), async () => Promise.reject(new Error('broker away'))]) {
    const lines: string[] = [];
    let starts = 0;
    const sup = new Supervisor({ log: (l) => lines.push(l), initialBackoffMs: 10, beforeRestartMs: 300, beforeRestart: hook });
    sup.start({ ...crasher('sms-1', 50), output: (_n, line) => line.startsWith('started') && starts++ });
    const deadline = Date.now() + 10_000;
    while (starts < 2 && Date.now() < deadline) await sleep(20);
    await sup.stopAll();
    assert.ok(starts >= 2, 'never restarted');
    assert.ok(lines.some((l) => /before its restart: (no answer within 0.3 s|broker away); restarting anyway/.test(l)), lines.join('\n'));
  }
});

test('stopped while its hook runs: the process stays down', async () => {
  let starts = 0;
  let hookCalled = false;
  const sup = new Supervisor({ log: () => undefined, initialBackoffMs: 10, beforeRestart: async () => { hookCalled = true; await sleep(300); } });
  sup.start({ ...crasher('enrich-1', 50), output: (_n, line) => line.startsWith('started') && starts++ });
  const deadline = Date.now() + 10_000;
  while (!hookCalled && Date.now() < deadline) await sleep(10);
  await sup.stopAll();
  await sleep(600);
  assert.equal(starts, 1);
});
