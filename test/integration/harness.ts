/**
 * Integration harness: the sandbox third parties in this process (so a test can flip their
 * fault modes), the router's roles as real child processes (so a test can SIGKILL them), a
 * topic prefix per run so runs never see each other's records, and a reader that decodes any
 * topic through the schema registry as a data team's consumer would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { Consumer } from 'kafkajs';
import kafkajs from '../../src/kafka/kafkajs.js';
import { startSandbox, type Sandbox } from '../../sandbox/index.js';
import { createLeadCodec, type LeadCodec } from '../../src/kafka/codec.js';
import type { LeadEvent } from '../../src/lead.js';
import { loadConfig } from '../../src/config.js';
import { buildTopology, leadTopics, type Topology } from '../../src/topology.js';
import { DEV_PEPPER, hashCredential, mintCredential, VENDOR_KEY_PREFIX } from '../../src/security/credentials.js';
import { DEV_OPERATOR_TOKEN, DEV_VENDOR, DEV_VENDOR_KEYS } from '../../src/security/dev-credentials.js';

const { Kafka, logLevel } = kafkajs;

export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
export const ES_URL = process.env.ES_URL ?? 'http://127.0.0.1:9200';
/** The MongoDB-wire server (no database name); each run gets a database of its own on it. */
export const MONGO_SERVER = process.env.TEST_MONGO_SERVER ?? 'mongodb://127.0.0.1:27017';

/** Vendors every harness run knows, and their keys: the development vendor plus a few minted per run. */
export const VENDOR_KEYS: Record<string, string> = {
  [DEV_VENDOR]: DEV_VENDOR_KEYS.dev1,
  ...Object.fromEntries(['vendor-a', 'vendor-b', 'another-vendor', 'reject-me'].map((v) => [v, mintCredential(VENDOR_KEY_PREFIX, `${v.replace(/[^a-z0-9]/g, '').slice(0, 20)}1`).value])),
};
/** Authorization header of the development operator (history, readiness details). */
export const OPERATOR_HEADERS = { authorization: `Bearer ${DEV_OPERATOR_TOKEN}` };

export interface Harness {
  sandbox: Sandbox;
  prefix: string;
  env: NodeJS.ProcessEnv;
  topology: Topology;
  codec: LeadCodec;
  logDir: string;
  searchIndex: string;
  /** Starts `lead-router run <roles>`; resolves when it says it is running. */
  spawnRouter(roles: string[], extraEnv?: NodeJS.ProcessEnv): Promise<RouterProcess>;
  reader(topic: string): Promise<TopicReader>;
  /** Moves the clock of every router process of this run to `at` (epoch ms). */
  /** Moves every process's clock; resolves once they have all read it (src/clock.ts reads every 100 ms). */
  setClock(at: number): Promise<void>;
  close(): Promise<void>;
}

export interface RouterProcess {
  child: ChildProcess;
  ingestUrl: string | null;
  /** Its admin server (/healthz, /readyz, /metrics). */
  adminUrl: string | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface TopicReader {
  events: { event: LeadEvent; headers: Record<string, string> }[];
  raw: { value: Buffer | null; headers: Record<string, string> }[];
  waitFor(pred: (e: LeadEvent) => boolean, timeoutMs?: number, what?: string): Promise<LeadEvent>;
  close(): Promise<void>;
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

export interface HarnessOptions {
  retry?: Record<string, number>;
  /** smsPolicy overrides; by default texts may go out at any hour so tests do not depend on when CI runs. */
  smsPolicy?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Changes the router file before it is written (buyers, groups, rules of a test). */
  router?: (router: Record<string, any>, sandbox: Sandbox) => void | Promise<void>;
}

export async function startHarness(name: string, overrides: HarnessOptions = {}): Promise<Harness> {
  const sandbox = await startSandbox({ buyerUs: 0, buyerUk: 0, twilio: 0, jsonSms: 0, xmlSms: 0, verifier: 0 });
  const prefix = `it-${name}-${Date.now().toString(36)}.`;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `lead-router-${name}-`));
  const searchIndex = `${prefix}leads`;

