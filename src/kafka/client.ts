/**
 * The seam around the Kafka client. KafkaJS is unmaintained since 2023 (see the README);
 * everything that touches its API lives in src/kafka so that a move to
 * @confluentinc/kafka-javascript or @platformatic/kafka stays local.
 */
import kafkajs, { type Admin, type ITopicConfig, type Kafka as KafkaClient, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Env } from '../config.js';
import { RetriableError, messageOf } from '../errors.js';
import { metrics } from '../metrics.js';
import type { TopicSpec } from '../topology.js';
import { RecordTooLargeError, type RecordProducer } from './batch-step.js';
import { budgetFor, DEFAULT_MAX_BATCH_BYTES, recordBytes, type EncodedRecord, type ProduceLimits } from './produce-limits.js';

export type { Kafka, Producer, Admin } from 'kafkajs';
// KafkaJS is CommonJS: Node's ESM loader sees only some of its named exports.
const { ConfigResourceTypes, Kafka, logLevel, Partitioners } = kafkajs;

export function createKafka(env: Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>, log: Logger, clientSuffix = ''): KafkaClient {
  const child = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: `${env.KAFKA_CLIENT_ID}${clientSuffix ? `-${clientSuffix}` : ''}`,
    brokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // Admin and consumer calls fail fast when the broker is not there at all; the stages wait
    // out outages themselves (backoff) and the supervisor restarts what gives up.
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...extra } = entry;
      if (level <= logLevel.ERROR) child.error(extra, message);
      else child.warn(extra, message);
    },
  });
}

/**
 * acks=all, idempotent: a record the broker acknowledged is not lost or duplicated by retries.
 * An idempotent producer must not limit its retries (KafkaJS warns, rightly: a give-up between
 * two in-flight requests can reorder or duplicate them), so a send waits out a broker outage;
 * callers that answer someone (ingest) put their own deadline around it.
 */
function newIdempotentProducer(kafka: KafkaClient): Producer {
  // The default (murmur2, Java-compatible) partitioner, chosen explicitly: keys land where
  // Java and librdkafka clients would put them.
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 5000 },
  });
}

/** Errors after which KafkaJS's idempotent producer never recovers on its own (its sequence state is stale). */
const FATAL_IDEMPOTENCE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'DUPLICATE_SEQUENCE_NUMBER']);

export interface DurableProducer extends RecordProducer {
  disconnect(): Promise<void>;
}

/**
 * The process's one producer, as the batch step and ingest use it:
 *   - one request in flight at a time, with everything queued meanwhile sent together (up to the
 *     broker's limit) in the next: KafkaJS's idempotent producer desynchronises its sequence
 *     numbers when sends to a partition overlap (tulios/kafkajs#598), and coalescing turns many
 *     small sends into few larger ones anyway;
 *   - after a broker loses the producer's state (a broker killed and restarted), KafkaJS answers
 *     OUT_OF_ORDER_SEQUENCE_NUMBER forever: the producer is replaced by a fresh one (a new producer
 *     id) and the send is retried (at-least-once: a record of the failed request may be written twice).
 */
