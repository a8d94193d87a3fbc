/**
 * `npm start`: bring the stack up, then run the sandbox destinations and every role as
 * supervised processes (one per role group, as you would deploy them; a role that exits is
 * restarted with backoff), print where to POST and where each role reports its health, and on
 * Ctrl-C stop every child within the grace period. The stack keeps running: `npm run stack:down`.
 */
import { spawnSync } from 'node:child_process';
import { Supervisor } from './supervisor.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { createEvictor } from '../src/ops/evict.js';
import type { Role } from '../src/topology.js';
import { DEV_OPERATOR_TOKEN, DEV_VENDOR, DEV_VENDOR_KEYS } from '../src/security/dev-credentials.js';

const port = process.env.PORT ?? '3000';
if (spawnSync('npx', ['tsx', 'scripts/stack.ts', 'up'], { stdio: 'inherit' }).status !== 0) {
  process.stderr.write('npm start: the stack did not come up (see above)\n');
  process.exit(1);
}

const say = (line: string) => process.stderr.write(`${line}\n`);
// A role process seen to die leaves its consumer groups at once (src/ops/evict.ts), before its
// restart: its partitions go to the other processes now, not after its session timeout. A config
// the roles would reject is theirs to report; the supervisor then restarts without it.
const evictor = (() => {
  try {
    return createEvictor(loadConfig(process.env), createLogger('warn', 'supervisor'));
  } catch {
    return null;
  }
})();
const roleLists = new Map<string, Role[]>();
const supervisor = new Supervisor({
  log: say,
  beforeRestart: async (name) => {
    const removed = (await evictor?.evict(name, roleLists.get(name) ?? [])) ?? [];
    if (removed.length > 0) say(`[${name}] removed from its consumer groups: its partitions move to the other processes now`);
  },
});
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the router (up to ${supervisor.graceMs / 1000} s)…\n`);
  const { killed, ms } = await supervisor.stopAll();
  process.stdout.write(`router stopped in ${(ms / 1000).toFixed(1)} s${killed.length ? ` (killed: ${killed.join(', ')})` : ''}; the stack is still running (npm run stack:down to stop it)\n`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const node = process.execPath;
const cli = 'bin/lead-router.js';
const logLevel = process.env.LOG_LEVEL ?? 'warn';
// Each role process serves /healthz and /readyz on its own admin port.
const roles: { name: string; roles: Role[]; adminPort: number }[] = [
  { name: 'ingest', roles: ['ingest'], adminPort: 9464 },
  { name: 'enrich', roles: ['enrich'], adminPort: 9465 },
  { name: 'route', roles: ['route'], adminPort: 9466 },
  { name: 'sinks', roles: ['sink-primary', 'sink-sms', 'sink-search', 'sink-backup'], adminPort: 9467 },
  // History on its own: its store writes never share an event loop with deliveries.
  { name: 'history', roles: ['sink-history'], adminPort: 9468 },
];
// node directly, not npx: npx does not pass signals on.
supervisor.start({ name: 'sandbox', cmd: node, args: ['--import', 'tsx', 'sandbox/index.ts'] });
for (const r of roles) {
  roleLists.set(r.name, r.roles);
  supervisor.start({ name: r.name, cmd: node, args: [cli, 'run', ...r.roles], env: { LOG_LEVEL: logLevel, ADMIN_PORT: String(r.adminPort), ...(r.name === 'ingest' ? { PORT: port } : {}) } });
}

const url = `http://127.0.0.1:${port}`;
// Wait until every role says it is ready, then say how to use it.
const deadline = Date.now() + 90_000;
const ready = async (adminPort: number) => fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.ok, () => false);
while (Date.now() < deadline && !stopping) {
  const states = await Promise.all(roles.map((r) => ready(r.adminPort)));
  if (states.every(Boolean)) break;
  await new Promise((r) => setTimeout(r, 500));
}
if (!stopping) {
  const states = await Promise.all(roles.map(async (r) => `${r.name.padEnd(7)} http://127.0.0.1:${r.adminPort}/readyz  ${(await ready(r.adminPort)) ? 'ready' : 'NOT READY (see its log lines above)'}`));
  process.stdout.write(`
lead-router is running. POST leads to ${url}/v1/leads with a vendor key, e.g. the
development vendor ${DEV_VENDOR}'s (public, from this repository: never use it elsewhere):

  curl -s -X POST ${url}/v1/leads -H 'content-type: application/json' \\
    -H 'x-api-key: ${DEV_VENDOR_KEYS.dev1}' -d '{
    "firstName": "Jane", "lastName": "Doe", "email": "jane.doe@gmail.com",
    "phone": "(415) 555-0132", "zip": "94103", "country": "US",
    "jobTitle": "CNA - Certified Nursing Assistant - Nights",
    "source": "jobs-board", "vendorLeadId": "A-1001",
    "consent": { "sms": true, "at": "2026-11-23T10:00:00Z" } }'

  # the lead's history, every hop (operator token; the vendor's key shows its own leads, masked)
  curl -s ${url}/v1/leads/<leadId> -H 'authorization: Bearer ${DEV_OPERATOR_TOKEN}'
  curl -s ${url}/openapi.json                # the HTTP contract
  open ${url}/dashboard                      # the live operations dashboard (sign in with the operator token)
  npx lead-router status                     # consumer groups, members, lag, each role's readiness
  curl -s localhost:4701/_sandbox/received   # what the US buyer received (signed webhooks, verified)
  npx lead-router vendors list               # vendors and their key ids (add | rotate | revoke)
  npx lead-router topology                   # the topology

Roles (restarted with backoff if they exit):
  ${states.join('\n  ')}

Ctrl-C stops the router.
`);
}
