/**
 * The process's producer, as the batch step, ingest and the ops tools use it: acks=all,
 * idempotent, and shaped around two KafkaJS facts.
 *
 *   - KafkaJS's idempotent producer desynchronises its sequence numbers when its sends to a
 *     partition overlap (tulios/kafkajs#598). So each underlying producer (a "lane") has one
 *     request in flight at a time, and what is queued meanwhile goes out together in its next
 *     request (up to the broker's limit): many small sends become few larger ones.
 *   - A process may have more than one lane (PRODUCER_LANES), each its own idempotent producer
 *     (its own producer id: sequence numbers never span lanes), taking queued sends as they come
 *     free. Ordering across sends was never promised (each send is one batch's outputs, and a
 *     batch commits only after its own send is acknowledged), so lanes change no guarantee. On 2
 *     shared cores more lanes did not help (the broker's CPU is the limit): the default is one.
 *   - After a broker loses a producer's state (a broker killed and restarted), KafkaJS answers
 *     OUT_OF_ORDER_SEQUENCE_NUMBER forever: that lane's producer is replaced by a fresh one (a new
 *     producer id) and the send is retried (at-least-once: a record of the failed request may be
 *     written twice).
 *   - KafkaJS 2.2.4 can resolve a send without sending part of it (see `unsentMessages`), which
 *     lost a lead's `received` history event in a three-broker chaos run. Every send is checked
 *     against the partitions the broker acknowledged and what was skipped is sent again.
 */
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import kafkajs from './kafkajs.js';
import type { Logger } from 'pino';
import { RetriableError, messageOf } from '../errors.js';
import { metrics } from '../metrics.js';
import { RecordTooLargeError, type RecordProducer } from './stage-contract.js';
import { budgetFor, recordBytes, type EncodedRecord, type ProduceLimits } from './produce-limits.js';

const { Partitioners } = kafkajs;

type Message = { key: string | Buffer | null; value: Buffer; headers?: Record<string, string> };
type TopicMessages = { topic: string; messages: Message[] };
type Acknowledged = { topicName: string; partition: number }[];

/**
 * The partition KafkaJS chose for each message at its latest attempt: it calls the partitioner
 * for every message on every attempt, with our own message objects.
 */
const partitionOf = new WeakMap<object, number>();

/** The default (murmur2, Java-compatible) partitioner, remembering each message's partition. */
function recordingPartitioner() {
  const murmur2 = Partitioners.DefaultPartitioner();
  return (args: Parameters<ReturnType<typeof Partitioners.DefaultPartitioner>>[0]) => {
    const partition = murmur2(args);
    partitionOf.set(args.message, partition);
    return partition;
  };
}

/**
 * The messages of a resolved send whose partition the answer does not acknowledge.
 *
 * Why: KafkaJS (2.2.4, sendMessages.js) keeps the answers of one send per broker across its
 * retries and re-sends only to brokers without an answer. When a broker fails and a partition's
 * leadership moves to a broker that has already answered for other partitions, that partition's
 * messages are never sent, and the send resolves (tulios/kafkajs#1798, unmerged). With acks=all
 * a partition in the answer is durably written; one missing from it was not written at all.
 */
export function unsentMessages(sent: TopicMessages[], acknowledged: Acknowledged): TopicMessages[] {
  const acked = new Set(acknowledged.map((a) => `${a.topicName}\u0000${a.partition}`));
  return sent
    .map(({ topic, messages }) => ({ topic, messages: messages.filter((m) => !acked.has(`${topic}\u0000${partitionOf.get(m) ?? -1}`)) }))
    .filter((t) => t.messages.length > 0);
}

/** Re-sends of skipped messages before the send is failed (and retried whole by its caller). */
const MAX_RESENDS = 10;

/** Errors after which KafkaJS's idempotent producer never recovers on its own (its sequence state is stale). */
const FATAL_IDEMPOTENCE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'DUPLICATE_SEQUENCE_NUMBER']);


export interface DurableProducer extends RecordProducer {
  disconnect(): Promise<void>;
}

