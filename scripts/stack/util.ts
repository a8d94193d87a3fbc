/** Small process, file and JVM helpers the stack services share (scripts/stack/*.ts). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { POM, REPO_ROOT, type ServiceName, type StackConfig, StackError } from './config.js';
// ---------------------------------------------------------------------------------------------
// small helpers

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export function requireTool(cmd: string, hint: string, extra: string[] = []): string {
  const found = which(cmd) ?? extra.find((p) => fs.existsSync(p));
  if (!found) throw new StackError(`'${cmd}' not found on PATH: ${hint}`);
  return found;
}

export function mkdirp(p: string): string {
  fs.mkdirSync(p, { recursive: true });
  return p;
}

export function tail(file: string, lines = 40): string {
  try {
    const st = fs.statSync(file);
    const len = Math.min(st.size, 64 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, st.size - len);
    fs.closeSync(fd);
    return buf.toString('utf8').split('\n').slice(-lines).join('\n').trimEnd();
  } catch {
    return '';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // an exited child not yet reaped by its parent (zombie) is not alive
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc (macOS): trust kill(0)
  }
}

export function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : '';
  }
}

export function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Port free on host? (listen test: also catches servers bound to 0.0.0.0 / ::) */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function whoListens(port: number): string {
  if (!which('ss')) return '';
  const r = spawnSync('ss', ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8' });
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout ?? '');
  return m ? ` (${m[1]} pid ${m[2]})` : '';
}

/** Run a command to completion, output appended to logFile; rejects with the log tail. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string; what: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(opts.logFile, 'a');
    fs.writeSync(fd, `\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    child.once('error', (e) => reject(new StackError(`${opts.what}: cannot run ${cmd}: ${e.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new StackError(
            `${opts.what} failed (${signal ?? `exit ${code}`}); last lines of ${opts.logFile}:\n${tail(opts.logFile, 30)}`,
          ),
        );
    });
  });
}

export function chownR(p: string, uid: number, gid: number): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chownR(path.join(p, e), uid, gid);
}

export function makeWritable(p: string): void {
  const st = fs.lstatSync(p);
  if (st.isSymbolicLink()) return;
  fs.chmodSync(p, st.mode | 0o200);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) makeWritable(path.join(p, e));
}

export function readMarker(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
// ---------------------------------------------------------------------------------------------
// JDKs

export interface Jdk {
  java: string;
  home: string;
  major: number;
  version: string;
}

export const jdkCache = new Map<string, Jdk | null>();

export function probeJava(javaBin: string): Jdk | undefined {
  const cached = jdkCache.get(javaBin);
  if (cached !== undefined) return cached ?? undefined;
  let jdk: Jdk | undefined;
  try {
    const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
    const m = /version "([^"]+)"/.exec(`${r.stderr}${r.stdout}`);
    if (m?.[1]) {
      const v = m[1];
      const parts = v.split(/[.+-]/).map(Number);
      const major = parts[0] === 1 ? (parts[1] ?? 0) : (parts[0] ?? 0);
      jdk = { java: javaBin, home: path.dirname(path.dirname(fs.realpathSync(javaBin))), major, version: v };
    }
  } catch {
    jdk = undefined;
  }
  jdkCache.set(javaBin, jdk ?? null);
  return jdk;
}

export function javaCandidates(): string[] {
  const out: string[] = [];
  const add = (p: string | undefined) => {
    if (p && fs.existsSync(p) && !out.includes(p)) out.push(p);
  };
  if (process.env.JAVA_HOME) add(path.join(process.env.JAVA_HOME, 'bin', 'java'));
  add(which('java'));
  for (const base of ['/usr/lib/jvm', '/opt/java', '/usr/java', '/Library/Java/JavaVirtualMachines']) {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(base).sort();
    } catch {
      continue;
    }
    for (const e of entries) {
      add(path.join(base, e, 'bin', 'java'));
      add(path.join(base, e, 'Contents', 'Home', 'bin', 'java'));
    }
  }
  return out;
}

/** First JDK >= minMajor: $envVar (a JDK home) if set, else JAVA_HOME, `java` on PATH, /usr/lib/jvm/*. */
export function findJdk(minMajor: number, envVar: string, forWhat: string): Jdk {
  const forced = process.env[envVar];
  if (forced) {
    const jdk = probeJava(path.join(forced, 'bin', 'java'));
    if (!jdk || jdk.major < minMajor)
      throw new StackError(`${envVar}=${forced} is not a Java ${minMajor}+ home (needed by ${forWhat})`);
    return jdk;
  }
  const cands = javaCandidates();
  if (cands.length === 0)
    throw new StackError(`'java' not found on PATH: install a JDK 17+ (apt-get install openjdk-17-jdk-headless)`);
  const found: Jdk[] = [];
  for (const c of cands) {
    const jdk = probeJava(c);
    if (!jdk) continue;
    if (jdk.major >= minMajor) return jdk;
    found.push(jdk);
  }
  throw new StackError(
    `${forWhat} needs Java ${minMajor}+, found only ${found.map((j) => `${j.version} (${j.home})`).join(', ') || 'none'}: ` +
      `install one (e.g. apt-get install openjdk-${Math.max(minMajor, 21)}-jre-headless) or set ${envVar}`,
  );
}

