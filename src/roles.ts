/**
 * The composition root: builds what the requested roles need, once per process, and starts
 * their stages from the topology (src/stages/registry.ts picks the code by each stage's kind).
 * Running more processes with the same role scales its consumer groups.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startAdminServer, type AdminServer, type ReadinessReport } from './admin-server.js';
import { createClock } from './clock.js';
import type { Config } from './config.js';
import type { HistoryEventRecord } from './history/events.js';
import { createDurableProducer, createKafka, ensureTopics, kafkaClientId, readProduceLimits, roleClientSuffix, type Admin } from './kafka/client.js';
import { combineEncoders, createCodec, createLeadCodec } from './kafka/codec.js';
import type { RunningStage } from './kafka/running-stage.js';
import { startLagMonitor } from './kafka/lag-monitor.js';
import { removePredecessors } from './kafka/predecessor.js';
import { START_BROKER_WAIT_MS, untilBrokerAnswers } from './kafka/broker-away.js';
import { messageOf } from './errors.js';
import { createResources, step } from './resources.js';
import type { OptOutRecord } from './sinks/sms/optouts.js';
import type { SmsReplyRecord } from './sinks/sms/webhook-handlers.js';
import type { StageDeps } from './stages/context.js';
import { metrics, metricsText } from './metrics.js';
import { STAGE_RESOURCES, STAGE_STARTERS } from './stages/registry.js';
import { buildTopology, leadTopics, ROLES, stagesForRole, type Role, type StageKind, type StageSpec } from './topology.js';

export interface RunningRoles {
  /** Where ingest listens, when it runs here. */
  ingestUrl: string | null;
  /** Where /healthz, /readyz and /metrics answer. */
  adminUrl: string;
  stop(): Promise<void>;
}

export function parseRoles(names: string[]): Role[] {
  if (names.length === 0) throw new Error(`name at least one role: ${ROLES.join(', ')} or all`);
  const roles = new Set<Role>();
  for (const n of names) {
    if (n === 'all') ROLES.forEach((r) => roles.add(r));
    else if ((ROLES as readonly string[]).includes(n)) roles.add(n as Role);
    else throw new Error(`unknown role "${n}": use ${ROLES.join(', ')} or all`);
  }
  return [...roles];
}

export interface StartOptions {
  /** A stage's consumer stopped for good: the caller should stop the process (a supervisor restarts it). */
  onCrash(stage: string, err: Error): void;
}

