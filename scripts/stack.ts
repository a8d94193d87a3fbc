/**
 * Local stack for tests and local runs: REAL servers, no Docker.
 *
 *   kafka          Apache Kafka 4.1.1, KRaft, one combined broker+controller   127.0.0.1:9092 (controller :9093)
 *   apicurio       Apicurio Registry 3.3.3, in-memory (H2), Confluent API      http://127.0.0.1:8081/apis/ccompat/v7
 *   ferretdb       FerretDB v1.24.0 on SQLite (MongoDB wire protocol)          mongodb://127.0.0.1:27017/
 *   elasticsearch  Elasticsearch 8.19.21 (integ-test-zip), single node         http://127.0.0.1:9200
 *
 * CLI:  tsx scripts/stack.ts up [--fresh] [service...] | down [service...] | status | env
 * API:  stackUp(opts), stackDown(opts), stackStatus(), stackEndpoints()
 *
 * Everything lives in .stack/ (gitignored): .stack/<service>/{dist|libs, data, *.log, <service>.pid}.
 * Downloads are cached per user: Maven artifacts in ~/.m2 (versions in stack/pom.xml), the FerretDB
 * binary in $(go env GOPATH)/bin/ferretdb (built once from the Go module proxy).
 *
 * Env overrides (defaults in brackets): STACK_DIR [.stack], STACK_HOST [127.0.0.1],
 * STACK_KAFKA_PORT [9092], STACK_KAFKA_CONTROLLER_PORT [9093], STACK_REGISTRY_PORT [8081],
 * STACK_REGISTRY_MGMT_PORT [8091], STACK_MONGO_PORT [27017], STACK_FERRETDB_DEBUG_PORT [8088],
 * STACK_ES_PORT [9200], STACK_KAFKA_HEAP [512m], STACK_REGISTRY_HEAP [384m], STACK_ES_HEAP [512m],
 * STACK_REGISTRY_COMPATIBILITY [BACKWARD] (global level set on the registry at start, as Confluent's default),
 * STACK_TIMEOUT_S [180] (readiness, per service), STACK_FULL_JIT=1 (C2 JIT for the JVMs, for
 * benchmarks; default is C1-only for cheaper startup), STACK_JAVA_HOME (JDK 17+ for Kafka and ES),
 * STACK_ES_DIR [.stack/elasticsearch, or /var/lib/lead-router/<id> when the checkout is private],
 * STACK_JAVA21_HOME (JDK 21+ for Apicurio 3.x), STACK_ES_USER [elasticsearch] (ES refuses to run
 * as root, so as root it runs under this user, created if missing), STACK_FERRETDB_BIN.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServiceName = 'kafka' | 'apicurio' | 'ferretdb' | 'elasticsearch';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'apicurio', 'ferretdb', 'elasticsearch'];

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const POM = path.join(REPO_ROOT, 'stack', 'pom.xml');
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
const FERRETDB_VERSION = 'v1.24.0';
const INSTALLED_MARKER = '.stack-installed';

export class StackError extends Error {
  override name = 'StackError';
}

// ---------------------------------------------------------------------------------------------
// configuration

function envInt(env: NodeJS.ProcessEnv, name: string, def: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new StackError(`${name}=${raw} is not a valid number`);
  return n;
}

export interface StackConfig {
  dir: string;
  host: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  registryPort: number;
  registryMgmtPort: number;
  mongoPort: number;
  ferretdbDebugPort: number;
  esPort: number;
  kafkaHeap: string;
  registryHeap: string;
  esHeap: string;
  timeoutMs: number;
  versions: { kafka: string; apicurio: string; elasticsearch: string; ferretdb: string };
}

function pomVersions(): StackConfig['versions'] {
  const pom = fs.readFileSync(POM, 'utf8');
  const prop = (name: string): string => {
    const m = new RegExp(`<${name.replace(/\./g, '\\.')}>\\s*([^<\\s]+)\\s*</`).exec(pom);
    if (!m?.[1]) throw new StackError(`stack/pom.xml: property <${name}> not found`);
    return m[1];
  };
  return {
    kafka: prop('kafka.version'),
    apicurio: prop('apicurio.version'),
    elasticsearch: prop('elasticsearch.version'),
    ferretdb: FERRETDB_VERSION,
  };
}

export function stackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  return {
    dir: path.resolve(REPO_ROOT, env.STACK_DIR || '.stack'),
    host: env.STACK_HOST || '127.0.0.1',
    kafkaPort: envInt(env, 'STACK_KAFKA_PORT', 9092),
    kafkaControllerPort: envInt(env, 'STACK_KAFKA_CONTROLLER_PORT', 9093),
    registryPort: envInt(env, 'STACK_REGISTRY_PORT', 8081),
    registryMgmtPort: envInt(env, 'STACK_REGISTRY_MGMT_PORT', 8091),
    mongoPort: envInt(env, 'STACK_MONGO_PORT', 27017),
    ferretdbDebugPort: envInt(env, 'STACK_FERRETDB_DEBUG_PORT', 8088),
    esPort: envInt(env, 'STACK_ES_PORT', 9200),
    kafkaHeap: env.STACK_KAFKA_HEAP || '512m',
    registryHeap: env.STACK_REGISTRY_HEAP || '384m',
    esHeap: env.STACK_ES_HEAP || '512m',
    timeoutMs: (Number(env.STACK_TIMEOUT_S) > 0 ? Number(env.STACK_TIMEOUT_S) : 180) * 1000,
    versions: pomVersions(),
  };
}

/** Client-side addresses of the stack, for app config and tests. */
export function stackEndpoints(cfg: StackConfig = stackConfig()) {
  const h = cfg.host;
  return {
    kafkaBrokers: `${h}:${cfg.kafkaPort}`,
    registryUrl: `http://${h}:${cfg.registryPort}/apis/ccompat/v7`,
    mongoUrl: `mongodb://${h}:${cfg.mongoPort}/`,
    esUrl: `http://${h}:${cfg.esPort}`,
  };
}

