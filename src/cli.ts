/**
 * `lead-router` — one CLI for every role and tool:
 *   lead-router run <role...>     run roles in this process (ingest, enrich, route, sink-primary,
 *                                 sink-sms, sink-search, sink-backup, or all)
 *   lead-router topology [--json] print the topology
 *   lead-router enrich            JSON-lines leads on stdin → enriched JSON-lines on stdout (no Kafka)
 *   lead-router route [--explain] enriched JSON-lines on stdin → routing decisions (dry run)
 *   lead-router reply-intent      one SMS reply per line on stdin → its intent per line
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { buildTopology, describeTopology } from './topology.js';
import { parseRoles, startRoles } from './roles.js';
import { initErrorTracking } from './errors.js';

const USAGE = `usage: lead-router <command>
  run <role...>      run roles: ingest enrich route sink-primary sink-sms sink-search sink-backup | all
  topology [--json]  print topics, stages and consumer groups
  enrich             enrich JSON-lines leads from stdin (no Kafka)
  route [--explain]  dry-run routing of enriched JSON-lines from stdin (--explain: why each rule did not match)
  reply-intent       classify SMS replies, one per line, from stdin`;

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
    case 'enrich': {
      const { runEnrichCli } = await import('./processors/enrich/cli.js');
      const config = loadConfig();
      const result = await runEnrichCli(process.stdin, process.stdout, config.router.enrichment);
      return result.errors > 0 ? 1 : 0;
    }
    case 'route': {
      const { runRouteCli } = await import('./processors/route/cli.js');
      await runRouteCli(process.stdin, process.stdout, loadConfig(), { explain: rest.includes('--explain') });
      return 0;
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
      process.stderr.write(`lead-router: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

async function run(roleNames: string[]): Promise<number> {
  const config = loadConfig();
  const roles = parseRoles(roleNames);
  const log = createLogger(config.env.LOG_LEVEL, roles.join('+'));
  initErrorTracking(config.env.SENTRY_DSN, log);
  const running = await startRoles(roles, config, log);
  log.info({ roles, ingest: running.ingestUrl }, 'lead-router running');
  if (running.ingestUrl) process.stdout.write(`lead-router: POST leads to ${running.ingestUrl}/v1/leads\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      log.info({ signal }, 'shutting down: finishing in-flight batches');
      const force = setTimeout(() => {
        log.error('shutdown took more than 30 s; exiting');
        process.exit(1);
      }, 30_000);
      force.unref();
      running.stop().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('stopped');
  return 0;
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
