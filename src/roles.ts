/**
 * The composition root: builds what the requested roles need, once per process, and starts
 * them. Each role is a stage of the topology; running more processes with the same role
 * scales its consumer group.
 */
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildTopology, leadTopics, ROLES, stagesForRole, type Role } from './topology.js';
import { createDurableProducer, createKafka, ensureTopics, withAdmin } from './kafka/client.js';
import { createCodec, createLeadCodec } from './kafka/codec.js';
import { createClock } from './clock.js';
import { followOptOuts, type OptOutList, type OptOutRecord } from './sinks/sms/optouts.js';
import { createSentStore } from './sinks/sms/sent-store.js';
import { startDelayStage } from './stages/delay-stage.js';
import { smsWebhookProvidersFromConfig } from './ingest/sms-webhooks-plugin.js';
import { createSmsWebhookHandlers, type SmsReplyRecord } from './sinks/sms/webhook-handlers.js';
import type { RunningStage } from './kafka/stage-runner.js';
import { connectHistory } from './history/history.js';
import { createLeadBatcher } from './producers/lead-batcher.js';
import { buildIngestApp } from './ingest/app.js';
import { VendorLeadDedup } from './ingest/dedup.js';
import { startRouteStage } from './stages/route-stage.js';
import { startSinkStage } from './stages/sink-stage.js';
import { startEnrichStage } from './stages/enrich-stage.js';
import { startBackupStage } from './sinks/backup/backup-stage.js';
import { createWebhookSink } from './sinks/primary/webhook-sink.js';
import { createSearchSink } from './sinks/search/search-sink.js';
import { buildSmsSinks } from './sinks/sms/build.js';
import type { Sink } from './sinks/sink.js';
import type { StageDeps } from './stages/context.js';