  // The shipped rules, pointed at this run's sandbox, with a fast retry schedule.
  const router = YAML.parse(fs.readFileSync('config/router.yaml', 'utf8')) as Record<string, any>;
  router.primary.buyers['buyer-us'].url = `${sandbox.buyerUs.url}/leads`;
  router.primary.buyers['buyer-uk'].url = `${sandbox.buyerUk.url}/leads`;
  router.primary.buyers['buyer-us'].timeoutMs = 1000;
  router.primary.buyers['buyer-uk'].timeoutMs = 1000;
  router.sms.providers.twilio.baseUrl = sandbox.twilio.url;
  router.sms.providers.eurosms.baseUrl = sandbox.jsonSms.url;
  router.search.index = searchIndex;
  router.enrichment = { ...(router.enrichment ?? {}), verifier: { ...(router.enrichment?.verifier ?? {}), url: `${sandbox.verifier.url}/v1/verify` } };
  // The shipped security section plus this run's vendors (a body's vendor is ignored: the key decides).
  router.security.vendors = {
    ...router.security.vendors,
    ...Object.fromEntries(Object.entries(VENDOR_KEYS).filter(([v]) => v !== DEV_VENDOR).map(([v, key]) => [v, { keys: [{ id: key.split('_')[1], hash: hashCredential(DEV_PEPPER, key) }] }])),
  };
  router.retry = { baseDelayMs: 300, maxDelayMs: 2000, maxAttempts: 4, maxAgeMs: 600_000, ...overrides.retry };
  const allDay = { start: '00:00', end: '24:00' }; // end is exclusive: 23:59 deferred a test run in the day's last minute
  router.smsPolicy = { ...(router.smsPolicy ?? {}), quietHours: { US: allDay, UK: allDay }, ...overrides.smsPolicy };
  // Every process of this run moves its clock when the test rewrites this file (quiet hours).
  await overrides.router?.(router, sandbox);
  const clockFile = path.join(logDir, 'clock-offset-ms');
  fs.writeFileSync(clockFile, '0');
  const routerPath = path.join(logDir, 'router.yaml');
  fs.writeFileSync(routerPath, YAML.stringify(router));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ROUTER_CONFIG: routerPath,
    TOPIC_PREFIX: prefix,
    PORT: '0',
    LOG_LEVEL: 'info',
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    ADMIN_PORT: '0', // several router processes per test: any free port each
    BACKUP_HOLD_HORIZON_MS: '5000',
    QUIET_HOURS_HOLD_HORIZON_MS: '5000',
    // A database per run: the sent-texts store and its dedup window must not see other runs.
    MONGO_URL: `${MONGO_SERVER}/${prefix.replace(/[^a-z0-9]/gi, '_')}`,
    LEAD_ROUTER_CLOCK_FILE: clockFile,
    // Not npm start's admin ports: a test names the processes it wants the dashboard and status to probe.
    ADMIN_TARGETS: '',
    ...overrides.env,
  };
  const config = loadConfig(env);
  const topology = buildTopology(config);
  const processes: RouterProcess[] = [];
  const readers: TopicReader[] = [];
  let codec: LeadCodec | null = null;

  const harness: Harness = {
    sandbox,
    prefix,
    env,
    topology,
    get codec() {
      if (!codec) throw new Error('codec is ready once a router process has registered the schemas');
      return codec;
    },
    logDir,
    searchIndex,
    async spawnRouter(roles, extraEnv = {}) {
      const logFile = path.join(logDir, `${roles.join('+')}-${processes.length}.log`);
      const out = fs.openSync(logFile, 'a');
      const child = spawn(process.execPath, ['bin/lead-router.js', 'run', ...roles], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', out] });
      let stdout = '';
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
        fs.appendFileSync(logFile, c);
      });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      const started = await Promise.race([
        waitUntil(`${roles.join(' ')} to start (log: ${logFile})`, () => stdout.includes('"lead-router running"'), 90_000, 50),
        exited.then((code) => {
          throw new Error(`lead-router run ${roles.join(' ')} exited with ${code}: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
        }),
      ]);
      void started;
      const url = /POST leads to (http:\/\/\S+)\/v1\/leads/.exec(stdout)?.[1] ?? null;
      const proc: RouterProcess = {
        child,
        ingestUrl: url,
        adminUrl: /health at (http:\/\/\S+)\/readyz/.exec(stdout)?.[1] ?? null,
        async stop(signal = 'SIGTERM') {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill(signal);
          await exited;
        },
      };
      processes.push(proc);
      codec ??= await createLeadCodec(REGISTRY, leadTopics(topology));
      return proc;
    },
    async setClock(at) {
      fs.writeFileSync(clockFile, String(at - Date.now()));
      await new Promise((r) => setTimeout(r, 250));
    },
    async reader(topic) {
      const r = await readTopic(topic, prefix, () => harness.codec);
      readers.push(r);
      return r;
    },
    async close() {
      await Promise.allSettled(readers.map((r) => r.close()));
      await Promise.allSettled(processes.map((p) => p.stop('SIGTERM')));
      await sandbox.close();
    },
  };
  return harness;
}

async function readTopic(topic: string, prefix: string, codec: () => LeadCodec): Promise<TopicReader> {
  const kafka = new Kafka({ clientId: `${prefix}reader`, brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `${prefix}reader-${topic}-${Math.random().toString(36).slice(2)}`, sessionTimeout: 6000, maxWaitTimeInMs: 100 });
  const events: TopicReader['events'] = [];
  const raw: TopicReader['raw'] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
      raw.push({ value: message.value, headers });
      try {
        events.push({ event: await codec().decode(message.value), headers });
      } catch {
        // not a lead event (poison topic): kept in raw only
      }
    },
  });
  return {
    events,
    raw,
    waitFor: (pred, timeoutMs = 30_000, what = `a matching record on ${topic}`) => waitUntil(what, () => events.find((e) => pred(e.event))?.event, timeoutMs),
    close: () => consumer.disconnect(),
  };
}

/**
 * POSTs a lead with the key of the vendor its body names (the development vendor's when the body
 * names none or an unknown one): tests that mean "another vendor" post with that vendor's key.
 */
export async function postLead(ingestUrl: string, body: unknown, contentType = 'application/json', apiKey?: string): Promise<{ status: number; json: any }> {
  const named = typeof body === 'object' && body !== null ? (body as { vendor?: unknown }).vendor : undefined;
  const key = apiKey ?? (typeof named === 'string' ? VENDOR_KEYS[named] : undefined) ?? VENDOR_KEYS[DEV_VENDOR]!;
  const res = await fetch(`${ingestUrl}/v1/leads`, { method: 'POST', headers: { 'content-type': contentType, 'x-api-key': key }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}