// ---------------------------------------------------------------------------------------------
// small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

function which(cmd: string): string | undefined {
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

function requireTool(cmd: string, hint: string, extra: string[] = []): string {
  const found = which(cmd) ?? extra.find((p) => fs.existsSync(p));
  if (!found) throw new StackError(`'${cmd}' not found on PATH: ${hint}`);
  return found;
}

function mkdirp(p: string): string {
  fs.mkdirSync(p, { recursive: true });
  return p;
}

function tail(file: string, lines = 40): string {
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

function isAlive(pid: number): boolean {
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

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : '';
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Port free on host? (listen test: also catches servers bound to 0.0.0.0 / ::) */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function whoListens(port: number): string {
  if (!which('ss')) return '';
  const r = spawnSync('ss', ['-H', '-ltnp', `sport = :${port}`], { encoding: 'utf8' });
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(r.stdout ?? '');
  return m ? ` (${m[1]} pid ${m[2]})` : '';
}

/** Run a command to completion, output appended to logFile; rejects with the log tail. */
function run(
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

function chownR(p: string, uid: number, gid: number): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return;
  }
  if (st.uid !== uid || st.gid !== gid) fs.lchownSync(p, uid, gid);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) chownR(path.join(p, e), uid, gid);
}

function makeWritable(p: string): void {
  const st = fs.lstatSync(p);
  if (st.isSymbolicLink()) return;
  fs.chmodSync(p, st.mode | 0o200);
  if (st.isDirectory()) for (const e of fs.readdirSync(p)) makeWritable(path.join(p, e));
}

function readMarker(p: string): string {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// ---------------------------------------------------------------------------------------------
// JDKs

interface Jdk {
  java: string;
  home: string;
  major: number;
  version: string;
}

const jdkCache = new Map<string, Jdk | null>();

function probeJava(javaBin: string): Jdk | undefined {
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

function javaCandidates(): string[] {
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
function findJdk(minMajor: number, envVar: string, forWhat: string): Jdk {
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
function jitFlags(): string[] {
  return process.env.STACK_FULL_JIT === '1' ? [] : ['-XX:TieredStopAtLevel=1'];
}

/** Flags that silence JDK 24+ warnings about Unsafe / native access used by Netty, Lucene, JNA. */
function modernJdkFlags(jdk: Jdk): string[] {
  const f: string[] = [];
  if (jdk.major >= 22) f.push('--enable-native-access=ALL-UNNAMED');
  if (jdk.major >= 24) f.push('--sun-misc-unsafe-memory-access=allow');
  return f;
}

// ---------------------------------------------------------------------------------------------
// install (shared Maven fetch; per-user caches)

interface Ctx {
  cfg: StackConfig;
  installLog: string;
  mvnFetch?: Promise<string>;
  /** what the Maven run must fetch: Kafka jars and/or the Apicurio + ES archives */
  mvnGoals: string[];
  say: (line: string) => void;
  announcedInstall: boolean;
}

function announceInstall(ctx: Ctx, what: string): void {
  if (ctx.announcedInstall) return;
  ctx.announcedInstall = true;
  ctx.say(`stack: first run: installing ${what} into ${path.relative(process.cwd(), ctx.cfg.dir) || ctx.cfg.dir} (log: ${ctx.installLog})`);
}

/**
 * One Maven run fetches everything Java we need into .stack/.downloads: the Kafka jars
 * (copy-dependencies) and the Apicurio / Elasticsearch archives (copy). Shared by the services.
 */
function mvnFetch(ctx: Ctx): Promise<string> {
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

function unzipTo(zip: string, dest: string, ctx: Ctx): Promise<void> {
  const unzip = which('unzip');
  if (unzip) return run(unzip, ['-q', '-o', zip, '-d', dest], { logFile: ctx.installLog, what: `unzip ${path.basename(zip)}` });
  // fallback: the JDK's jar tool (does not keep exec bits; fixed by the caller)
  const jar = path.join(findJdk(17, 'STACK_JAVA_HOME', 'unzip').home, 'bin', 'jar');
  if (!fs.existsSync(jar)) throw new StackError(`'unzip' not found on PATH: install it (apt-get install unzip)`);
  return run(jar, ['xf', zip], { cwd: dest, logFile: ctx.installLog, what: `jar xf ${path.basename(zip)}` });
}

// ---------------------------------------------------------------------------------------------
// services

interface Launch {
  child: ChildProcess;
  /** the launcher exits by design (ES daemonizes); the real pid then comes from the pid file */
  launcherExits?: boolean;
}

interface Service {
  name: ServiceName;
  dir: string;
  pidFile: string;
  logs: string[];
  ports: { port: number; env: string }[];
  address: string;
  installed(): boolean;
  install(ctx: Ctx): Promise<void>;
  /** called before launch (prereqs, config files, formatting); fresh = data wiped */
  prepare(ctx: Ctx): Promise<void>;
  launch(ctx: Ctx): Launch;
  probe(): Promise<boolean>;
  /** once, right after a fresh start is ready */
  afterReady?(): Promise<void>;
  stopTimeoutMs: number;
}

function spawnDetached(
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

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // keep user-wide JVM options from leaking into the servers
  delete env.JAVA_TOOL_OPTIONS;
  delete env._JAVA_OPTIONS;
  delete env.JDK_JAVA_OPTIONS;
  return env;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error('probe timeout')), ms)))]);
  } finally {
    if (t) clearTimeout(t);
  }
}