export async function startRoles(roles: Role[], config: Config, log: Logger, opts: StartOptions): Promise<RunningRoles> {
  const { env } = config;
  const topology = buildTopology(config);
  const { topics } = topology;
  const clientSuffix = roleClientSuffix(roles);
  const kafka = createKafka(env, log, clientSuffix);
  const now = createClock(env);

  log.info({ brokers: env.KAFKA_BROKERS, registry: env.SCHEMA_REGISTRY_URL }, 'starting: creating missing topics, registering schemas');
  const registry = env.SCHEMA_REGISTRY_URL;
  const specs = roles.flatMap((role) => stagesForRole(topology, role));
  // A restarted instance's dead predecessor leaves its groups now, while the rest starts up
  // (src/kafka/predecessor.ts): its partitions go to the live members seconds sooner.
  // A broker away at start (restarting; or this process was restarted during its outage) is
  // waited for here, warm, not by exiting to be restarted cold (src/kafka/broker-away.ts).
  let toldWaiting = false;
  const kafkaUp = <T>(fn: () => Promise<T>) =>
    untilBrokerAnswers(fn, {
      waitMs: START_BROKER_WAIT_MS,
      onWait: (err) => {
        if (!toldWaiting) log.warn({ err: messageOf(err), waitS: START_BROKER_WAIT_MS / 1000 }, `Kafka at ${env.KAFKA_BROKERS} not answering; waiting for it`);
        toldWaiting = true;
      },
    });
  const predecessorsGone = env.LEAD_ROUTER_INSTANCE
    ? removePredecessors(kafka, specs.flatMap((s) => (s.group ? [s.group] : [])), kafkaClientId(env, clientSuffix), log, { brokerWaitMs: START_BROKER_WAIT_MS })
    : Promise.resolve([]);
  // Kafka's side (topics, then their produce limits, then the producer) and the registry's side
  // run alongside each other and the predecessor's removal: under load each step takes seconds,
  // and one after the other they were time a restarted role's partitions waited.
  const admin: Admin = kafka.admin();
  const kafkaSide = (async () => {
    await step(`Kafka at ${env.KAFKA_BROKERS}`, () => kafkaUp(() => admin.connect()));
    await step(`Kafka at ${env.KAFKA_BROKERS}`, () => kafkaUp(() => ensureTopics(admin, topology.allTopics)));
    const limits = await step('reading the broker\'s produce limits', () => kafkaUp(() => readProduceLimits(admin, topology.allTopics.map((t) => t.name), env.PRODUCE_MAX_RECORDS)));
    const producer = await step(`Kafka producer at ${env.KAFKA_BROKERS}`, () => kafkaUp(() => createDurableProducer(kafka, limits, log, env.PRODUCER_LANES)));
    return { limits, producer };
  })();
  const [{ limits, producer }, [leadCodec, eventsCodec, optOutCodec, replyCodec]] = await Promise.all([
    kafkaSide,
    step('schema registry', () =>
      Promise.all([
        createLeadCodec(registry, leadTopics(topology)),
        createCodec<HistoryEventRecord>(registry, 'history-event.avsc', [topics.events]),
        createCodec<OptOutRecord>(registry, 'opt-out.avsc', [topics.optouts]),
        createCodec<SmsReplyRecord>(registry, 'sms-reply.avsc', [topics.smsReplies]),
      ]),
    ),
  ]);
  const encoder = combineEncoders(leadCodec, eventsCodec, optOutCodec, replyCodec);
  const deps: StageDeps = { config, topology, kafka, producer, encoder, leadCodec, limits, log, now, onCrash: opts.onCrash };
  const resources = createResources({ config, topology, kafka, log, now, eventsCodec, optOutCodec });
  // Opened now, alongside the predecessor's removal; a failure is reported by the stage's own
  // start below, which asks for the same resource.
  for (const spec of specs) void STAGE_RESOURCES[spec.kind]?.(spec, resources).catch(() => undefined);

  // Every group's lag, from every process: a group with no process left still shows.
  const lag = startLagMonitor(admin, topology.stages.flatMap((s) => (s.group ? [{ group: s.group, topics: s.inputs }] : [])), env.LAG_MONITOR_EVERY_MS);
  const stages: RunningStage[] = [];
  let app: FastifyInstance | null = null;
  let ingestUrl: string | null = null;
  let adminServer: AdminServer | null = null;
  let stopping = false;
  const closers: (() => Promise<unknown>)[] = [];

  try {
    // Every stage joins its group at once: a start returns only once its group has rebalanced,
    // which waits for the other members to finish their batches in hand. One after the other, a
    // restarted SMS process was back in its three groups only after the sum of three such waits
    // (chaos: 40-80 s); at once, after the longest. After the predecessor is gone: joined before
    // it, this process's own new member would be the one removed.
    await predecessorsGone;
    const startOne = async (spec: StageSpec, kind: Exclude<StageKind, 'ingest'>) => {
      log.info({ stage: spec.name, group: spec.group }, 'starting stage');
      const stage = await STAGE_STARTERS[kind](deps, spec, resources);
      stages.push(stage); // as each starts: a failure of another stops it below
      return stage;
    };
    // ingest is an HTTP server, not a consumer: started below.
    const started = await Promise.allSettled(specs.flatMap((spec) => (spec.kind === 'ingest' ? [] : [startOne(spec, spec.kind)])));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    // Health and /readyz list the stages in topology order, whatever order they joined in.
    stages.splice(0, stages.length, ...started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
    if (roles.includes('ingest')) {
      // Imported here: the HTTP server, vendor keys and the dashboard are ingest's alone.
      const [{ buildIngestApp }, { VendorLeadDedup }, { openIngestSecurity }, { smsWebhookProvidersFromConfig }, { registerDashboard }, { createLeadBatcher }, { createSmsWebhookHandlers }] = await Promise.all([
        import('./ingest/app.js'),
        import('./ingest/dedup.js'),
        import('./ingest/ingest-security.js'),
        import('./ingest/sms-webhooks-plugin.js'),
        import('./dashboard/index.js'),
        import('./producers/lead-batcher.js'),
        import('./sinks/sms/webhook-handlers.js'),
      ]);
      const publisher = createLeadBatcher({
        producer,
        encoder,
        limits,
        topics: { raw: topics.raw, events: topics.events },
        maxBatch: env.INGEST_BATCH_MAX,
        lingerMs: env.INGEST_LINGER_MS,
        timeoutMs: env.INGEST_PRODUCE_TIMEOUT_MS,
        maxPending: env.INGEST_MAX_PENDING,
        shedAfterMs: env.INGEST_SHED_AFTER_MS,
      });
      const security = await openIngestSecurity(config, log.child({ component: 'ingest' }));
      closers.push(() => security.close());
      app = await buildIngestApp(
        {
          publisher,
          history: { forLead: async (leadId) => (await resources.historyStore()).forLead(leadId) },
          dedup: new VendorLeadDedup(env.INGEST_DEDUP_WINDOW_MS, env.INGEST_DEDUP_MAX),
          keyring: security.keyring,
          readiness: () => ingestReadiness(admin, registry),
          // Lead returns (credited, redistributed) and the revenue report.
          money: {
            ledger: () => resources.ledger(),
            publish: (outputs) => producer.send(outputs.map((o) => ({ topic: o.topic, key: o.key, value: encoder.encode(o.topic, o.value), ...(o.headers ? { headers: o.headers } : {}) }))),
            topics: { primary: topics.primary, events: topics.events },
            keyring: security.keyring,
          },
        },
        { maxBodyBytes: env.INGEST_MAX_BODY_BYTES, rateLimit: config.router.security.rateLimit, logger: log.child({ component: 'ingest' }, { level: 'warn' }) }, // per-request logs would cost more than the request
        {
          providers: smsWebhookProvidersFromConfig(config.router.sms.providers),
          ...(env.PUBLIC_BASE_URL ? { publicBaseUrl: env.PUBLIC_BASE_URL } : {}),
          replays: security.replays,
          ...createSmsWebhookHandlers({ producer, encoder, topics, sent: () => resources.sentStore() }),
        },
      );
      // The operators' live dashboard (/dashboard, operator token): idle until a page is opened.
      await registerDashboard(app, {
        config, topology, kafka, admin, producer, encoder, leadCodec, eventsCodec, limits, keyring: security.keyring, log, now,
        historyStore: () => resources.historyStore(),
        optOuts: () => resources.optOuts(),
      });
      await app.listen({ host: env.HOST, port: env.PORT });
      const address = app.server.address();
      ingestUrl = typeof address === 'object' && address ? `http://${env.HOST}:${address.port}` : null;
      closers.push(() => publisher.close());
    }
    const readiness = async (): Promise<ReadinessReport> => {
      const health = stages.map((s) => s.health());
      const problems = health.flatMap((h) => h.problems.map((p) => `${h.stage}: ${p}`));
      if (app) problems.push(...(await ingestReadiness(admin, registry)).map((p) => `ingest: ${p}`));
      if (stopping) problems.push('shutting down');
      metrics.ready.set({ role: roles.join('+') }, problems.length === 0 ? 1 : 0);
      return { ready: problems.length === 0, problems, roles, stages: health };
    };
    adminServer = await step(`admin server on ${env.ADMIN_HOST}:${env.ADMIN_PORT}`, () =>
      startAdminServer(env.ADMIN_HOST, env.ADMIN_PORT, {
        alive: () => !stopping,
        readiness,
        // Readiness is computed for every scrape, so leadrouter_role_ready is never stale.
        extra: { '/metrics': async () => (await readiness(), metricsText()) },
      }),
    );
  } catch (err) {
    await lag.stop();
    await Promise.allSettled(stages.map((s) => s.stop()));
    await app?.close().catch(() => undefined);
    await resources.close();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    throw err;
  }

  return {
    ingestUrl,
    adminUrl: adminServer.url,
    async stop() {
      stopping = true;
      // Order matters: stop taking new leads, finish and commit in-flight batches, then close.
      if (app) await app.close();
      for (const close of closers) await close().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'close failed'));
      await Promise.allSettled(stages.map((s) => s.stop()));
      await resources.close();
      await lag.stop();
      await producer.disconnect().catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
      await adminServer?.close();
    },
  };
}

async function ingestReadiness(admin: Admin, registryUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const timeout = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms))]);
  await Promise.all([
    timeout(admin.describeCluster(), 2000).catch((err: Error) => problems.push(`kafka: ${err.message}`)),
    timeout(fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(2000) }), 2000)
      .then((res) => {
        if (!res.ok) problems.push(`schema registry: HTTP ${res.status}`);
      })
      .catch((err: Error) => problems.push(`schema registry: ${err.message}`)),
  ]);
  return problems;
}
