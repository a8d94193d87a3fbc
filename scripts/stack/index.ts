/**
 * The local stack: install on first use, start (dependencies first, the rest in parallel), wait
 * for real readiness, stop only what we started. One file per service beside this one; the CLI
 * is scripts/stack.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { apicurioService } from './apicurio.js';
import { CLUSTER_MARKER, StackError, stackConfig, type ServiceName, type StackConfig } from './config.js';
import { elasticsearchService } from './elasticsearch.js';
import { ferretdbService } from './ferretdb.js';
import { kafkaServices } from './kafka.js';
import { postgresService } from './postgres.js';
import { announceInstall, cmdlineOf, findJdk, isAlive, mkdirp, portFree, readPid, requireTool, secs, sleep, tail, whoListens, type Ctx, type Launch, type Service } from './util.js';

export { stackConfig, stackEndpoints, StackError } from './config.js';

/** Every service of this stack, in start order where it matters (dependencies first). */
export function allServices(cfg: StackConfig): Service[] {
  return [...kafkaServices(cfg), apicurioService(cfg), postgresService(cfg), ferretdbService(cfg), elasticsearchService(cfg)];
}

/** pid of our running process for a service, if any (pid file + process alive + cmdline mentions our dir) */
function ourPid(svc: Service): number | undefined {
  const pid = readPid(svc.pidFile);
  if (!pid || !isAlive(pid)) return undefined;
  return cmdlineOf(pid).includes(svc.dir) ? pid : undefined;
}

// ---------------------------------------------------------------------------------------------
// lock (one mutating stack command at a time per stack dir)

let inProcess: Promise<unknown> = Promise.resolve();

async function withLock<T>(cfg: StackConfig, say: (l: string) => void, fn: () => Promise<T>): Promise<T> {
  const prev = inProcess;
  let release!: () => void;
  inProcess = new Promise<void>((r) => (release = r));
  await prev.catch(() => undefined);
  mkdirp(cfg.dir);
  const lock = path.join(cfg.dir, '.lock');
  const t0 = Date.now();
  let told = false;
  try {
    for (;;) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = readPid(lock);
        if (!holder || holder === process.pid || !isAlive(holder)) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        if (!told) say(`stack: waiting for another stack command (pid ${holder}) to finish`);
        told = true;
        if (Date.now() - t0 > 20 * 60_000) throw new StackError(`another stack command (pid ${holder}) holds ${lock}`);
        await sleep(500);
      }
    }
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  } finally {
    release();
  }
}

// ---------------------------------------------------------------------------------------------
// up / down / status

export interface UpOptions {
  /** wipe data dirs (services that are running are stopped first) */
  fresh?: boolean;
  /** Set when `up --cluster` / `up --single` chose the Kafka mode (remembered for later commands). */
  cluster?: boolean;
  services?: ServiceName[];
  /** per-service readiness timeout (ms); default STACK_TIMEOUT_S or 180 s */
  timeoutMs?: number;
  /** progress output; default console.log */
  log?: (line: string) => void;
}

export interface UpResult {
  name: ServiceName;
  state: 'started' | 'already-running';
  pid: number | undefined;
  address: string;
  ms: number;
}

export const pad = (s: string) => s.padEnd(13);

function resolveServices(all: Service[], names: ServiceName[] | undefined): Service[] {
  if (!names || names.length === 0) return all;
  return names.map((n) => {
    const svc = all.find((s) => s.name === n);
    if (!svc) throw new StackError(`unknown service '${n}' (known: ${all.map((s) => s.name).join(', ')})`);
    return svc;
  });
}

async function waitReady(svc: Service, launch: Launch, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  let exited: string | undefined;
  let launcherOk = false;
  launch.child.once('error', (e) => (exited = `could not be started: ${e.message}`));
  launch.child.once('exit', (code, signal) => {
    if (launch.launcherExits && code === 0) launcherOk = true;
    else exited = `exited (${signal ?? `code ${code}`}) during startup`;
  });
  const fail = (why: string) =>
    new StackError(
      `${svc.name} ${why}; last lines of ${svc.logs.map((l) => path.relative(process.cwd(), l)).join(' / ')}:\n` +
        svc.logs
          .map((l) => tail(l, 25))
          .filter(Boolean)
          .join('\n---\n'),
    );
  for (;;) {
    if (exited) throw fail(exited);
    if (launch.launcherExits && launcherOk) {
      const pid = readPid(svc.pidFile);
      if (!pid || !isAlive(pid)) throw fail('exited right after startup');
    }
    const ok = await svc.probe().catch(() => false);
    if (ok) return launch.launcherExits ? readPid(svc.pidFile) : launch.child.pid;
    if (Date.now() - t0 > timeoutMs) throw fail(`not ready after ${secs(timeoutMs)}`);
    await sleep(400);
  }
}