async function httpJson(url: string, timeoutMs = 2000): Promise<{ status: number; body: unknown }> {
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

// ---- Kafka ----------------------------------------------------------------------------------

function kafkaService(cfg: StackConfig): Service {
  const dir = path.join(cfg.dir, 'kafka');
  const libs = path.join(dir, 'libs');
  const data = path.join(dir, 'data');
  const props = path.join(dir, 'server.properties');
  const log4j = path.join(dir, 'log4j2.xml');
  const stamp = path.join(dir, 'format.json');
  const controller = `${cfg.host}:${cfg.kafkaControllerPort}`;
  let jdk: Jdk | undefined;
  const javaArgs = (): string[] => [
    ...modernJdkFlags(jdk!),
    '-XX:+UseSerialGC',
    ...jitFlags(),
    '-Xshare:auto',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4j}`,
    `-Dkafka.logs.dir=${dir}`,
    `-Djava.io.tmpdir=${path.join(dir, 'tmp')}`,
    '-cp',
    `${libs}/*`,
  ];
  return {
    name: 'kafka',
    dir,
    pidFile: path.join(dir, 'kafka.pid'),
    logs: [path.join(dir, 'kafka.log'), path.join(dir, 'kafka.out')],
    ports: [
      { port: cfg.kafkaPort, env: 'STACK_KAFKA_PORT' },
      { port: cfg.kafkaControllerPort, env: 'STACK_KAFKA_CONTROLLER_PORT' },
    ],
    address: `${cfg.host}:${cfg.kafkaPort}`,
    stopTimeoutMs: 30_000,
    installed: () => readMarker(path.join(libs, INSTALLED_MARKER)) === cfg.versions.kafka,
    async install(ctx) {
      const dl = await mvnFetch(ctx);
      const tmp = path.join(dir, '.libs-tmp');
      fs.rmSync(tmp, { recursive: true, force: true });
      mkdirp(tmp);
      for (const f of fs.readdirSync(dl)) if (f.endsWith('.jar')) fs.copyFileSync(path.join(dl, f), path.join(tmp, f));
      if (!fs.existsSync(path.join(tmp, `kafka_2.13-${cfg.versions.kafka}.jar`)))
        throw new StackError(`kafka: kafka_2.13-${cfg.versions.kafka}.jar missing after mvn (see ${ctx.installLog})`);
      fs.writeFileSync(path.join(tmp, INSTALLED_MARKER), cfg.versions.kafka);
      fs.rmSync(libs, { recursive: true, force: true });
      fs.renameSync(tmp, libs);
    },
    async prepare() {
      jdk = findJdk(17, 'STACK_JAVA_HOME', `Kafka ${cfg.versions.kafka}`);
      fs.rmSync(path.join(dir, 'tmp'), { recursive: true, force: true });
      mkdirp(path.join(dir, 'tmp'));
      fs.writeFileSync(
        props,
        [
          '# generated by scripts/stack.ts on every `up`; edit there',
          'process.roles=broker,controller',
          'node.id=1',
          `controller.quorum.bootstrap.servers=${controller}`,
          `listeners=PLAINTEXT://${cfg.host}:${cfg.kafkaPort},CONTROLLER://${controller}`,
          `advertised.listeners=PLAINTEXT://${cfg.host}:${cfg.kafkaPort},CONTROLLER://${controller}`,
          'controller.listener.names=CONTROLLER',
          'inter.broker.listener.name=PLAINTEXT',
          'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          `log.dirs=${data}`,
          'num.partitions=6',
          'default.replication.factor=1',
          'min.insync.replicas=1',
          'offsets.topic.replication.factor=1',
          'offsets.topic.num.partitions=10',
          'transaction.state.log.replication.factor=1',
          'transaction.state.log.min.isr=1',
          'transaction.state.log.num.partitions=10',
          'share.coordinator.state.topic.replication.factor=1',
          'share.coordinator.state.topic.min.isr=1',
          'auto.create.topics.enable=false',
          'group.initial.rebalance.delay.ms=0',
          'num.network.threads=2',
          'num.io.threads=4',
          'num.recovery.threads.per.data.dir=1',
          'log.retention.hours=168',
          '',
        ].join('\n'),
      );
      const kafkaLog = xmlEscape(path.join(dir, 'kafka.log'));
      fs.writeFileSync(
        log4j,
        `<?xml version="1.0" encoding="UTF-8"?>
<!-- generated by scripts/stack.ts -->
<Configuration status="WARN">
  <Appenders>
    <RollingFile name="file" fileName="${kafkaLog}" filePattern="${kafkaLog}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="kafka.authorizer.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients.NetworkClient" level="WARN"/>
  </Loggers>
</Configuration>
`,
      );
      // KRaft storage: format once (dynamic single-voter quorum, like the quickstart's `kafka-storage format --standalone`)
      if (fs.existsSync(path.join(data, 'meta.properties'))) {
        const prev = (() => {
          try {
            return JSON.parse(fs.readFileSync(stamp, 'utf8')) as { controller?: string };
          } catch {
            return {};
          }
        })();
        if (prev.controller && prev.controller !== controller)
          throw new StackError(
            `kafka: data in ${data} was formatted for controller ${prev.controller}, now ${controller}; run \`npm run stack:up -- --fresh\``,
          );
        return;
      }
      mkdirp(data);
      let clusterId: string;
      do clusterId = crypto.randomBytes(16).toString('base64url');
      while (clusterId.startsWith('-'));
      await run(jdk.java, [...javaArgs(), 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', props], {
        logFile: path.join(dir, 'kafka.out'),
        what: 'kafka: storage format',
        cwd: dir,
      });
      fs.writeFileSync(stamp, JSON.stringify({ clusterId, controller, formattedAt: new Date().toISOString() }, null, 2));
    },
    launch() {
      const child = spawnDetached(
        jdk!.java,
        [`-Xms128m`, `-Xmx${cfg.kafkaHeap}`, ...javaArgs(), 'kafka.Kafka', props],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'kafka.out') },
      );
      return { child };
    },
    async probe() {
      const { Kafka, logLevel } = (await import('kafkajs')).default;
      const admin = new Kafka({
        clientId: 'stack-probe',
        brokers: [`${cfg.host}:${cfg.kafkaPort}`],
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1000,
        requestTimeout: 3000,
        retry: { retries: 0 },
      }).admin();
      try {
        await withTimeout(admin.connect(), 4000);
        const c = await withTimeout(admin.describeCluster(), 4000);
        return c.brokers.length > 0;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };
}

// ---- Apicurio Registry ----------------------------------------------------------------------

function apicurioService(cfg: StackConfig): Service {
  const dir = path.join(cfg.dir, 'apicurio');
  const dist = path.join(dir, 'dist');
  const tmpDir = path.join(dir, 'tmp');
  let jdk: Jdk | undefined;
  const url = `http://${cfg.host}:${cfg.registryPort}/apis/ccompat/v7`;
  return {
    name: 'apicurio',
    dir,
    pidFile: path.join(dir, 'apicurio.pid'),
    logs: [path.join(dir, 'apicurio.log')],
    ports: [
      { port: cfg.registryPort, env: 'STACK_REGISTRY_PORT' },
      { port: cfg.registryMgmtPort, env: 'STACK_REGISTRY_MGMT_PORT' },
    ],
    address: url,
    stopTimeoutMs: 20_000,
    installed: () => fs.existsSync(path.join(dist, 'quarkus-run.jar')) && readMarker(path.join(dist, INSTALLED_MARKER)) === cfg.versions.apicurio,
    async install(ctx) {
      const dl = await mvnFetch(ctx);
      const archive = path.join(dl, `apicurio-registry-app-${cfg.versions.apicurio}-all.tar.gz`);
      if (!fs.existsSync(archive)) throw new StackError(`apicurio: ${path.basename(archive)} missing after mvn (see ${ctx.installLog})`);
      const tmp = path.join(dir, '.dist-tmp');
      fs.rmSync(tmp, { recursive: true, force: true });
      mkdirp(tmp);
      await run(requireTool('tar', 'install tar'), ['-xzf', archive, '-C', tmp], { logFile: ctx.installLog, what: 'apicurio: untar' });
      if (!fs.existsSync(path.join(tmp, 'quarkus-run.jar'))) throw new StackError(`apicurio: quarkus-run.jar not in ${path.basename(archive)}`);
      fs.writeFileSync(path.join(tmp, INSTALLED_MARKER), cfg.versions.apicurio);
      fs.rmSync(dist, { recursive: true, force: true });
      fs.renameSync(tmp, dist);
      fs.rmSync(archive, { force: true });
    },
    async prepare() {
      // Apicurio Registry 3.x is compiled for Java 21 (class file 65)
      jdk = findJdk(21, 'STACK_JAVA21_HOME', `Apicurio Registry ${cfg.versions.apicurio}`);
      fs.rmSync(tmpDir, { recursive: true, force: true });
      mkdirp(tmpDir);
    },
    launch() {
      const sys = {
        'quarkus.http.host': cfg.host,
        'quarkus.http.port': String(cfg.registryPort),
        // health/metrics management interface (build-time enabled; default 0.0.0.0:9000)
        'quarkus.management.host': cfg.host,
        'quarkus.management.port': String(cfg.registryMgmtPort),
        'quarkus.log.console.format': '%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n',
        // in-memory H2 (the default storage): trim the pool for a dev box
        'apicurio.storage.kind': 'sql',
        'apicurio.storage.sql.kind': 'h2',
        'apicurio.datasource.jdbc.initial-size': '2',
        'apicurio.datasource.jdbc.min-size': '2',
        'apicurio.datasource.jdbc.max-size': '20',
        'apicurio.storage.snapshot.location': tmpDir,
        'apicurio.import.work-dir': tmpDir,
        // dev/test convenience: allow DELETE /subjects/... through the ccompat API
        'apicurio.rest.deletion.group.enabled': 'true',
        'apicurio.rest.deletion.artifact.enabled': 'true',
        'apicurio.rest.deletion.artifact-version.enabled': 'true',
        // no auth (these are the defaults, spelled out)
        'apicurio.authn.basic-client-credentials.enabled': 'false',
        'quarkus.oidc.tenant-enabled': 'false',
        'apicurio.auth.role-based-authorization': 'false',
      };
      const child = spawnDetached(
        jdk!.java,
        [
          '-Xms64m',
          `-Xmx${cfg.registryHeap}`,
          ...modernJdkFlags(jdk!),
          '-XX:+UseSerialGC',
          ...jitFlags(),
          '-Xshare:auto',
          '-XX:+ExitOnOutOfMemoryError',
          `-Djava.io.tmpdir=${tmpDir}`,
          ...Object.entries(sys).map(([k, v]) => `-D${k}=${v}`),
          '-jar',
          path.join(dist, 'quarkus-run.jar'),
        ],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'apicurio.log') },
      );
      return { child };
    },
    async probe() {
      const r = await httpJson(`${url}/subjects`);
      return r.status === 200 && Array.isArray(r.body);
    },
    /**
     * Confluent Schema Registry defaults to global BACKWARD compatibility, Apicurio to none; storage is
     * in-memory, so set it on every start (STACK_REGISTRY_COMPATIBILITY, default BACKWARD; 'none' to skip).
     */
    async afterReady() {
      const level = (process.env.STACK_REGISTRY_COMPATIBILITY || 'BACKWARD').toUpperCase();
      if (level === 'NONE') return;
      const res = await fetch(`${url}/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ compatibility: level }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new StackError(`apicurio: PUT ${url}/config {compatibility: ${level}} -> ${res.status} ${await res.text()}`);
    },
  };
}

// ---- FerretDB -------------------------------------------------------------------------------

function ferretdbService(cfg: StackConfig): Service {
  const dir = path.join(cfg.dir, 'ferretdb');
  const data = path.join(dir, 'data');
  const state = path.join(dir, 'state');
  const want = cfg.versions.ferretdb;
  let bin: string | undefined;

  const works = (p: string): boolean => {
    if (!fs.existsSync(p)) return false;
    const r = spawnSync(p, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 && r.stdout.includes(`version: ${want}`);
  };
  const defaultBinCandidates = (): string[] => {
    const c: string[] = [];
    if (process.env.GOBIN) c.push(path.join(process.env.GOBIN, 'ferretdb'));
    for (const gp of (process.env.GOPATH ?? '').split(path.delimiter)) if (gp) c.push(path.join(gp, 'bin', 'ferretdb'));
    c.push(path.join(os.homedir(), 'go', 'bin', 'ferretdb'));
    return c;
  };
  const locate = (): string | undefined => {
    const forced = process.env.STACK_FERRETDB_BIN;
    if (forced) {
      if (!works(forced)) throw new StackError(`STACK_FERRETDB_BIN=${forced} is not a working FerretDB ${want}`);
      return forced;
    }
    return defaultBinCandidates().find(works);
  };

  return {
    name: 'ferretdb',
    dir,
    pidFile: path.join(dir, 'ferretdb.pid'),
    logs: [path.join(dir, 'ferretdb.log')],
    ports: [
      { port: cfg.mongoPort, env: 'STACK_MONGO_PORT' },
      { port: cfg.ferretdbDebugPort, env: 'STACK_FERRETDB_DEBUG_PORT' },
    ],
    address: `mongodb://${cfg.host}:${cfg.mongoPort}/`,
    stopTimeoutMs: 15_000,
    installed: () => (bin ??= locate()) !== undefined,
    /**
     * `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.0` does not work: (1) it asks the
     * proxy for the module's version list (deprecation check), which proxy.golang.org refuses (403);
     * (2) the module zip lacks the generated build/version/version.txt, so such a binary panics at
     * start. So: fetch the exact module with `go mod download` (checksum-verified), add version.txt,
     * build it with its own go.mod/go.sum, install into $(go env GOPATH)/bin/ferretdb.
     */
    async install(ctx) {
      const go = requireTool('go', `install Go 1.22+ (https://go.dev/dl); needed once to build FerretDB ${want}`, ['/usr/local/go/bin/go']);
      const goEnv = (k: string) => spawnSync(go, ['env', k], { encoding: 'utf8' }).stdout.trim();
      const gobin = goEnv('GOBIN') || path.join(goEnv('GOPATH').split(path.delimiter)[0] || path.join(os.homedir(), 'go'), 'bin');
      const out = path.join(gobin, 'ferretdb');
      const dl = spawnSync(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${want}`], {
        encoding: 'utf8',
        cwd: os.tmpdir(),
        env: { ...process.env, GOFLAGS: '-mod=mod' },
        maxBuffer: 16 * 1024 * 1024,
      });
      fs.appendFileSync(ctx.installLog, `\n$ go mod download -json ${FERRETDB_MODULE}@${want}\n${dl.stdout}${dl.stderr}`);
      let modDir: string | undefined;
      try {
        const j = JSON.parse(dl.stdout) as { Dir?: string; Error?: string };
        if (j.Error) throw new Error(j.Error);
        modDir = j.Dir;
      } catch (e) {
        throw new StackError(`ferretdb: go mod download ${FERRETDB_MODULE}@${want} failed: ${(e as Error).message} ${dl.stderr.trim()}`);
      }
      if (!modDir) throw new StackError(`ferretdb: go mod download gave no module dir`);
      const src = path.join(dir, '.build-src');
      fs.rmSync(src, { recursive: true, force: true });
      fs.cpSync(modDir, src, { recursive: true });
      makeWritable(src);
      fs.writeFileSync(path.join(src, 'build', 'version', 'version.txt'), `${want}\n`);
      fs.writeFileSync(path.join(src, 'build', 'version', 'package.txt'), `lead-router-stack\n`);
      mkdirp(gobin);
      await run(go, ['build', '-trimpath', '-mod=mod', '-o', out, './cmd/ferretdb'], {
        cwd: src,
        logFile: ctx.installLog,
        what: `ferretdb: go build ${FERRETDB_MODULE}/cmd/ferretdb@${want}`,
      });
      fs.rmSync(src, { recursive: true, force: true });
      if (!works(out)) throw new StackError(`ferretdb: built ${out} but \`${out} --version\` does not report ${want}`);
      bin = out;
    },
    async prepare() {
      bin ??= locate();
      if (!bin) throw new StackError(`ferretdb: binary not found`);
      mkdirp(data);
      mkdirp(state);
    },
    launch() {
      const child = spawnDetached(
        bin!,
        [
          '--handler=sqlite',
          `--sqlite-url=file:${data}/`,
          `--listen-addr=${cfg.host}:${cfg.mongoPort}`,
          `--debug-addr=${cfg.host}:${cfg.ferretdbDebugPort}`,
          `--state-dir=${state}`,
          '--telemetry=disable',
          '--log-level=info',
        ],
        { cwd: dir, env: baseEnv(), logFile: path.join(dir, 'ferretdb.log') },
      );
      return { child };
    },
    async probe() {
      const { MongoClient } = await import('mongodb');
      const client = new MongoClient(`mongodb://${cfg.host}:${cfg.mongoPort}/`, {
        directConnection: true,
        serverSelectionTimeoutMS: 1500,
        connectTimeoutMS: 1500,
      });
      try {
        const r = await withTimeout(client.db('admin').command({ ping: 1 }), 4000);
        return r.ok === 1;
      } finally {
        await client.close().catch(() => undefined);
      }
    },
  };
}

// ---- Elasticsearch --------------------------------------------------------------------------

interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

/** ES refuses to run as root (no override exists since 5.x): as root, run it under a system user. */
function esRunAs(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const user = process.env.STACK_ES_USER || 'elasticsearch';
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
      throw new StackError(`elasticsearch: could not create user '${user}': ${r.stderr.trim()}`);
  }
  return { user, uid: Number(idOf('-u').stdout.trim()), gid: Number(idOf('-g').stdout.trim()) };
}

function checkTraversable(target: string, who: RunAs): void {
  let p = path.dirname(target);
  for (;;) {
    const st = fs.statSync(p);
    const ok = st.uid === who.uid ? st.mode & 0o100 : st.gid === who.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (!ok)
      throw new StackError(
        `elasticsearch: runs as user '${who.user}' (ES refuses root) but cannot enter ${p}: chmod o+x ${p}, or set STACK_ES_DIR elsewhere`,
      );
    const up = path.dirname(p);
    if (up === p) return;
    p = up;
  }
}

/** Whether a user who is neither owner nor group of the folders can reach `target`. */
function othersCanTraverse(target: string): boolean {
  for (let p = target; ; p = path.dirname(p)) {
    if (fs.existsSync(p) && !(fs.statSync(p).mode & 0o001)) return false;
    if (path.dirname(p) === p) return true;
  }
}

/**
 * Where Elasticsearch lives. Normally .stack/elasticsearch; but ES refuses root and runs as its
 * own user, who cannot enter a checkout under a private folder (a `mktemp -d` clone is 0700, as
 * CI's may be). Then it lives under /var/lib/lead-router/<hash of this checkout>/ instead, owned
 * by that user, and nothing about the checkout's permissions has to change.
 */
function elasticsearchDir(cfg: StackConfig): string {
  if (process.env.STACK_ES_DIR) return path.resolve(process.env.STACK_ES_DIR);
  const inRepo = path.join(cfg.dir, 'elasticsearch');
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root || othersCanTraverse(cfg.dir)) return inRepo;
  const id = crypto.createHash('sha256').update(cfg.dir).digest('hex').slice(0, 12);
  return path.join('/var/lib/lead-router', id, 'elasticsearch');
}

