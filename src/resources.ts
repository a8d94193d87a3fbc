/**
 * What the stages of one process share, built on first use and closed once: the MongoDB-wire
 * database (history store, SMS sent-texts store), the opt-out list, and the sinks. A process
 * that runs only enrich never connects to MongoDB; one that runs every SMS provider builds one
 * sent-texts store for all of them. Each builder is imported when first used, so a role loads only
 * the clients it needs (the Elasticsearch client alone is ~0.15 s of a start-up): a restarted
 * role's start-up is time its partitions wait.
 */
import type { Logger } from 'pino';
import type { Db, MongoClient } from 'mongodb';
import type { Config } from './config.js';
import type { HistoryEventRecord } from './history/events.js';
import type { HistoryStore } from './history/store.js';
import type { Kafka } from './kafka/client.js';
import type { Codec } from './kafka/codec.js';
import type { Ledger } from './sinks/primary/ledger.js';
import type { Sink } from './sinks/sink.js';
import { followOptOuts, type OptOutList, type OptOutRecord } from './sinks/sms/optouts.js';
import type { SentStore } from './sinks/sms/sent-store.js';
import type { StageSpec, Topology } from './topology.js';

export interface Resources {
  eventsCodec: Codec<HistoryEventRecord>;
  optOuts(): Promise<OptOutList>;
  sentStore(): Promise<SentStore>;
  historyStore(): Promise<HistoryStore>;
  /** Payouts, credits and kept leads (returns, revenue). Retried on the next call after a failure. */
  ledger(): Promise<Ledger>;
  sinkFor(spec: StageSpec): Promise<Sink>;
  close(): Promise<void>;
}

/** A start-up step: a readable one-line error if it fails, and never a silent hang. */
export async function step<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
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

export function createResources(opts: { config: Config; topology: Topology; kafka: Kafka; log: Logger; now: () => number; eventsCodec: Codec<HistoryEventRecord>; optOutCodec: Codec<OptOutRecord> }): Resources {
  const { env } = opts.config;
  const closers: (() => Promise<unknown>)[] = [];
  // Built on first use and shared; a failed build is forgotten so the next caller tries again
  // (a cached rejection turned one start-up hiccup into 503s for the life of the process).
  const once = <T>(build: () => Promise<T>) => {
    let p: Promise<T> | null = null;
    return () =>
      (p ??= build().catch((err: unknown) => {
        p = null;
        throw err;
      }));
  };
  const mongo = once(async (): Promise<{ client: MongoClient; db: Db }> => {
    const { connectMongo } = await import('./history/store.js');
    const client = await step(`MongoDB at ${env.MONGO_URL}`, () => connectMongo(env.MONGO_URL));
    closers.push(() => client.close());
    return { client, db: client.db() };
  });
  const optOuts = once(async () => {
    const list = await step('opt-out list', () => followOptOuts({ kafka: opts.kafka, topic: opts.topology.topics.optouts, codec: opts.optOutCodec, log: opts.log }));
    closers.unshift(() => list.close());
    return list;
  });
  const sentStore = once(async () => step('SMS sent-texts store', async () => (await import('./sinks/sms/sent-store.js')).openSentStore((await mongo()).db)));
  const historyStore = once(async () => {
    const { EVENTS_COLLECTION, openHistoryStore } = await import('./history/store.js');
    const store = await step('history store', () => openHistoryStore(env.MONGO_URL, { ttlDays: env.HISTORY_TTL_DAYS, collection: EVENTS_COLLECTION }));
    closers.push(() => store.close());
    return store;
  });
  // Ingest serves returns whenever MongoDB is back: once() tries a failed open again.
  const ledger = once(async (): Promise<Ledger> => (await import('./sinks/primary/ledger.js')).openLedger((await mongo()).db));
  const sinks = new Map<string, Promise<Sink>>();
  const sms = once(async () => {
    const [{ buildSmsSinks }, { smsEligibility }] = await Promise.all([import('./sinks/sms/build.js'), import('./sinks/sms/abuse-guard.js')]);
    return buildSmsSinks(opts.config.router.sms.providers, {
      optOuts: await optOuts(),
      sent: await sentStore(),
      policy: opts.config.router.smsPolicy,
      now: opts.now,
      publicBaseUrl: env.PUBLIC_BASE_URL,
      // Whoever posts a lead picks its phone: only a handset in the lead's own market is texted
      // (no premium-rate, toll-free or foreign numbers); the reason lands in history as suppressed.
      eligible: smsEligibility,
      onSlowJob: (job) => opts.log.warn(job, 'slow SMS job: its partitions waited this long (milliseconds per phase)'),
    });
  });
  async function build(spec: StageSpec): Promise<Sink> {
    const d = spec.destination;
    // Distribution among the rule's buyers; schedules and caps follow the business clock, signatures the real one.
    if (d?.kind === 'primary') return (await import('./sinks/primary/build.js')).buildPrimarySink(opts.config, opts.log.child({ stage: spec.name }), opts.now);
    if (d?.kind === 'search') {
      const { createSearchSink } = await import('./sinks/search/search-sink.js');
      return step(`Elasticsearch at ${env.ES_URL}`, () => createSearchSink({ url: env.ES_URL, index: opts.config.router.search.index }));
    }
    if (d?.kind === 'sms' && d.name) {
      const sink = (await sms()).get(d.name);
      if (sink) return sink;
    }
    throw new Error(`stage ${spec.name}: no sink for its destination`);
  }
  return {
    eventsCodec: opts.eventsCodec,
    optOuts,
    sentStore,
    historyStore,
    ledger,
    sinkFor(spec) {
      // One Sink per destination: a deliver stage and its retry twin share its pacing, circuit and stores.
      const key = spec.destination ? `${spec.destination.kind}:${spec.destination.name ?? ''}` : spec.name;
      let s = sinks.get(key);
      if (!s) {
        s = build(spec);
        sinks.set(key, s);
        closers.unshift(async () => (await s!).close());
      }
      return s;
    },
    async close() {
      for (const close of closers) await close().catch((err: unknown) => opts.log.warn({ err: (err as Error).message }, 'close failed'));
    },
  };
}
