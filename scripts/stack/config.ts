/** Where the local stack's services listen and which versions they run (scripts/stack/*.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
/** kafka (one node) or kafka-1..kafka-3 (cluster mode), apicurio, postgres, ferretdb, elasticsearch. */
export type ServiceName = string;

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const POM = path.join(REPO_ROOT, 'stack', 'pom.xml');
export const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';
export const FERRETDB_VERSION = 'v1.24.0';
export const INSTALLED_MARKER = '.stack-installed';

export class StackError extends Error {
  override name = 'StackError';
}

// ---------------------------------------------------------------------------------------------
// configuration

export function envInt(env: NodeJS.ProcessEnv, name: string, def: number): number {
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
  pgPort: number;
  /** 1, or 3 in cluster mode (replication factor 3, min.insync.replicas 2, no unclean election). */
  kafkaNodes: number;
  kafkaHeap: string;
  registryHeap: string;
  esHeap: string;
  timeoutMs: number;
  versions: { kafka: string; apicurio: string; elasticsearch: string; ferretdb: string };
}

/** Cluster mode is chosen at `up --cluster` and remembered, so status, down and kill see the same nodes. */
export const CLUSTER_MARKER = 'kafka-nodes';

export function pomVersions(): StackConfig['versions'] {
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

function kafkaNodes(env: NodeJS.ProcessEnv, dir: string): number {
  const raw = env.STACK_KAFKA_NODES ?? (() => {
    try {
      return fs.readFileSync(path.join(dir, CLUSTER_MARKER), 'utf8').trim();
    } catch {
      return '1';
    }
  })();
  if (raw !== '1' && raw !== '3') throw new StackError(`STACK_KAFKA_NODES=${raw}: use 1, or 3 (cluster mode)`);
  return Number(raw);
}

export function stackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const dir = path.resolve(REPO_ROOT, env.STACK_DIR || '.stack');
  return {
    dir,
    host: env.STACK_HOST || '127.0.0.1',
    kafkaPort: envInt(env, 'STACK_KAFKA_PORT', 9092),
    kafkaControllerPort: envInt(env, 'STACK_KAFKA_CONTROLLER_PORT', 9093),
    registryPort: envInt(env, 'STACK_REGISTRY_PORT', 8081),
    registryMgmtPort: envInt(env, 'STACK_REGISTRY_MGMT_PORT', 8091),
    mongoPort: envInt(env, 'STACK_MONGO_PORT', 27017),
    ferretdbDebugPort: envInt(env, 'STACK_FERRETDB_DEBUG_PORT', 8088),
    esPort: envInt(env, 'STACK_ES_PORT', 9200),
    pgPort: envInt(env, 'STACK_PG_PORT', 5433),
    kafkaNodes: kafkaNodes(env, dir),
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
    kafkaBrokers: Array.from({ length: cfg.kafkaNodes }, (_, i) => `${h}:${cfg.kafkaPort + 2 * i}`).join(','),
    /** Replication factor the app should give its topics on this stack. */
    replicationFactor: cfg.kafkaNodes,
    registryUrl: `http://${h}:${cfg.registryPort}/apis/ccompat/v7`,
    mongoUrl: `mongodb://${h}:${cfg.mongoPort}/`,
    postgresUrl: `postgres://postgres@${h}:${cfg.pgPort}/ferretdb`,
    esUrl: `http://${h}:${cfg.esPort}`,
  };
}
