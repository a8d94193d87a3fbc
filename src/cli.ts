/**
 * `lead-router` — one CLI for every role and tool:
 *   lead-router run <role...>     run roles in this process (ingest, enrich, route, sink-primary,
 *                                 sink-sms, sink-search, sink-backup, or all)
 *   lead-router topology [--json] print the topology
 *   lead-router enrich            JSON-lines leads on stdin → enriched JSON-lines on stdout (no Kafka)
 *   lead-router route [--explain] enriched JSON-lines on stdin → routing decisions (dry run)
 *   lead-router reply-intent      one SMS reply per line on stdin → its intent per line
 *   lead-router history rebuild   write the history store again from leads.events
 *   lead-router vendors …         vendor API keys: add, rotate, revoke, list, hash
 *   lead-router report revenue …  sold, returned and net by buyer, vendor, source or rule
 *   lead-router buyers key <b>    a buyer key (lrb_…) for lead returns
 *   lead-router status            consumer groups, members, lag, roles' readiness
 *   lead-router replay …          dead leads (--from dlq) or a window of leads.raw, idempotently
 */
import v8 from 'node:v8';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { buildTopology, describeTopology } from './topology.js';
import { parseRoles, startRoles } from './roles.js';
import { initErrorTracking } from './error-tracking.js';

const USAGE = `usage: lead-router <command>
  run <role...>      run roles: ingest enrich route sink-primary sink-sms sink-search sink-backup | all
  topology [--json]  print topics, stages and consumer groups
  evict <instance> <role...>
                     remove a dead process (its LEAD_ROUTER_INSTANCE and roles) from its consumer groups
                     now, not after its session timeout: for a supervisor's after-exit hook (systemd
                     ExecStopPost); never for a live process
  enrich             enrich JSON-lines leads from stdin (no Kafka)
  route [--explain [--ping]]
                     dry-run routing of enriched JSON-lines from stdin (--explain: why each rule did not
                     match, and every buyer considered and why chosen or skipped; --ping: real auction bids)
  report revenue --by buyer|vendor|source|rule --since T [--until T] [--csv]
                     sold, gross, returned, credited and net from the payouts ledger
  buyers key <buyer> mint a buyer key for POST /v1/leads/:leadId/returns (printed once)
  reply-intent       classify SMS replies, one per line, from stdin
  history rebuild [--fresh]
                     rewrite the history store from leads.events (--fresh: drop it first)
  vendors add <vendor> [--rate <max>/<windowMs>] | rotate <vendor> | revoke <vendor> <keyId> | list | hash <key>
                     vendor API keys in MongoDB (a new key is printed once)
  status [--json]    consumer groups, their members and partitions, lag per partition, roles up or
                     down, each role process's readiness (ADMIN_TARGETS); exit 1 if anything is down
  replay --from dlq [--destination D] [--reason R] [--since T] [--until T] [--edit file.json] [--dry-run] [--json]
                     dead leads back to their destinations (already delivered ones are skipped)
  replay --topic leads.raw --since T [--until T] [--dry-run] [--json]
                     leads of a time window through enrich and route again with today's rules
                     (T: ISO-8601, epoch ms, or an age: 30m, 2h, 1d)`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return run(rest);
    case 'topology': {
      const topology = buildTopology(loadConfig());
      process.stdout.write((rest.includes('--json') ? JSON.stringify(topology, null, 2) : describeTopology(topology)) + '\n');
      return 0;
    }
    case 'evict': {
      const [instance, ...names] = rest;
      if (!instance || names.length === 0) break;
      const { createEvictor } = await import('./ops/evict.js');
      // Run after the process has exited and before it is restarted (systemd waits for it): no rush.
      const removed = await createEvictor(loadConfig(), createLogger('warn', 'evict')).evict(instance, parseRoles(names), 30_000);
      process.stdout.write(`${instance}: ${removed.length} member${removed.length === 1 ? '' : 's'} removed from its consumer groups\n`);
      return 0;
    }
    case 'enrich': {
      const { runEnrichCli } = await import('./processors/enrich/cli.js');
      const config = loadConfig();
      const result = await runEnrichCli(process.stdin, process.stdout, config.router.enrichment);
      return result.errors > 0 ? 1 : 0;
    }
    case 'route': {
      const { runRouteCli } = await import('./processors/route/cli.js');
      const config = loadConfig();
      const explain = rest.includes('--explain');
      const { dryRunDeps } = await import('./processors/route/explain-distribution.js');
      const distribution = explain ? await dryRunDeps(config.env.MONGO_URL, { ping: rest.includes('--ping') }) : undefined;
      try {
        await runRouteCli(process.stdin, process.stdout, config, { explain, ...(distribution ? { distribution } : {}) });
      } finally {
        await distribution?.close();
      }
      return 0;
    }
    case 'history': {
      if (rest[0] !== 'rebuild') break;
      const { rebuildHistory } = await import('./history/rebuild.js');
      const config = loadConfig();
      const log = createLogger(config.env.LOG_LEVEL, 'history-rebuild');
      const r = await rebuildHistory(config, log, { fresh: rest.includes('--fresh'), progress: (line) => process.stderr.write(`${line}\n`) });
      process.stdout.write(`history rebuilt from ${r.topic}: ${r.read} events read, ${r.inserted} written, ${r.duplicates} already there\n`);
      return 0;
    }
    case 'status': {
      const { runStatusCli } = await import('./ops/status-cli.js');
      const config = loadConfig();
      return runStatusCli(rest, config, createLogger('warn', 'status'), (text) => process.stdout.write(`${text}\n`));
    }
    case 'replay': {
      const { runReplayCli } = await import('./ops/replay-cli.js');
      const config = loadConfig();
      return runReplayCli(rest, config, createLogger('warn', 'replay'), (line) => process.stdout.write(`${line}\n`));
    }
    case 'report': {
      const { runReportCli } = await import('./sinks/primary/money-cli.js');
      return runReportCli(rest, loadConfig(), (text) => process.stdout.write(`${text}\n`));
    }
    case 'buyers': {
      const { runBuyersCli } = await import('./sinks/primary/money-cli.js');
      return runBuyersCli(rest, loadConfig(), (text) => process.stdout.write(`${text}\n`));
    }
    case 'vendors': {
      const { runVendorsCli } = await import('./security/vendors-cli.js');
      return runVendorsCli(rest, loadConfig(), (line) => process.stdout.write(`${line}\n`));
    }
    case 'reply-intent': {
      const { runReplyIntentCli } = await import('./sinks/sms/reply-intent-cli.js');
      await runReplyIntentCli(process.stdin, process.stdout);
      return 0;
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE + '\n');
      return command === undefined ? 2 : 0;
    default:
      break;
  }
  process.stderr.write(`lead-router: unknown command "${argv.join(' ')}"\n${USAGE}\n`);
  return 2;
}