async function stopService(svc: Service, signal: NodeJS.Signals = svc.stopSignal ?? 'SIGTERM'): Promise<'stopped' | 'not-running'> {
  const pid = ourPid(svc);
  if (!pid) {
    fs.rmSync(svc.pidFile, { force: true });
    return 'not-running';
  }
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
  const t0 = Date.now();
  while (isAlive(pid) && Date.now() - t0 < svc.stopTimeoutMs) await sleep(200);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
    const t1 = Date.now();
    while (isAlive(pid) && Date.now() - t1 < 5000) await sleep(100);
  }
  fs.rmSync(svc.pidFile, { force: true });
  return 'stopped';
}

export async function stackUp(opts: UpOptions = {}): Promise<UpResult[]> {
  const say = opts.log ?? ((l: string) => console.log(l));
  const cfg = stackConfig();
  const timeoutMs = opts.timeoutMs ?? cfg.timeoutMs;
  const all = allServices(cfg);
  const wanted = resolveServices(all, opts.services);
  return withLock(cfg, say, async () => {
    const ctx: Ctx = { cfg, installLog: path.join(cfg.dir, 'install.log'), say, announcedInstall: false, mvnGoals: [], shared: {} };
    if (opts.cluster !== undefined) fs.writeFileSync(path.join(cfg.dir, CLUSTER_MARKER), String(cfg.kafkaNodes));
    // 1. fast checks for everything before starting anything
    const todo: Service[] = [];
    const results: UpResult[] = [];
    for (const svc of wanted) {
      mkdirp(svc.dir);
      if (opts.fresh) {
        if (ourPid(svc)) await stopService(svc, 'SIGKILL');
        for (const d of svc.dataDirs) fs.rmSync(d, { recursive: true, force: true });
      }
      if (ourPid(svc)) continue;
      fs.rmSync(svc.pidFile, { force: true });
      for (const { port, env } of svc.ports)
        if (!(await portFree(cfg.host, port)))
          throw new StackError(
            `${svc.name}: port ${cfg.host}:${port} is already in use by another process${whoListens(port)}, not one started by this stack; stop it or set ${env}`,
          );
      todo.push(svc);
    }
    const toInstall = todo.filter((s) => !s.installed());
    if (toInstall.some((s) => s.needs === 'mvn')) requireTool('mvn', 'install Maven (apt-get install maven)');
    if (toInstall.some((s) => s.needs === 'go'))
      requireTool('go', `install Go 1.22+ (https://go.dev/dl); needed once to build FerretDB ${cfg.versions.ferretdb}`, ['/usr/local/go/bin/go']);
    if (todo.some((s) => s.name.startsWith('kafka') || s.name === 'elasticsearch')) findJdk(17, 'STACK_JAVA_HOME', 'Kafka / Elasticsearch');
    if (todo.some((s) => s.name === 'apicurio')) findJdk(21, 'STACK_JAVA21_HOME', `Apicurio Registry ${cfg.versions.apicurio}`);
    if (toInstall.some((s) => s.name.startsWith('kafka'))) ctx.mvnGoals.push('dependency:copy-dependencies');
    if (toInstall.some((s) => s.name === 'apicurio' || s.name === 'elasticsearch')) ctx.mvnGoals.push('dependency:copy');
    if (toInstall.length) announceInstall(ctx, toInstall.map((s) => s.name).join(', '));

    // 2. already running ones: confirm readiness
    const running = wanted.filter((s) => !todo.includes(s));
    const ready = new Map<ServiceName, Promise<void>>();
    const jobs: Promise<void>[] = running.map(async (svc) => {
      const t0 = Date.now();
      const pid = ourPid(svc);
      const deadline = t0 + timeoutMs;
      while (!(await svc.probe().catch(() => false))) {
        if (Date.now() > deadline) throw new StackError(`${svc.name} (pid ${pid}) is running but not ready after ${secs(timeoutMs)}; see ${svc.logs[0]}`);
        await sleep(400);
      }
      await svc.afterReady?.(); // idempotent: settings a restart of ours would have applied
      say(`${pad(svc.name)} already running (pid ${pid}) on ${svc.address}`);
      results.push({ name: svc.name, state: 'already-running', pid, address: svc.address, ms: Date.now() - t0 });
    });
    running.forEach((svc, i) => ready.set(svc.name, jobs[i]!));
    // A dependency that is neither wanted nor running must be started too (ferretdb → postgres).
    const dependencyReady = async (name: ServiceName): Promise<void> => {
      const known = ready.get(name);
      if (known) return known;
      const dep = all.find((s) => s.name === name);
      if (dep && ourPid(dep)) return;
      throw new StackError(`needs ${name}, which is not running: start it too (npm run stack:up)`);
    };

    // 3. install (first run) + start, in parallel
    for (const svc of todo) {
      const job = (async () => {
          const tInstall = Date.now();
          let installMs = 0;
          if (!svc.installed()) {
            await svc.install(ctx);
            installMs = Date.now() - tInstall;
          }
          for (const dep of svc.dependsOn ?? []) await dependencyReady(dep);
          await svc.prepare(ctx);
          const t0 = Date.now();
          const launch = svc.launch(ctx);
          if (!launch.launcherExits && launch.child.pid) fs.writeFileSync(svc.pidFile, `${launch.child.pid}\n`);
          const pid = await waitReady(svc, launch, timeoutMs);
          await svc.afterReady?.();
          const ms = Date.now() - t0;
          say(`${pad(svc.name)} ready on ${svc.address} (${secs(ms)}${installMs ? `, installed in ${secs(installMs)}` : ''})`);
          results.push({ name: svc.name, state: 'started', pid, address: svc.address, ms });
        })();
      ready.set(svc.name, job);
      job.catch(() => undefined); // awaited below; dependants see the failure through dependencyReady
      jobs.push(job);
    }
    const settled = await Promise.allSettled(jobs);
    fs.rmSync(path.join(cfg.dir, '.downloads'), { recursive: true, force: true });
    const errors = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => s.reason as Error);
    if (errors.length) {
      const msg = [...new Set(errors.map((e) => e.message))].join('\n\n');
      throw new StackError(`${msg}\n(services that did start are left running; \`npm run stack:down\` stops them)`);
    }
    return results;
  });
}