/**
 * C1-only JIT: roughly halves JVM startup CPU on 2 cores; peak throughput is lower, so for
 * benchmarks set STACK_FULL_JIT=1.
 */
export function jitFlags(): string[] {
  return process.env.STACK_FULL_JIT === '1' ? [] : ['-XX:TieredStopAtLevel=1'];
}

/** Flags that silence JDK 24+ warnings about Unsafe / native access used by Netty, Lucene, JNA. */
export function modernJdkFlags(jdk: Jdk): string[] {
  const f: string[] = [];
  if (jdk.major >= 22) f.push('--enable-native-access=ALL-UNNAMED');
  if (jdk.major >= 24) f.push('--sun-misc-unsafe-memory-access=allow');
  return f;
}
// ---------------------------------------------------------------------------------------------
// install (shared Maven fetch; per-user caches)

export interface Ctx {
  cfg: StackConfig;
  installLog: string;
  mvnFetch?: Promise<string>;
  /** what the Maven run must fetch: Kafka jars and/or the Apicurio + ES archives */
  mvnGoals: string[];
  say: (line: string) => void;
  announcedInstall: boolean;
  /** Work shared by services during one `up` (e.g. Kafka's jars, installed once for three nodes). */
  shared: Record<string, Promise<void>>;
}

export function announceInstall(ctx: Ctx, what: string): void {
  if (ctx.announcedInstall) return;
  ctx.announcedInstall = true;
  ctx.say(`stack: first run: installing ${what} into ${path.relative(process.cwd(), ctx.cfg.dir) || ctx.cfg.dir} (log: ${ctx.installLog})`);
}

/**
 * One Maven run fetches everything Java we need into .stack/.downloads: the Kafka jars
 * (copy-dependencies) and the Apicurio / Elasticsearch archives (copy). Shared by the services.
 */
export function mvnFetch(ctx: Ctx): Promise<string> {
  ctx.mvnFetch ??= (async () => {
    const mvn = requireTool('mvn', 'install Maven (apt-get install maven)');
    const out = path.join(ctx.cfg.dir, '.downloads');
    fs.rmSync(out, { recursive: true, force: true });
    mkdirp(out);
    await run(
      mvn,
      ['-B', '-q', '-Dstyle.color=never', '-f', POM, ...ctx.mvnGoals, `-DoutputDirectory=${out}`],
      { logFile: ctx.installLog, what: `mvn ${ctx.mvnGoals.join(' ')} (stack/pom.xml)`, cwd: REPO_ROOT },
    );
    return out;
  })();
  return ctx.mvnFetch;
}

export function unzipTo(zip: string, dest: string, ctx: Ctx): Promise<void> {
  const unzip = which('unzip');
  if (unzip) return run(unzip, ['-q', '-o', zip, '-d', dest], { logFile: ctx.installLog, what: `unzip ${path.basename(zip)}` });
  // fallback: the JDK's jar tool (does not keep exec bits; fixed by the caller)
  const jar = path.join(findJdk(17, 'STACK_JAVA_HOME', 'unzip').home, 'bin', 'jar');
  if (!fs.existsSync(jar)) throw new StackError(`'unzip' not found on PATH: install it (apt-get install unzip)`);
  return run(jar, ['xf', zip], { cwd: dest, logFile: ctx.installLog, what: `jar xf ${path.basename(zip)}` });
}
// ---------------------------------------------------------------------------------------------
// services

export interface Launch {
  child: ChildProcess;
  /** the launcher exits by design (ES daemonizes); the real pid then comes from the pid file */
  launcherExits?: boolean;
}

