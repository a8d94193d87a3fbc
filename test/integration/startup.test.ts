/**
 * Idempotent start-up: topic creation, schema registration and compatibility settings are safe
 * when many processes run them at once, against a registry that already holds the subjects and
 * against fresh ones. One `npm start` in three used to die here (HTTP 409 "A rule named
 * 'COMPATIBILITY' already exists").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { waitUntil } from './harness.js';

const PROCESSES = 8;
// 20 rounds take ~4 min on 2 cores (`STARTUP_ROUNDS=20 npm run test:integration`); CI runs fewer.
const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 6);

function startOne(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['bin/lead-router.js', 'run', 'sink-backup'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited, running: () => out.includes('"lead-router running"') };
}

test(`${PROCESSES} processes starting together, ${ROUNDS} times, against populated and fresh subjects: none exits`, { timeout: 15 * 60_000 }, async () => {
  const base = `it-startup-${Date.now().toString(36)}.`;
  for (let round = 0; round < ROUNDS; round++) {
    // Even rounds reuse the same prefix (subjects and topics exist); odd rounds start from nothing.
    const prefix = round % 2 === 0 ? base : `${base}r${round}.`;
    const env = { ...process.env, TOPIC_PREFIX: prefix, ADMIN_PORT: '0', LOG_LEVEL: 'info', KAFKA_SESSION_TIMEOUT_MS: '6000' };
    const procs = Array.from({ length: PROCESSES }, () => startOne(env));
    const early = Promise.race(procs.map((p, i) => p.exited.then((code) => ({ i, code }))));
    const outcome = await Promise.race([
      waitUntil(`round ${round}: all ${PROCESSES} running`, () => procs.every((p) => p.running()), 90_000, 50).then(() => null),
      early,
    ]);
    if (outcome) assert.fail(`round ${round}: process ${outcome.i} exited (${outcome.code}) during start-up:\n${procs[outcome.i]!.output().slice(-1500)}`);
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(procs.map((p) => p.exited));
    assert.deepEqual(codes, Array(PROCESSES).fill(0), `round ${round}: every process stopped cleanly`);
  }
});