export interface RunningRoles {
  /** Where ingest listens, when it runs here. */
  ingestUrl: string | null;
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

/** A start-up step: a readable one-line error if it fails, and never a silent hang. */
async function step<T>(what: string, fn: () => Promise<T>, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

const STEP_TIMEOUT_MS = 60_000;

export async function startRoles(roles: Role[], config: Config, log: Logger): Promise<RunningRoles> {
  const { env } = config;
  const topology = buildTopology(config);
  const kafka = createKafka(env, log, roles.length === 1 ? roles[0] : 'multi');

  log.info({ brokers: env.KAFKA_BROKERS }, 'starting: creating missing topics');
  await step(`Kafka at ${env.KAFKA_BROKERS} is not reachable`, () => withAdmin(kafka, (admin) => ensureTopics(admin, topology.allTopics)));
  log.info({ registry: env.SCHEMA_REGISTRY_URL }, 'starting: registering schemas');
  const { topics } = topology;
  const codec = await step('schema registry', () => createLeadCodec(env.SCHEMA_REGISTRY_URL, leadTopics(topology)));
  const optOutCodec = await step('schema registry', () => createCodec<OptOutRecord>(env.SCHEMA_REGISTRY_URL, 'opt-out.avsc', [topics.optouts]));
  const producer = await step(`Kafka producer at ${env.KAFKA_BROKERS}`, () => createDurableProducer(kafka));
  const history = await step('lead history', () => connectHistory(env.MONGO_URL, log, env.HISTORY_FLUSH_MS));
  log.info({ roles }, 'starting: stages');
  const now = createClock(env);
  const deps: StageDeps = { config, topology, kafka, producer, codec, history, log, now };

  const stages: RunningStage[] = [];
  const sinks: Sink[] = [];
  const closers: (() => Promise<void>)[] = [];
  let app: FastifyInstance | null = null;
  let ingestUrl: string | null = null;

  // Built lazily and shared: the backup stage redelivers through the same sinks.
  let webhook: Sink | null = null;
  let search: Sink | null = null;
  let sms: Map<string, Sink> | null = null;
  const primarySink = () => (webhook ??= track(createWebhookSink(config.router.primary.buyers)));
  const searchSink = async () => (search ??= track(await step(`Elasticsearch at ${env.ES_URL}`, () => createSearchSink({ url: env.ES_URL, index: config.router.search.index }))));
  // One sent-texts store per process, shared by every SMS sink and the webhooks in it.
  let sent: Awaited<ReturnType<typeof createSentStore>> | null = null;
  const sentStore = async () =>
    (sent ??= await step('SMS sent-texts store', () => createSentStore(history.db, { windowMs: config.router.smsPolicy.dedupWindowMs, now })));
  // Every route and SMS process holds the whole opt-out list, read to its end before it starts.
  let optOuts: OptOutList | null = null;
  const optOutList = async () =>
    (optOuts ??= await step('opt-out list', () => followOptOuts({ kafka, topic: topics.optouts, codec: optOutCodec, log, groupPrefix: env.TOPIC_PREFIX })));
  const smsSinks = async () => {
    if (!sms) {
      const built = buildSmsSinks(config.router.sms.providers, {
        optOuts: await optOutList(),
        sent: await sentStore(),
        policy: config.router.smsPolicy,
        now,
        publicBaseUrl: env.PUBLIC_BASE_URL,
      });
      sms = new Map([...built].map(([p, s]) => [p, track(s)]));
    }
    return sms;
  };
  function track(s: Sink): Sink {
    sinks.push(s);
    return s;
  }

  try {
    for (const role of roles) {
      for (const spec of stagesForRole(topology, role)) {
        if (spec.group) log.info({ stage: spec.name, group: spec.group }, 'starting stage');
        switch (role) {
          case 'ingest':
            break; // below: it is an HTTP server, not a consumer
          case 'enrich': {
            const stage = await startEnrichStage(deps, spec);
            stages.push(stage.running);
            closers.push(stage.close);
            break;
          }
          case 'route':
            stages.push(await startRouteStage(deps, spec, await optOutList()));
            break;
          case 'sink-primary':
            stages.push(await startSinkStage(deps, spec, primarySink()));
            break;
          case 'sink-search':
            stages.push(await startSinkStage(deps, spec, await searchSink()));
            break;
          case 'sink-sms': {
            if (spec.inputs.includes(topics.smsDeferred)) {
              // Quiet hours are over for this text: back onto its provider's topic, checked again there.
              stages.push(
                await startDelayStage(deps, spec, {
                  holdHorizonMs: env.BACKUP_HOLD_HORIZON_MS,
                  maxHeld: env.BACKUP_MAX_HELD,
                  async onDue(lead) {
                    const provider = (lead.event.delivery?.destination ?? '').replace(/^sms:/, '');
                    const topic = topics.sms[provider];
                    if (!topic) throw new Error(`deferred text for unknown provider "${provider}"`);
                    return [{ topic, key: lead.key ?? lead.event.leadId, event: { ...lead.event, delivery: { ...lead.event.delivery!, nextAttemptAt: null } } }];
                  },
                }),
              );
              break;
            }
            const provider = spec.name.replace(/^sink-sms\./, '');
            stages.push(await startSinkStage(deps, spec, (await smsSinks()).get(provider)!));
            break;
          }
          case 'sink-backup': {
            const searchForBackup = await searchSink();
            const smsForBackup = await smsSinks();
            stages.push(
              await startBackupStage(deps, spec, {
                holdHorizonMs: env.BACKUP_HOLD_HORIZON_MS,
                maxHeld: env.BACKUP_MAX_HELD,
                sinkFor(destination) {
                  const [kind, target] = destination.split(':', 2) as [string, string | undefined];
                  if (kind === 'primary') return primarySink();
                  if (kind === 'search') return searchForBackup;
                  if (kind === 'sms' && target) return smsForBackup.get(target) ?? null;
                  return null;
                },
              }),
            );
            break;
          }
        }
      }
    }

    if (roles.includes('ingest')) {
      const publisher = createLeadBatcher({ producer, codec, topic: topology.topics.raw, maxBatch: env.INGEST_BATCH_MAX, lingerMs: env.INGEST_LINGER_MS });
      const admin = kafka.admin();
      await admin.connect();
      app = await buildIngestApp(
        {
          publisher,
          history,
          dedup: new VendorLeadDedup(env.INGEST_DEDUP_WINDOW_MS, env.INGEST_DEDUP_MAX),
          readiness: () => readiness(admin, env.SCHEMA_REGISTRY_URL),
        },
        { maxBodyBytes: env.INGEST_MAX_BODY_BYTES, logger: log.child({ component: 'ingest' }, { level: 'warn' }) }, // per-request logs would cost more than the request
        {
          providers: smsWebhookProvidersFromConfig(config.router.sms.providers),
          ...(env.PUBLIC_BASE_URL ? { publicBaseUrl: env.PUBLIC_BASE_URL } : {}),
          ...createSmsWebhookHandlers({
            producer,
            replyCodec: await step('schema registry', () => createCodec<SmsReplyRecord>(env.SCHEMA_REGISTRY_URL, 'sms-reply.avsc', [topics.smsReplies])),
            optOutCodec,
            topics,
            sent: await sentStore(),
            history,
            db: history.db,
          }),
        },
      );
      await app.listen({ host: env.HOST, port: env.PORT });
      const address = app.server.address();
      ingestUrl = typeof address === 'object' && address ? `http://${env.HOST}:${address.port}` : null;
      closers.unshift(async () => {
        await publisher.close();
        await admin.disconnect();
      });
    }
  } catch (err) {
    await Promise.allSettled(stages.map((s) => s.stop()));
    await producer.disconnect().catch(() => undefined);
    await history.close().catch(() => undefined);
    throw err;
  }

  return {
    ingestUrl,
    async stop() {
      // Order matters: stop taking new leads, finish and commit in-flight batches, then flush.
      if (app) await app.close();
      await Promise.allSettled(stages.map((s) => s.stop()));
      for (const close of closers) await close().catch((err: unknown) => log.warn({ err }, 'close failed'));
      await Promise.allSettled(sinks.map((s) => s.close()));
      await optOuts?.close();
      await sent?.close();
      await producer.disconnect();
      await history.close();
    },
  };
}

async function readiness(admin: import('kafkajs').Admin, registryUrl: string): Promise<string[]> {
  const problems: string[] = [];
  const timeout = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms))]);
  await Promise.all([
    timeout(admin.describeCluster(), 2000).catch((err: Error) => problems.push(`kafka: ${err.message}`)),
    timeout(fetch(`${registryUrl}/subjects`), 2000)
      .then((res) => {
        if (!res.ok) problems.push(`schema registry: HTTP ${res.status}`);
      })
      .catch((err: Error) => problems.push(`schema registry: ${err.message}`)),
  ]);
  return problems;
}