export async function createDurableProducer(kafka: KafkaClient, limits: ProduceLimits, log: Logger): Promise<DurableProducer> {
  let producer = newIdempotentProducer(kafka);
  await producer.connect();
  type Pending = { records: EncodedRecord[]; resolve: () => void; reject: (err: Error) => void };
  const queue: Pending[] = [];
  let pumping = false;

  async function replaceProducer(reason: string): Promise<void> {
    const old = producer;
    producer = newIdempotentProducer(kafka);
    log.warn({ reason }, 'idempotent producer state lost at the broker; replaced it with a fresh producer');
    void old.disconnect().catch(() => undefined);
    await producer.connect();
  }

  async function sendNow(records: EncodedRecord[]): Promise<void> {
    const byTopic = new Map<string, { key: string | Buffer | null; value: Buffer; headers?: Record<string, string> }[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
      byTopic.set(r.topic, list);
    }
    const timer = metrics.produceSeconds.startTimer();
    try {
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
      timer();
      metrics.produceRecords.inc(records.length);
    } catch (err) {
      const type = (err as { type?: string }).type ?? (err as { cause?: { type?: string } }).cause?.type ?? '';
      if (FATAL_IDEMPOTENCE.has(type)) {
        await replaceProducer(type).catch((e: unknown) => log.warn({ err: messageOf(e) }, 'could not connect the fresh producer yet'));
        throw new RetriableError(`producer state lost (${type}); retrying with a fresh producer`, { cause: err });
      }
      throw classifyProduceError(err);
    }
  }

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (queue.length > 0) {
        // Take queued sends while they fit one request; the first is taken whatever its size.
        const taken: Pending[] = [queue.shift()!];
        let bytes = taken[0]!.records.reduce((n, r) => n + recordBytes(r), 0);
        let budget = Math.min(...taken[0]!.records.map((r) => budgetFor(limits, r.topic)));
        let count = taken[0]!.records.length;
        while (queue.length > 0) {
          const next = queue[0]!;
          const nextBytes = next.records.reduce((n, r) => n + recordBytes(r), 0);
          const nextBudget = Math.min(budget, ...next.records.map((r) => budgetFor(limits, r.topic)));
          if (bytes + nextBytes > nextBudget || count + next.records.length > limits.maxRecords) break;
          taken.push(queue.shift()!);
          bytes += nextBytes;
          budget = nextBudget;
          count += next.records.length;
        }
        try {
          await sendNow(taken.flatMap((p) => p.records));
          for (const p of taken) p.resolve();
        } catch (err) {
          for (const p of taken) p.reject(err as Error);
        }
      }
    } finally {
      pumping = false;
    }
  }

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ records, resolve, reject });
        void pump();
      });
    },
    disconnect: () => producer.disconnect(),
  };
}

function classifyProduceError(err: unknown): Error {
  const e = err as { type?: string; retriable?: boolean; name?: string; cause?: { type?: string } };
  const type = e.type ?? e.cause?.type;
  if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return new RecordTooLargeError(messageOf(err));
  // Leadership moves, a broker restarting, a disconnected socket: all pass with time.
  if (e.retriable || /Connection|disconnect|leader|timeout|ECONN|not enough replicas/i.test(messageOf(err))) return new RetriableError(messageOf(err), { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The broker's real limits for the topics a stage writes (topic max.message.bytes, which Kafka
 * reports with the broker default applied), so produce requests are split to fit. Falls back to
 * Kafka's default when the broker does not say.
 */
export async function readProduceLimits(admin: Admin, topics: string[], maxRecords: number, override?: number): Promise<ProduceLimits> {
  const byTopic = new Map<string, number>();
  if (!override && topics.length > 0) {
    const res = await admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    for (const r of res.resources) {
      const v = Number(r.configEntries.find((c) => c.configName === 'max.message.bytes')?.configValue);
      if (Number.isFinite(v) && v > 0) byTopic.set(r.resourceName, v);
    }
  }
  const fallback = override ?? Math.min(DEFAULT_MAX_BATCH_BYTES, ...byTopic.values());
  return { maxBatchBytes: (topic) => byTopic.get(topic) ?? fallback, maxRecords };
}

/** Creates missing topics (existing ones are left alone); partitions are never shrunk. */
export async function ensureTopics(admin: Admin, topics: TopicSpec[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing: ITopicConfig[] = topics
    .filter((t) => !existing.has(t.name))
    .map((t) => ({
      topic: t.name,
      numPartitions: t.partitions,
      replicationFactor: t.replicationFactor,
      configEntries: Object.entries(t.configs).map(([name, value]) => ({ name, value })),
    }));
  if (missing.length === 0) return [];
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (err) {
    // Another process created some in between (TOPIC_ALREADY_EXISTS): only real failures matter.
    const now = new Set(await admin.listTopics());
    const still = missing.filter((m) => !now.has(m.topic));
    if (still.length > 0) throw err;
  }
  return missing.map((m) => m.topic);
}

export async function withAdmin<T>(kafka: KafkaClient, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
