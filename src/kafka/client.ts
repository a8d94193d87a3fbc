/**
 * The seam around the Kafka client. KafkaJS is unmaintained since 2023 (see
 * shared notes); everything that touches its API directly lives in src/kafka so that a move
 * to @confluentinc/kafka-javascript or @platformatic/kafka stays local.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Producer, type ITopicConfig } from 'kafkajs';
import type { Logger } from 'pino';
import type { Env } from '../config.js';
import type { TopicSpec } from '../topology.js';

export function createKafka(env: Pick<Env, 'KAFKA_BROKERS' | 'KAFKA_CLIENT_ID'>, log: Logger, clientSuffix = ''): Kafka {
  const child = log.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: `${env.KAFKA_CLIENT_ID}${clientSuffix ? `-${clientSuffix}` : ''}`,
    brokers: env.KAFKA_BROKERS.split(',').map((b) => b.trim()),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    // Fail fast when the broker is not there at all; the supervisor restarts us.
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ level, log: entry }) => {
      const { message, ...extra } = entry;
      if (level <= logLevel.ERROR) child.error(extra, message);
      else child.warn(extra, message);
    },
  });
}

/** acks=all, idempotent: a record the broker acknowledged is not lost or duplicated by retries. */
export async function createDurableProducer(kafka: Kafka): Promise<Producer> {
  // The default (murmur2, Java-compatible) partitioner, chosen explicitly: keys land where
  // Java and librdkafka clients would put them.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
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
    // Another process may have created them in between: only real failures matter.
    const now = new Set(await admin.listTopics());
    const still = missing.filter((m) => !now.has(m.topic));
    if (still.length > 0) throw err;
  }
  return missing.map((m) => m.topic);
}

export async function withAdmin<T>(kafka: Kafka, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}
