/**
 * Local stack for tests and local runs: REAL servers, no Docker (one file per service in scripts/stack/).
 *
 *   kafka          Apache Kafka 4.1.1, KRaft, broker+controller       127.0.0.1:9092 (controller :9093)
 *                  cluster mode (`up --cluster`): kafka-1..3 on :9092/:9094/:9096, rf 3, min.insync.replicas 2
 *   apicurio       Apicurio Registry 3.3.3, in-memory, Confluent API  http://127.0.0.1:8081/apis/ccompat/v7
 *   postgres       Debian's PostgreSQL, a private cluster             127.0.0.1:5433
 *   ferretdb       FerretDB v1.24.0 on that PostgreSQL (MongoDB wire)  mongodb://127.0.0.1:27017/
 *   elasticsearch  Elasticsearch 8.19.21 (integ-test-zip), one node    http://127.0.0.1:9200
 *
 * CLI:  tsx scripts/stack.ts up [--fresh] [--cluster|--single] [service...] | down [--kill] [service...]
 *       | kill <service...> | status [--quiet] | env
 * API:  stackUp(opts), stackDown(opts), stackStatus(), stackEndpoints() (scripts/stack/index.ts)
 *
 * Everything lives in .stack/ (gitignored): .stack/<service>/{dist|libs, data, *.log, <service>.pid}
 * (Elasticsearch and PostgreSQL under /var/lib/lead-router/<id>/ when the checkout is private:
 * they refuse root and run as their own users). Downloads are cached per user: Maven artifacts in
 * ~/.m2 (versions in stack/pom.xml), the FerretDB binary in $(go env GOPATH)/bin/ferretdb.
 *
 * Env overrides (defaults in brackets): STACK_DIR [.stack], STACK_HOST [127.0.0.1],
 * STACK_KAFKA_PORT [9092], STACK_KAFKA_CONTROLLER_PORT [9093], STACK_KAFKA_NODES [1, or what
 * `up --cluster` chose], STACK_REGISTRY_PORT [8081], STACK_REGISTRY_MGMT_PORT [8091],
 * STACK_MONGO_PORT [27017], STACK_FERRETDB_DEBUG_PORT [8088], STACK_PG_PORT [5433],
 * STACK_PG_BIN_DIR, STACK_PG_DIR, STACK_ES_PORT [9200], STACK_KAFKA_HEAP [512m],
 * STACK_REGISTRY_HEAP [384m], STACK_ES_HEAP [512m], STACK_REGISTRY_COMPATIBILITY [BACKWARD],
 * STACK_TIMEOUT_S [180] (readiness, per service), STACK_FULL_JIT=1 (C2 JIT for the JVMs, for
 * benchmarks), STACK_JAVA_HOME (JDK 17+ for Kafka and ES), STACK_JAVA21_HOME (JDK 21+ for
 * Apicurio), STACK_ES_DIR, STACK_ES_USER [elasticsearch], STACK_FERRETDB_BIN.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allServices, pad, stackDown, stackEndpoints, StackError, stackStatus, stackUp, stackConfig } from './stack/index.js';
import { secs } from './stack/util.js';

export * from './stack/index.js';

function usage(): string {
  return [
    'usage: tsx scripts/stack.ts <command>',
    '  up [--fresh] [--cluster|--single] [service...]',
    '                              install (first run) and start, wait until ready; --cluster: three Kafka',
    '                              brokers (rf 3, min.insync.replicas 2), remembered until --single',
    '  down [--kill] [service...]  stop what `up` started (--kill: SIGKILL, as a crash would)',
    '  kill <service...>           the same as down --kill',
    '  status [--quiet]            running/stopped, pid, address, memory; exits 0 only if all run',
    '  env                         client settings for the app (shell format)',
    `  services: ${allServices(stackConfig()).map((s) => s.name).join(', ')}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags = rest.filter((a) => a.startsWith('-'));
  const services = rest.filter((a) => !a.startsWith('-'));
  const allowed: Record<string, string[]> = { up: ['--fresh', '--cluster', '--single'], down: ['--kill'], status: ['--quiet'] };
  const unknown = flags.filter((f) => !(allowed[cmd ?? ''] ?? []).includes(f));
  if (unknown.length) {
    console.error(`stack: unknown option ${unknown[0] ?? flags[0]}\n${usage()}`);
    return 2;
  }
  switch (cmd) {
    case 'up': {
      const t0 = Date.now();
      const cluster = flags.includes('--cluster') ? true : flags.includes('--single') ? false : undefined;
      if (cluster !== undefined) process.env.STACK_KAFKA_NODES = cluster ? '3' : '1';
      await stackUp({ fresh: flags.includes('--fresh'), services, ...(cluster !== undefined ? { cluster } : {}) });
      console.log(`stack: up in ${secs(Date.now() - t0)}`);
      return 0;
    }
    case 'down':
      await stackDown({ services, kill: flags.includes('--kill') });
      return 0;
    case 'kill':
      if (services.length === 0) throw new StackError('kill: name the service(s) to kill, e.g. kafka-2');
      await stackDown({ services, kill: true });
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
          `TOPIC_REPLICATION_FACTOR=${e.replicationFactor}`,
          `SCHEMA_REGISTRY_URL=${e.registryUrl}`,
          `MONGO_URL=${e.mongoUrl}leadrouter`,
          `ES_URL=${e.esUrl}`,
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
