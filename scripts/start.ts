/**
 * `npm start`: bring the stack up, start the sandbox destinations and every role (one process
 * per role group, as you would deploy them), print where to POST, and stop the router on Ctrl-C
 * (the stack keeps running: `npm run stack:down`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const port = process.env.PORT ?? '3000';
if (spawnSync('npx', ['tsx', 'scripts/stack.ts', 'up'], { stdio: 'inherit' }).status !== 0) {
  process.stderr.write('npm start: the stack did not come up (see above)\n');
  process.exit(1);
}

const children: ChildProcess[] = [];
function start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => `[${name}] ${l}\n`)
      .join('');
  child.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`[${name}] exited (${signal ?? code}); stopping everything\n`);
    void shutdown();
  });
  children.push(child);
  return child;
}

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  process.stdout.write('\nrouter stopped; the stack is still running (npm run stack:down to stop it)\n');
  process.exit(0);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

const cli = ['bin/lead-router.js'];
const node = process.execPath;
const logLevel = { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
// node directly, not npx: npx does not pass SIGTERM on, and the sandbox would outlive us.
start('sandbox', process.execPath, ['--import', 'tsx', 'sandbox/index.ts']);
start('ingest', node, [...cli, 'run', 'ingest'], { ...logLevel, PORT: port });
start('enrich', node, [...cli, 'run', 'enrich'], logLevel);
start('route', node, [...cli, 'run', 'route'], logLevel);
start('sinks', node, [...cli, 'run', 'sink-primary', 'sink-sms', 'sink-search', 'sink-backup'], logLevel);

const url = `http://127.0.0.1:${port}`;
// Wait until ingest answers /readyz, then say how to use it.
const deadline = Date.now() + 60_000;
while (Date.now() < deadline && !stopping) {
  const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 500));
}
process.stdout.write(`
lead-router is running. POST leads to ${url}/v1/leads, e.g.

  curl -s -X POST ${url}/v1/leads -H 'content-type: application/json' -d '{
    "firstName": "Jane", "lastName": "Doe", "email": "jane.doe@gmail.com",
    "phone": "(415) 555-0132", "zip": "94103", "country": "US",
    "jobTitle": "CNA - Certified Nursing Assistant - Nights",
    "source": "jobs-board", "vendor": "acme-leads", "vendorLeadId": "A-1001",
    "consent": { "sms": true, "at": "2026-11-23T10:00:00Z" } }'

  curl -s ${url}/v1/leads/<leadId>           # the lead's history, every hop
  curl -s localhost:4701/_sandbox/received   # what the US buyer received
  npx lead-router topology                   # the topology

Ctrl-C stops the router.
`);
