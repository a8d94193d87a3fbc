/**
 * sink-primary as a process builds it: the distribution sink over the hot-reloaded `primary`
 * section of the router file, its MongoDB stores (caps, plans, ledger) opened at once with a
 * pool of their own, and an hourly purge of what has expired (cap windows that ended, plans no
 * record can still need, sold leads past their return window): FerretDB 1.x has no TTL indexes.
 */
import type { Db, MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import { parseRouterFile, type Config } from '../../config.js';
import { messageOf } from '../../errors.js';
import { connectMongo } from '../../history/store.js';
import { createRulesStore } from '../../processors/route/rules-store.js';
import type { Sink } from '../sink.js';
import { openCapStore } from './cap-store.js';
import { createDistributionSink, type DistributionStores, type PrimarySection } from './distribution-sink.js';
import { openLedger } from './ledger.js';
import { openPlanStore } from './plan-store.js';

const HOUR_MS = 3_600_000;
/** Longer than any record can wait in leads.backup (14 days' retention) before its next pass. */
const PLAN_KEEP_MS = 15 * 24 * HOUR_MS;
/** The first purge after a start: a process that crashes and restarts does not purge each time. */
const FIRST_PURGE_MS = 10 * 60_000;

export async function openDistributionStores(db: Db): Promise<DistributionStores> {
  const [caps, ledger, plans] = await Promise.all([openCapStore(db), openLedger(db), openPlanStore(db)]);
  return { caps, ledger, plans };
}

export function buildPrimarySink(config: Config, log: Logger, now: () => number): Sink {
  const rulesLog = log.child({ component: 'buyers' });
  const store = createRulesStore({
    path: config.routerPath,
    log: rulesLog,
    load: (text, where) => {
      const file = parseRouterFile(text, where); // the start-up validation, every problem listed
      return { routing: file.routing, sms: file.sms, search: file.search, primary: file.primary as PrimarySection };
    },
  });
  let client: MongoClient | null = null;
  let opening: Promise<DistributionStores> | null = null;
  let purger: NodeJS.Timeout | null = null;
  const stores = (): Promise<DistributionStores> =>
    (opening ??= (async () => {
      // A pool of its own: reservations are many small round trips, in parallel across a batch.
      client = await connectMongo(config.env.MONGO_URL, { maxPoolSize: 16 });
      const s = await openDistributionStores(client.db());
      const purge = async () => {
        try {
          const t = now();
          const [slots, sold, plans] = await Promise.all([s.caps.purge(t - HOUR_MS), s.ledger.purge(new Date(t)), s.plans.purge(t - PLAN_KEEP_MS)]);
          if (slots + sold + plans > 0) log.info({ slots, sold, plans }, 'purged expired cap windows, sold leads and plans');
        } catch (err) {
          log.warn({ err: messageOf(err) }, 'distribution purge failed; next hour');
        }
      };
      // Not at once: a process restarted after a crash would add three collection scans to
      // FerretDB just as its first buyer jobs need it (chaos restarts deliver processes often).
      purger = setTimeout(function again() {
        void purge();
        purger = setTimeout(again, HOUR_MS);
        purger.unref();
      }, FIRST_PURGE_MS);
      purger.unref();
      return s;
    })().catch((err: unknown) => {
      opening = null; // the next batch tries again
      throw err;
    }));
  // Opened now, while the stage joins its group, not by its first job: in a deliver process
  // restarted under load, connecting and creating the indexes took 6.8 s of that job (chaos).
  stores().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'buyer stores not open yet; the first job tries again'));

  const sink = createDistributionSink({
    primary: () => (store.current() as { primary: PrimarySection }).primary,
    reload: () => void store.reloadNow(),
    policy: config.router.retry,
    stores,
    now,
    log,
  });
  return {
    ...sink,
    async close() {
      store.close();
      if (purger) clearTimeout(purger);
      await sink.close();
      await opening?.catch(() => undefined); // an open still under way: its client is closed too
      await (client as MongoClient | null)?.close().catch(() => undefined);
    },
  };
}