function elasticsearchService(cfg: StackConfig): Service {
  const dir = elasticsearchDir(cfg);
  const dist = path.join(dir, 'dist');
  const conf = path.join(dir, 'config');
  const data = path.join(dir, 'data');
  const logsDir = path.join(dir, 'logs');
  const tmpDir = path.join(dir, 'tmp');
  const pidFile = path.join(dir, 'elasticsearch.pid');
  const clusterName = 'lead-router-dev';
  let jdk: Jdk | undefined;
  let runAs: RunAs | undefined;
  return {
    name: 'elasticsearch',
    dir,
    pidFile,
    logs: [path.join(logsDir, `${clusterName}.log`), path.join(dir, 'elasticsearch.log')],
    ports: [{ port: cfg.esPort, env: 'STACK_ES_PORT' }],
    address: `http://${cfg.host}:${cfg.esPort}`,
    stopTimeoutMs: 45_000,
    installed: () =>
      fs.existsSync(path.join(dist, 'bin', 'elasticsearch')) && readMarker(path.join(dist, INSTALLED_MARKER)) === cfg.versions.elasticsearch,
    async install(ctx) {
      const dl = await mvnFetch(ctx);
      const v = cfg.versions.elasticsearch;
      const archive = path.join(dl, `elasticsearch-${v}.zip`);
      if (!fs.existsSync(archive)) throw new StackError(`elasticsearch: ${path.basename(archive)} missing after mvn (see ${ctx.installLog})`);
      const tmp = path.join(dir, '.unpack');
      fs.rmSync(tmp, { recursive: true, force: true });
      mkdirp(tmp);
      await unzipTo(archive, tmp, ctx);
      const top = path.join(tmp, `elasticsearch-${v}`);
      if (!fs.existsSync(path.join(top, 'bin', 'elasticsearch'))) throw new StackError(`elasticsearch: unexpected layout in ${path.basename(archive)}`);
      for (const f of fs.readdirSync(path.join(top, 'bin'))) fs.chmodSync(path.join(top, 'bin', f), 0o755);
      fs.writeFileSync(path.join(top, INSTALLED_MARKER), v);
      fs.rmSync(dist, { recursive: true, force: true });
      fs.renameSync(top, dist);
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.rmSync(conf, { recursive: true, force: true }); // re-seeded from the new dist below
      fs.rmSync(archive, { force: true });
    },
    async prepare() {
      jdk = findJdk(17, 'STACK_JAVA_HOME', `Elasticsearch ${cfg.versions.elasticsearch}`);
      runAs = esRunAs();
      if (!fs.existsSync(conf)) fs.cpSync(path.join(dist, 'config'), conf, { recursive: true });
      fs.rmSync(tmpDir, { recursive: true, force: true });
      for (const d of [data, logsDir, tmpDir]) mkdirp(d);
      fs.writeFileSync(
        path.join(conf, 'elasticsearch.yml'),
        [
          '# generated by scripts/stack.ts on every `up`; edit there',
          `cluster.name: ${clusterName}`,
          'node.name: dev',
          `path.data: ${JSON.stringify(data)}`,
          `path.logs: ${JSON.stringify(logsDir)}`,
          `network.host: ${cfg.host}`,
          `http.port: ${cfg.esPort}`,
          'discovery.type: single-node',
          'xpack.security.enabled: false',
          // a big, fairly full disk must not flip indices to read-only on a dev box
          'cluster.routing.allocation.disk.threshold_enabled: false',
          'action.destructive_requires_name: false',
          '',
        ].join('\n'),
      );
      // jvm.options from the distribution, with a lighter GC/JIT for a 2-core box and files under .stack
      const jvm = fs
        .readFileSync(path.join(dist, 'config', 'jvm.options'), 'utf8')
        .split('\n')
        .filter((l) => !/^\s*-XX:\+HeapDumpOnOutOfMemoryError/.test(l) && !/^\s*-XX:HeapDumpPath/.test(l))
        .map((l) => l.replace(/^(\s*)-XX:\+UseG1GC\s*$/, '$1-XX:+UseSerialGC'))
        .map((l) => l.replace(/^(\s*)-XX:ErrorFile=.*$/, `$1-XX:ErrorFile=${logsDir}/hs_err_pid%p.log`))
        .map((l) => l.replace(/^(\s*)-Xlog:gc\*.*$/, `$1-Xlog:gc*:file=${logsDir}/gc.log:utctime,level,pid,tags:filecount=2,filesize=16m`));
      jvm.push(...jitFlags(), '-Xshare:auto', '');
      fs.writeFileSync(path.join(conf, 'jvm.options'), jvm.join('\n'));
      if (runAs) {
        checkTraversable(dir, runAs);
        fs.chownSync(dir, runAs.uid, runAs.gid);
        for (const d of [conf, data, logsDir, tmpDir]) chownR(d, runAs.uid, runAs.gid);
      }
    },
    launch() {
      fs.rmSync(pidFile, { force: true });
      const env = baseEnv();
      delete env.JAVA_HOME;
      Object.assign(env, {
        ES_JAVA_HOME: jdk!.home,
        ES_PATH_CONF: conf,
        ES_TMPDIR: tmpDir,
        ES_JAVA_OPTS: [`-Xms${cfg.esHeap}`, `-Xmx${cfg.esHeap}`, ...modernJdkFlags(jdk!)].join(' '),
        HOME: dir,
        // the CLI launcher JVMs (version check, launcher, flags probe) run before the server: keep them cheap
        // (and their temp files, e.g. final-flags*, go under .stack instead of /tmp)
        CLI_JAVA_OPTS: `-XX:TieredStopAtLevel=1 -Xshare:auto -Djava.io.tmpdir=${tmpDir}`,
      });
      // -d: the CLI launcher starts the server JVM, waits until it is started, then exits (0), so
      // no launcher JVM stays around; -p: the server writes its own pid.
      const child = spawnDetached(path.join(dist, 'bin', 'elasticsearch'), ['-d', '-p', pidFile], {
        cwd: dir,
        env,
        logFile: path.join(dir, 'elasticsearch.log'),
        ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      });
      return { child, launcherExits: true };
    },
    async probe() {
      const r = await httpJson(`http://${cfg.host}:${cfg.esPort}/_cluster/health`);
      const status = (r.body as { status?: string } | undefined)?.status;
      return r.status === 200 && (status === 'green' || status === 'yellow');
    },
  };
}