/**
 * An idempotent producer must not limit its retries (KafkaJS warns, rightly: a give-up between
 * two in-flight requests can reorder or duplicate them), so a send waits out a broker outage;
 * callers that answer someone (ingest) put their own deadline around it.
 */
function newIdempotentProducer(kafka: KafkaClient): Producer {
  // The default (murmur2, Java-compatible) partitioner, chosen explicitly: keys land where
  // Java and librdkafka clients would put them.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: recordingPartitioner,
    // At most 1 s apart: a send waiting out a broker restart goes through within a second of its return.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  producer.on(producer.events.REQUEST, (e) => metrics.kafkaRequests.inc({ stage: 'producer', api: e.payload.apiName }));
  return producer;
}

type Pending = { records: EncodedRecord[]; resolve: () => void; reject: (err: Error) => void };
interface Lane {
  producer: Producer;
  busy: boolean;
}

export async function createDurableProducer(kafka: KafkaClient, limits: ProduceLimits, log: Logger, lanes = 1): Promise<DurableProducer> {
  const all: Lane[] = Array.from({ length: lanes }, () => ({ producer: newIdempotentProducer(kafka), busy: false }));
  try {
    await Promise.all(all.map((l) => l.producer.connect()));
  } catch (err) {
    // The caller may try again (a broker away at start-up): leave no lane connected behind.
    await Promise.all(all.map((l) => l.producer.disconnect().catch(() => undefined)));
    throw err;
  }
  const queue: Pending[] = [];

  async function replaceProducer(lane: Lane, reason: string): Promise<void> {
    const old = lane.producer;
    lane.producer = newIdempotentProducer(kafka);
    log.warn({ reason }, 'idempotent producer state lost at the broker; replaced it with a fresh producer');
    void old.disconnect().catch(() => undefined);
    await lane.producer.connect();
  }

  async function sendNow(lane: Lane, records: EncodedRecord[]): Promise<void> {
    const byTopic = new Map<string, Message[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.key, value: r.value, ...(r.headers ? { headers: r.headers } : {}) });
      byTopic.set(r.topic, list);
    }
    const timer = metrics.produceSeconds.startTimer();
    try {
      let unsent: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      for (let resend = 0; unsent.length > 0; resend++) {
        if (resend > MAX_RESENDS) throw new RetriableError(`Kafka acknowledged a send ${MAX_RESENDS} times without every partition in it`);
        if (resend > 0) {
          metrics.produceResends.inc();
          log.warn({ resend, records: unsent.reduce((n, t) => n + t.messages.length, 0), topics: unsent.map((t) => t.topic) }, 'Kafka acknowledged a send without some of its partitions (leadership moved); sending those records again');
        }
        const acknowledged = await lane.producer.sendBatch({ acks: -1, topicMessages: unsent });
        unsent = unsentMessages(unsent, acknowledged);
      }
      timer();
      metrics.produceRecords.inc(records.length);
    } catch (err) {
      const type = (err as { type?: string }).type ?? (err as { cause?: { type?: string } }).cause?.type ?? '';
      if (FATAL_IDEMPOTENCE.has(type)) {
        await replaceProducer(lane, type).catch((e: unknown) => log.warn({ err: messageOf(e) }, 'could not connect the fresh producer yet'));
        throw new RetriableError(`producer state lost (${type}); retrying with a fresh producer`, { cause: err });
      }
      throw classifyProduceError(err);
    }
  }

  /** Queued sends while they fit one request; the first is taken whatever its size. */
  function takeRequest(): Pending[] {
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
    return taken;
  }

  function pump(): void {
    for (const lane of all) {
      if (queue.length === 0) return;
      if (lane.busy) continue;
      lane.busy = true;
      const taken = takeRequest();
      void sendNow(lane, taken.flatMap((p) => p.records)).then(
        () => {
          for (const p of taken) p.resolve();
        },
        (err: unknown) => {
          for (const p of taken) p.reject(err as Error);
        },
      ).finally(() => {
        lane.busy = false;
        pump();
      });
    }
  }

  return {
    send(records) {
      if (records.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ records, resolve, reject });
        pump();
      });
    },
    disconnect: async () => void (await Promise.all(all.map((l) => l.producer.disconnect()))),
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
