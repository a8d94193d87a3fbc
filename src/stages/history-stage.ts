/**
 * The history sink: leads.events → the history store, in bulk, committing offsets only after
 * the write. History is then exactly as durable as the topic, survives any crash (a batch
 * written but not committed is written again: duplicates are skipped by eventId), and can be
 * rebuilt by replaying the topic (`lead-router history rebuild`). A store outage is waited out
 * (the batch step retries with backoff and readiness says so); nothing is dropped meanwhile.
 */
import pLimit from 'p-limit';
import type { HistoryEventRecord } from '../history/events.js';
import type { HistoryStore } from '../history/store.js';
import type { Codec } from '../kafka/codec.js';
import type { StageSpec } from '../topology.js';
import { startStage, type StageDeps } from './context.js';

const PURGE_EVERY_MS = 3_600_000;
/**
 * The first purge after a start. The purge's range filter is a scan of the whole collection on
 * FerretDB (no index pushdown for $lt): at every start, each restart of a history process in a
 * chaos run added one, just as the SMS and buyer stores needed FerretDB most.
 */
const FIRST_PURGE_MS = 10 * 60_000;

/**
 * At most `inFlight` history writes of this process at once, whatever the partitions worked at
 * once: the store's CPU is shared with the delivery path (the SMS sent-texts store, caps). After
 * a broker outage every partition's catch-up wrote at once (six per process) and SMS jobs spent
 * 10-20 s on their store writes behind them; history may run behind, a text may not.
 */
export function limitedWrites(store: Pick<HistoryStore, 'write'>, inFlight: number): HistoryStore['write'] {
  const limit = pLimit(inFlight);
  return (records) => limit(() => store.write(records));
}

export async function startHistoryStage(deps: StageDeps, spec: StageSpec, store: HistoryStore, codec: Codec<HistoryEventRecord>) {
  const ttlMs = deps.config.env.HISTORY_TTL_DAYS * 86_400_000;
  const purge = () =>
    store
      .purge(new Date(deps.now() - ttlMs))
      .then((n) => n > 0 && deps.log.info({ deleted: n }, 'purged history past its retention'))
      .catch((err: unknown) => deps.log.warn({ err: (err as Error).message }, 'history purge failed; next hour'));
  let timer = setTimeout(function again() {
    void purge();
    timer = setTimeout(again, PURGE_EVERY_MS);
    timer.unref();
  }, FIRST_PURGE_MS);
  timer.unref();
  const write = limitedWrites(store, deps.config.env.HISTORY_WRITES_IN_FLIGHT);
  const running = await startStage<HistoryEventRecord>(deps, spec, {
    decode: (b) => codec.decode(b),
    async handle(events) {
      await write(events.map((e) => e.value));
      return events.map(() => ({ outputs: [] }));
    },
    // Only reached if the store refuses one record for good: keep its bytes for a human.
    deadLetter: (e, reason) => [{ topic: deps.topology.topics.poison, key: e.value.leadId, value: e.raw ?? Buffer.alloc(0), headers: { 'x-dead-reason': reason.slice(0, 500), 'x-dead-stage': spec.name, 'x-original-topic': e.topic } }],
  }, {
    // History may run a moment behind; the store's CPU is shared with the delivery path (SMS
    // texts, caps). Fetching as soon as one event arrived wrote 3 events per insert, 150 inserts
    // a second at 5,000 leads/min, with FerretDB and PostgreSQL taking 45% of the machine.
    // The broker holds a fetch until 256 KB or half a second: a few large inserts instead.
    fetch: { minBytes: 256 * 1024, maxWaitMs: 500 },
  });
  return { ...running, stop: async () => { clearTimeout(timer); await running.stop(); } };
}