function allServices(cfg: StackConfig): Record<ServiceName, Service> {
  return {
    kafka: kafkaService(cfg),
    apicurio: apicurioService(cfg),
    ferretdb: ferretdbService(cfg),
    elasticsearch: elasticsearchService(cfg),
  };
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

const pad = (s: string) => s.padEnd(13);

function resolveServices(names: ServiceName[] | undefined): ServiceName[] {
  const list = names && names.length ? names : [...SERVICE_NAMES];
  for (const n of list) if (!SERVICE_NAMES.includes(n)) throw new StackError(`unknown service '${n}' (known: ${SERVICE_NAMES.join(', ')})`);
  return list;
}

function dataDirsOf(svc: Service): string[] {
  switch (svc.name) {
    case 'kafka':
      return [path.join(svc.dir, 'data'), path.join(svc.dir, 'format.json')];
    case 'apicurio':
      return [path.join(svc.dir, 'tmp')]; // storage is in-memory: a restart is a clean slate
    case 'ferretdb':
      return [path.join(svc.dir, 'data'), path.join(svc.dir, 'state')];
    case 'elasticsearch':
      return [path.join(svc.dir, 'data')];
  }
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

async function stopService(svc: Service): Promise<'stopped' | 'not-running'> {
  const pid = ourPid(svc);
  if (!pid) {
    fs.rmSync(svc.pidFile, { force: true });
    return 'not-running';
  }
  try {
    process.kill(pid, 'SIGTERM');
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
  const names = resolveServices(opts.services);
  const svcs = allServices(cfg);
  return withLock(cfg, say, async () => {
    const ctx: Ctx = { cfg, installLog: path.join(cfg.dir, 'install.log'), say, announcedInstall: false, mvnGoals: [] };
    // 1. fast checks for everything before starting anything
    const todo: Service[] = [];
    const results: UpResult[] = [];
    for (const n of names) {
      const svc = svcs[n];
      mkdirp(svc.dir);
      if (opts.fresh) {
        if (ourPid(svc)) await stopService(svc);
        for (const d of dataDirsOf(svc)) fs.rmSync(d, { recursive: true, force: true });
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
    if (toInstall.some((s) => s.name !== 'ferretdb')) requireTool('mvn', 'install Maven (apt-get install maven)');
    if (toInstall.some((s) => s.name === 'ferretdb'))
      requireTool('go', `install Go 1.22+ (https://go.dev/dl); needed once to build FerretDB ${cfg.versions.ferretdb}`, ['/usr/local/go/bin/go']);
    if (todo.some((s) => s.name !== 'ferretdb')) findJdk(17, 'STACK_JAVA_HOME', 'Kafka / Elasticsearch');
    if (todo.some((s) => s.name === 'apicurio')) findJdk(21, 'STACK_JAVA21_HOME', `Apicurio Registry ${cfg.versions.apicurio}`);
    if (toInstall.some((s) => s.name === 'kafka')) ctx.mvnGoals.push('dependency:copy-dependencies');
    if (toInstall.some((s) => s.name === 'apicurio' || s.name === 'elasticsearch')) ctx.mvnGoals.push('dependency:copy');
    if (toInstall.length) announceInstall(ctx, toInstall.map((s) => s.name).join(', '));

    // 2. already running ones: confirm readiness
    const running = names.map((n) => svcs[n]).filter((s) => !todo.includes(s));
    const jobs: Promise<void>[] = running.map(async (svc) => {
      const t0 = Date.now();
      const pid = ourPid(svc);
      const deadline = t0 + timeoutMs;
      while (!(await svc.probe().catch(() => false))) {
        if (Date.now() > deadline) throw new StackError(`${svc.name} (pid ${pid}) is running but not ready after ${secs(timeoutMs)}; see ${svc.logs[0]}`);
        await sleep(400);
      }
      say(`${pad(svc.name)} already running (pid ${pid}) on ${svc.address}`);
      results.push({ name: svc.name, state: 'already-running', pid, address: svc.address, ms: Date.now() - t0 });
    });

    // 3. install (first run) + start, in parallel
    for (const svc of todo)
      jobs.push(
        (async () => {
          const tInstall = Date.now();
          let installMs = 0;
          if (!svc.installed()) {
            await svc.install(ctx);
            installMs = Date.now() - tInstall;
          }
          await svc.prepare(ctx);
          const t0 = Date.now();
          const launch = svc.launch(ctx);
          if (!launch.launcherExits && launch.child.pid) fs.writeFileSync(svc.pidFile, `${launch.child.pid}\n`);
          const pid = await waitReady(svc, launch, timeoutMs);
          await svc.afterReady?.();
          const ms = Date.now() - t0;
          say(`${pad(svc.name)} ready on ${svc.address} (${secs(ms)}${installMs ? `, installed in ${secs(installMs)}` : ''})`);
          results.push({ name: svc.name, state: 'started', pid, address: svc.address, ms });
        })(),
      );
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
  log?: (line: string) => void;
}

export async function stackDown(opts: DownOptions = {}): Promise<void> {
  const say = opts.log ?? ((l: string) => console.log(l));
  const cfg = stackConfig();
  const names = resolveServices(opts.services);
  if (!fs.existsSync(cfg.dir)) {
    for (const n of names) say(`${pad(n)} not running`);
    return;
  }
  const svcs = allServices(cfg);
  await withLock(cfg, say, async () => {
    await Promise.all(
      names.map(async (n) => {
        const t0 = Date.now();
        const r = await stopService(svcs[n]);
        say(`${pad(n)} ${r === 'stopped' ? `stopped (${secs(Date.now() - t0)})` : 'not running'}`);
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
  const cfg = stackConfig();
  const svcs = allServices(cfg);
  return SERVICE_NAMES.map((n) => {
    const pid = ourPid(svcs[n]);
    return { name: n, running: pid !== undefined, pid, address: svcs[n].address, rssMiB: pid ? rssMiB(pid) : undefined };
  });
}

// ---------------------------------------------------------------------------------------------
// CLI

function usage(): string {
  return [
    'usage: tsx scripts/stack.ts <command>',
    '  up [--fresh] [service...]   install (first run) and start, wait until ready',
    '  down [service...]           stop what `up` started',
    '  status [--quiet]            running/stopped, pid, address, memory; exits 0 only if all run',
    '  env                         client settings for the app (shell format)',
    `  services: ${SERVICE_NAMES.join(', ')}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags = rest.filter((a) => a.startsWith('-'));
  const services = rest.filter((a) => !a.startsWith('-')) as ServiceName[];
  const allowed: Record<string, string[]> = { up: ['--fresh'], status: ['--quiet'] };
  const unknown = flags.filter((f) => !(allowed[cmd ?? ''] ?? []).includes(f));
  if (unknown.length) {
    console.error(`stack: unknown option ${unknown[0] ?? flags[0]}\n${usage()}`);
    return 2;
  }
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      await stackUp({ fresh: flags.includes('--fresh'), services });
      console.log(`stack: up in ${secs(Date.now() - t0)}`);
      return 0;
    }
    case 'down':
      await stackDown({ services });
      return 0;
    case 'status': {
      // Exit 0 only when every service runs (3 otherwise, as LSB status does): scripts rely on it.
      const statuses = await stackStatus();
      if (!rest.includes('--quiet'))
        for (const s of statuses)
          console.log(
            s.running
              ? `${pad(s.name)} running  pid ${String(s.pid).padEnd(7)} ${s.address}${s.rssMiB ? `  (rss ${s.rssMiB} MiB)` : ''}`
              : `${pad(s.name)} stopped`,
          );
      return statuses.every((s) => s.running) ? 0 : 3;
    }
    case 'env': {
      const e = stackEndpoints();
      console.log(
        [
          `KAFKA_BROKERS=${e.kafkaBrokers}`,
          `SCHEMA_REGISTRY_URL=${e.registryUrl}`,
          `MONGO_URL=${e.mongoUrl}`,
          `ELASTICSEARCH_URL=${e.esUrl}`,
        ].join('\n'),
      );
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(usage());
      return cmd ? 0 : 2;
    default:
      console.error(`stack: unknown command '${cmd}'\n${usage()}`);
      return 2;
  }
}

const isMain = (() => {
  try {
    return !!process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const msg = err instanceof StackError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.error(`stack: ${msg}`);
      process.exitCode = 1;
    },
  );
}
