/**
 * `lead-router history rebuild`: writes the history store again from leads.events, from its
 * first record to its last one now. Writes are idempotent (eventId), so it can run while the
 * history sink runs, and a rebuild of an intact store changes nothing. --fresh drops the
 * collection first (after a restore, or to change its shape).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { createKafka } from '../kafka/client.js';
import { createCodec } from '../kafka/codec.js';
import { readRange } from '../kafka/topic-reader.js';
import { buildTopology } from '../topology.js';
import type { HistoryEventRecord } from './events.js';
import { EVENTS_COLLECTION, openHistoryStore } from './store.js';

export async function rebuildHistory(config: Config, log: Logger, opts: { fresh: boolean; collection?: string; progress?(line: string): void }) {
  const { env } = config;
  const topic = buildTopology(config).topics.events;
  const codec = await createCodec<HistoryEventRecord>(env.SCHEMA_REGISTRY_URL, 'history-event.avsc', [topic]);
  const collection = opts.collection ?? EVENTS_COLLECTION;
  if (opts.fresh) {
    const dropper = await openHistoryStore(env.MONGO_URL, { ttlDays: env.HISTORY_TTL_DAYS, collection });
    await dropper.db.collection(collection).drop().catch(() => undefined);
    await dropper.close();
  }
  const store = await openHistoryStore(env.MONGO_URL, { ttlDays: env.HISTORY_TTL_DAYS, collection });
  let inserted = 0;
  let duplicates = 0;
  let lastReport = 0;
  try {
    const { read } = await readRange({
      kafka: createKafka(env, log, 'history-rebuild'),
      topic,
      async onBatch(records) {
        const events = await Promise.all(records.map((r) => codec.decode(r.value)));
        const r = await store.write(events);
        inserted += r.inserted;
        duplicates += r.duplicates;
      },
      onProgress(done, total) {
        if (Date.now() - lastReport < 1000 && done < total) return;
        lastReport = Date.now();
        opts.progress?.(`history rebuild: ${done}/${total} events (${Math.round((100 * done) / Math.max(1, total))}%)`);
      },
    });
    return { topic, read, inserted, duplicates };
  } finally {
    await store.close();
  }
}