async function run(roleNames: string[]): Promise<number> {
  const config = loadConfig();
  // Read by V8 at every full GC, so setting it here (not as a node flag) covers every way a role
  // is started: npm start, the chaos suite, systemd, containers (issue 11's 300 MB per role).
  if (config.env.HEAP_GROWING_PERCENT > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.env.HEAP_GROWING_PERCENT}`);
  const roles = parseRoles(roleNames);
  const log = createLogger(config.env.LOG_LEVEL, roles.join('+'));
  await initErrorTracking(config.env.SENTRY_DSN, log);
  let exitCode = 0;
  let requestStop: (why: string) => void = () => undefined;
  const running = await startRoles(roles, config, log, {
    // A consumer that will not restart itself: stop cleanly and exit non-zero, so the
    // supervisor starts a fresh process (not a process.exit deep inside the runner).
    onCrash(stage, err) {
      log.fatal({ stage, err: err.message }, 'a stage stopped for good; stopping the process to be restarted');
      exitCode = 1;
      requestStop(`crash of ${stage}`);
    },
  });
  log.info({ roles, ingest: running.ingestUrl, admin: running.adminUrl }, 'lead-router running');
  if (running.ingestUrl) process.stdout.write(`lead-router: POST leads to ${running.ingestUrl}/v1/leads\n`);
  process.stdout.write(`lead-router: health at ${running.adminUrl}/readyz\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) {
        log.warn({ why }, 'second stop request: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ why }, 'shutting down: finishing in-flight batches');
      const force = setTimeout(() => {
        log.error({ graceMs: config.env.SHUTDOWN_GRACE_MS }, 'shutdown took longer than the grace period; exiting');
        process.exit(1);
      }, config.env.SHUTDOWN_GRACE_MS);
      force.unref();
      running.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    requestStop = stop;
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // Under a supervisor (npm start, the chaos suite) in a process group of our own: if the
    // supervisor dies, nobody would stop us, so stop when our parent is gone.
    const parent = Number(process.env.LEAD_ROUTER_PARENT_PID);
    if (parent > 0) {
      const watch = setInterval(() => {
        if (process.ppid !== parent) {
          clearInterval(watch);
          stop('supervisor gone');
        }
      }, 1000);
      watch.unref();
    }
  });
  log.info('stopped');
  // Exit now rather than wait for a stray handle (a client's idle socket) to let go.
  process.exit(exitCode);
}

export function runCli(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      // A missing prerequisite or bad config is one readable line, not a stack trace.
      const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : (err as Error).message;
      process.stderr.write(`lead-router: ${message}\n`);
      process.exit(1);
    },
  );
}
