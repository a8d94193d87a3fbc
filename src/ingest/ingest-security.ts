/**
 * What ingest needs to tell callers apart, built once per process: the keyring (config keys plus
 * the MongoDB `vendors` collection, refreshed in the background) and the ledger of inbound SMS
 * messages already processed. Both share one MongoDB client that is never connected up front:
 * the driver connects on first use and reconnects by itself, so ingest starts, and keeps taking
 * leads, while MongoDB is away (a failed connect() here would be cached for the process's life).
 */
import { MongoClient } from 'mongodb';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DEV_PEPPER } from '../security/credentials.js';
import { openKeyring, type Keyring, type VendorDoc } from '../security/keyring.js';
import { devCredentialsInUse } from '../security/security-config.js';
import { mongoLedger, type ReplayLedger } from './webhook-replay.js';

export interface IngestSecurity {
  keyring: Keyring;
  replays: ReplayLedger;
  close(): Promise<void>;
}

export async function openIngestSecurity(config: Config, log: Logger): Promise<IngestSecurity> {
  const { env } = config;
  const security = config.router.security;
  const client = new MongoClient(env.MONGO_URL, { serverSelectionTimeoutMS: 2000, connectTimeoutMS: 2000, socketTimeoutMS: 10_000, maxPoolSize: 4 });
  const dev = devCredentialsInUse(security);
  if (dev.length > 0 || !env.CREDENTIAL_PEPPER) {
    // A warning where it matters (reachable from elsewhere); on loopback it is the dev setup, and a
    // normal start stays quiet.
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(env.HOST);
    log[loopback ? 'info' : 'warn'](
      { devCredentials: dev, defaultPepper: !env.CREDENTIAL_PEPPER, host: env.HOST },
      'development credentials in force (public keys from this repository, or the default pepper): never expose this ingest beyond this machine',
    );
  }
  const keyring = await openKeyring({
    security,
    pepper: env.CREDENTIAL_PEPPER ?? DEV_PEPPER,
    collection: () => client.db().collection<VendorDoc>(security.vendorStore.collection),
    log,
  });
  return {
    keyring,
    replays: mongoLedger(async () => client.db()),
    async close() {
      keyring.close();
      await client.close().catch(() => undefined);
    },
  };
}
