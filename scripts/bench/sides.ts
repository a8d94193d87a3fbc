/**
 * The two systems `npm run bench:compare` measures, each brought up and torn down the same way
 * ../shared/bench/side-by-side.sh does: the router on a stack of its own with its roles as
 * `npm start` runs them (4 processes), and the queue design (BullMQ on Redis) from the kit.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Side {
  name: 'router' | 'queue';
  url: string;
  loadArgs: string[];
  /** pid → role(s), for the memory each process takes under load. */
  pids?: Record<string, string>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until `url` answers 200; a process that exits meanwhile fails it at once, with its log. */
async function waitFor(url: string, timeoutMs: number, proc?: { child: ChildProcess; log: string }): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    if (proc && proc.child.exitCode !== null) {
      const tail = fs.readFileSync(proc.log, 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new Error(`exited (${proc.child.exitCode}) before it was ready: ${tail.slice(-500)}`);
    }
    await sleep(500);
  }
  throw new Error(`${url} not ready after ${timeoutMs / 1000} s`);
}

function track(children: ChildProcess[], cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; log: string }): ChildProcess {
  const out = fs.openSync(opts.log, 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', out, out] });
  children.push(child);
  return child;
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
}

/** The router with its own stack under outDir (a fresh one unless reuse), roles as npm start runs them (5 processes). */
export async function startRouter(opts: { outDir: string; kit: string; reuseStack: boolean; apiKey: string; env?: NodeJS.ProcessEnv; nodeArgs?: string[]; log(l: string): void }): Promise<Side & { stackEnv: NodeJS.ProcessEnv }> {
  const stackEnv: NodeJS.ProcessEnv = opts.reuseStack ? {} : { STACK_DIR: path.join(opts.outDir, 'stack') };
  // The roles run from dist/: build this checkout first, so the run measures what is here.
  if (spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { encoding: 'utf8' }).status !== 0) throw new Error('build failed (npx tsc -p tsconfig.json)');
  // The broker at full JIT: its peak, as the queue design's Redis runs at its own (the dev
  // stack's C1-only JIT trades peak throughput for start-up CPU).
  const up = spawnSync('npx', ['tsx', 'scripts/stack.ts', 'up'], { env: { ...process.env, STACK_FULL_JIT: '1', ...stackEnv }, encoding: 'utf8' });
  if (up.status !== 0) throw new Error(`stack up failed: ${up.stdout}${up.stderr}`.slice(-2000));
  const children: ChildProcess[] = [];
  const env: NodeJS.ProcessEnv = {
    ROUTER_CONFIG: path.join(opts.kit, 'router-bench.yaml'),
    LOG_LEVEL: 'warn',
    TOPIC_PREFIX: opts.reuseStack ? `bench-${Date.now().toString(36)}.` : '',
    ...opts.env,
  };
  // As npm start runs them (scripts/start.ts), or ROLES="ingest,enrich route,..." (processes by comma).
  const roles = (process.env.ROLES ?? 'ingest,enrich,route,sink-primary sink-sms sink-search sink-backup,sink-history').split(',').map((r) => r.trim().split(/\s+/));
  const pids: Record<string, string> = {};
  const started = roles.map((r, i) => {
    const log = path.join(opts.outDir, `router-${r[0]}.log`);
    const child = track(children, process.execPath, [...(opts.nodeArgs ?? []), 'bin/lead-router.js', 'run', ...r], { env: { ...env, ADMIN_PORT: String(9564 + i), PORT: '3000' }, log });
    pids[String(child.pid)] = r.join('+');
    return { child, log };
  });
  // Which process was which role: CPU profiles (bench:compare --profile) are named by pid.
  fs.mkdirSync(path.join(opts.outDir, 'profiles'), { recursive: true });
  fs.writeFileSync(path.join(opts.outDir, 'profiles', 'roles.json'), JSON.stringify(pids));
  try {
    for (let i = 0; i < roles.length; i++) await waitFor(`http://127.0.0.1:${9564 + i}/readyz`, 120_000, started[i]);
  } catch (err) {
    await stopAll(children);
    if (!opts.reuseStack) spawnSync('npx', ['tsx', 'scripts/stack.ts', 'down'], { env: { ...process.env, ...stackEnv } });
    throw new Error(`router role ${roles[started.findIndex((s) => s.child.exitCode !== null)]?.join('+') ?? ''} not ready: ${(err as Error).message}`);
  }
  opts.log(`router ready (${roles.length} processes: ${roles.map((r) => r.join('+')).join(' | ')})`);
  return {
    name: 'router',
    url: 'http://127.0.0.1:3000/v1/leads',
    loadArgs: ['--header', `x-api-key:${opts.apiKey}`],
    pids,
    stackEnv,
    async stop() {
      await stopAll(children);
      if (!opts.reuseStack) {
        spawnSync('npx', ['tsx', 'scripts/stack.ts', 'down'], { env: { ...process.env, ...stackEnv } });
        fs.rmSync(path.join(opts.outDir, 'stack'), { recursive: true, force: true });
      }
    },
  };
}

/** The queue design from the kit: its own Redis (no persistence) and router.mjs. */
export async function startQueue(opts: { outDir: string; kit: string; log(l: string): void }): Promise<Side> {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error('redis-server not found (apt-get install -y redis-server)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'queue-router-'));
  for (const f of fs.readdirSync(path.join(opts.kit, 'queue-router'))) fs.copyFileSync(path.join(opts.kit, 'queue-router', f), path.join(dir, f));
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
  if (ci.status !== 0) throw new Error(`queue-router: npm ci failed: ${ci.stderr.slice(-500)}`);
  const children: ChildProcess[] = [];
  track(children, 'redis-server', ['--port', '6390', '--save', '', '--appendonly', 'no'], { log: path.join(opts.outDir, 'redis.log') });
  await sleep(1000);
  track(children, process.execPath, ['router.mjs'], {
    cwd: dir,
    env: { REDIS_PORT: '6390', PORT: '8090', PRIMARY: 'http://127.0.0.1:18081', SMS: 'http://127.0.0.1:18082', SEARCH: 'http://127.0.0.1:18084' },
    log: path.join(opts.outDir, 'queue.log'),
  });
  await sleep(3000);
  opts.log('queue design ready');
  return {
    name: 'queue',
    url: 'http://127.0.0.1:8090/v1/leads',
    loadArgs: [],
    async stop() {
      await stopAll(children);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