export interface DownOptions {
  services?: ServiceName[];
  /** SIGKILL instead of a clean stop (chaos tests: a broker that dies). */
  kill?: boolean;
  log?: (line: string) => void;
}

export async function stackDown(opts: DownOptions = {}): Promise<void> {
  const say = opts.log ?? ((l: string) => console.log(l));
  const cfg = stackConfig();
  const targets = resolveServices(allServices(cfg), opts.services);
  if (!fs.existsSync(cfg.dir)) {
    for (const s of targets) say(`${pad(s.name)} not running`);
    return;
  }
  await withLock(cfg, say, async () => {
    await Promise.all(
      targets.map(async (svc) => {
        const t0 = Date.now();
        const r = await stopService(svc, opts.kill ? 'SIGKILL' : undefined);
        say(`${pad(svc.name)} ${r === 'stopped' ? `${opts.kill ? 'killed' : 'stopped'} (${secs(Date.now() - t0)})` : 'not running'}`);
      }),
    );
  });
}

export interface ServiceStatus {
  name: ServiceName;
  running: boolean;
  pid: number | undefined;
  address: string;
  /** resident memory in MiB (Linux only) */
  rssMiB: number | undefined;
}

function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

export async function stackStatus(): Promise<ServiceStatus[]> {
  return allServices(stackConfig()).map((svc) => {
    const pid = ourPid(svc);
    return { name: svc.name, running: pid !== undefined, pid, address: svc.address, rssMiB: pid ? rssMiB(pid) : undefined };
  });
}