export interface Service {
  name: ServiceName;
  dir: string;
  pidFile: string;
  logs: string[];
  ports: { port: number; env: string }[];
  address: string;
  /** What `up --fresh` wipes. */
  dataDirs: string[];
  /** Services that must be ready before this one starts (FerretDB needs PostgreSQL). */
  dependsOn?: ServiceName[];
  /** What install needs from the machine: 'mvn', 'go', or nothing. */
  needs?: 'mvn' | 'go';
  installed(): boolean;
  install(ctx: Ctx): Promise<void>;
  /** called before launch (prereqs, config files, formatting); fresh = data wiped */
  prepare(ctx: Ctx): Promise<void>;
  launch(ctx: Ctx): Launch;
  probe(): Promise<boolean>;
  /** right after a start is ready, and on every `up` that finds it running: must be idempotent */
  afterReady?(): Promise<void>;
  stopTimeoutMs: number;
  /** The signal for a clean stop (default SIGTERM). */
  stopSignal?: NodeJS.Signals;
}

export function spawnDetached(
  cmd: string,
  args: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; uid?: number; gid?: number },
): ChildProcess {
  const fd = fs.openSync(o.logFile, 'a');
  fs.writeSync(fd, `\n==== ${new Date().toISOString()} starting: ${cmd} ${args.join(' ')}\n`);
  if (o.uid !== undefined) fs.fchownSync(fd, o.uid, o.gid ?? o.uid);
  const child = spawn(cmd, args, {
    cwd: o.cwd,
    env: o.env,
    detached: true,
    stdio: ['ignore', fd, fd],
    ...(o.uid !== undefined ? { uid: o.uid, gid: o.gid } : {}),
  });
  fs.closeSync(fd);
  child.unref();
  return child;
}

export function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // keep user-wide JVM options from leaking into the servers
  delete env.JAVA_TOOL_OPTIONS;
  delete env._JAVA_OPTIONS;
  delete env.JDK_JAVA_OPTIONS;
  return env;
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error('probe timeout')), ms)))]);
  } finally {
    if (t) clearTimeout(t);
  }
}

export async function httpJson(url: string, timeoutMs = 2000): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not json */
  }
  return { status: res.status, body };
}
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/**
 * Elasticsearch and PostgreSQL refuse to run as root: as root, run them under a system user
 * (created if missing). Not root: run as ourselves.
 */
export function runAsSystemUser(user: string): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const idOf = (flag: string) => spawnSync('id', [flag, user], { encoding: 'utf8' });
  if (idOf('-u').status !== 0) {
    const useradd = requireTool('useradd', `install passwd (apt-get install passwd), or create user '${user}' yourself`, [
      '/usr/sbin/useradd',
      '/sbin/useradd',
    ]);
    const r = spawnSync(
      useradd,
      ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', user],
      { encoding: 'utf8' },
    );
    if (r.status !== 0 && idOf('-u').status !== 0)
      throw new StackError(`could not create system user '${user}': ${r.stderr.trim()}`);
  }
  return { user, uid: Number(idOf('-u').stdout.trim()), gid: Number(idOf('-g').stdout.trim()) };
}

export function checkTraversable(target: string, who: RunAs, service = 'elasticsearch'): void {
  let p = path.dirname(target);
  for (;;) {
    const st = fs.statSync(p);
    const ok = st.uid === who.uid ? st.mode & 0o100 : st.gid === who.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok)
      throw new StackError(
        `${service}: runs as user '${who.user}' (it refuses root) but cannot enter ${p}: chmod o+x ${p}, or set the stack dir elsewhere`,
      );
    const up = path.dirname(p);
    if (up === p) return;
    p = up;
  }
}

/** Whether a user who is neither owner nor group of the folders can reach `target`. */
export function othersCanTraverse(target: string): boolean {
  for (let p = target; ; p = path.dirname(p)) {
    if (fs.existsSync(p) && !(fs.statSync(p).mode & 0o001)) return false;
    if (path.dirname(p) === p) return true;
  }
}

/**
 * Where a service that runs as its own system user lives. Normally .stack/<name>; but that user
 * cannot enter a checkout under a private folder (a `mktemp -d` clone is 0700, as CI's may be).
 * Then it lives under /var/lib/lead-router/<hash of this checkout>/<name> instead, owned by that
 * user, and nothing about the checkout's permissions has to change.
 */
export function privateServiceDir(cfg: StackConfig, name: string, override: string | undefined): string {
  if (override) return path.resolve(override);
  const inRepo = path.join(cfg.dir, name);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || othersCanTraverse(cfg.dir)) return inRepo;
  const id = crypto.createHash('sha256').update(cfg.dir).digest('hex').slice(0, 12);
  return path.join('/var/lib/lead-router', id, name);
}
