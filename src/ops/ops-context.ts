/**
 * What an operator's command needs from the running system, opened once and closed once: the
 * Kafka client and admin, the schemas (registered as the roles register them), a durable
 * producer (acks=all, like the stages') and the history store.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { HistoryEventRecord } from '../history/events.js';
import { EVENTS_COLLECTION, openHistoryStore, type HistoryStore } from '../history/store.js';
import { createDurableProducer, createKafka, readProduceLimits, type Admin, type DurableProducer, type Kafka } from '../kafka/client.js';
import { combineEncoders, createCodec, createLeadCodec, type Codec, type Encoder, type LeadCodec } from '../kafka/codec.js';
import type { ProduceLimits } from '../kafka/produce-limits.js';
import { step } from '../resources.js';
import type { OptOutRecord } from '../sinks/sms/optouts.js';
import { buildTopology, leadTopics, type Topology } from '../topology.js';

export interface OpsContext {
  topology: Topology;
  kafka: Kafka;
  admin: Admin;
  close(): Promise<void>;
}

export interface OpsWriteContext extends OpsContext {
  leadCodec: LeadCodec;
  optOutCodec: Codec<OptOutRecord>;
  encoder: Encoder;
  producer: DurableProducer;
  limits: ProduceLimits;
  history: HistoryStore;
}

export async function openOps(config: Config, log: Logger, name: string): Promise<OpsContext> {
  const topology = buildTopology(config);
  const kafka = createKafka(config.env, log, name);
  const admin = kafka.admin();
  await step(`Kafka at ${config.env.KAFKA_BROKERS}`, () => admin.connect(), 15_000);
  return { topology, kafka, admin, close: () => admin.disconnect() };
}

/** Also what writing takes: schemas, a producer, the history store. */
export async function openOpsWriter(config: Config, log: Logger, name: string): Promise<OpsWriteContext> {
  const base = await openOps(config, log, name);
  const { env } = config;
  const { topology } = base;
  try {
    const [leadCodec, eventsCodec, optOutCodec] = await step('schema registry', () =>
      Promise.all([
        createLeadCodec(env.SCHEMA_REGISTRY_URL, leadTopics(topology)),
        createCodec<HistoryEventRecord>(env.SCHEMA_REGISTRY_URL, 'history-event.avsc', [topology.topics.events]),
        createCodec<OptOutRecord>(env.SCHEMA_REGISTRY_URL, 'opt-out.avsc', [topology.topics.optouts]),
      ]),
    );
    const limits = await readProduceLimits(base.admin, topology.allTopics.map((t) => t.name), env.PRODUCE_MAX_RECORDS);
    const producer = await step('Kafka producer', () => createDurableProducer(base.kafka, limits, log));
    const history = await step(`history store at ${env.MONGO_URL}`, () => openHistoryStore(env.MONGO_URL, { ttlDays: env.HISTORY_TTL_DAYS, collection: EVENTS_COLLECTION }));
    return {
      ...base,
      leadCodec,
      optOutCodec,
      encoder: combineEncoders(leadCodec, eventsCodec, optOutCodec),
      producer,
      limits,
      history,
      async close() {
        await producer.disconnect().catch(() => undefined);
        await history.close().catch(() => undefined);
        await base.close();
      },
    };
  } catch (err) {
    await base.close().catch(() => undefined);
    throw err;
  }
}
