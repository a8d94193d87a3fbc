/**
 * Inbound SMS webhooks are processed once per provider message. A reply changes who we may text
 * (STOP, START), so a replayed request is dangerous, not just noisy: a START captured last month
 * and posted again after the person's STOP would re-subscribe them. Two defences, together:
 *  - json/xml providers sign a timestamp (x-signature-timestamp, ±5 min: src/sinks/sms/signature.ts),
 *    so a captured request dies within minutes;
 *  - this ledger remembers every processed message id for good, so a replay within those minutes,
 *    or any replay of a Twilio request (Twilio signs no timestamp), is answered like the original
 *    and changes nothing.
 * The id is the provider's message id; a json/xml message without one is identified by a hash of
 * its signed timestamp and body (the same bytes, so the same replay).
 *
 * Order: checked after the signature (an unauthenticated caller learns nothing) and remembered
 * only after the reply was durably recorded, so a provider's retry after a failed attempt is
 * still processed. Two copies racing in at once may both be processed: they produce the same
 * outputs with the same ids, so the result is one reply, one opt-out record.
 * Storage: memory for the hot path, MongoDB (`sms_webhooks_seen`, `_id` = provider:id) for other
 * ingest processes and restarts. Replies are few (one per text at most), so ids are kept.
 */
import { createHash } from 'node:crypto';
import { deadline } from '../mongo-ops.js';
import type { Collection, Db } from 'mongodb';
import { LRUCache } from 'lru-cache';

export interface ReplayLedger {
  /** True when this provider message was processed already. Throws when it cannot tell (then 503). */
  seen(provider: string, messageId: string): Promise<boolean>;
  remember(provider: string, messageId: string, at: number): Promise<void>;
}

export const SEEN_COLLECTION = 'sms_webhooks_seen';

interface SeenDoc {
  _id: string;
  at: Date;
}

/** The id of a message that carries none of its own: the signed bytes identify it. */
export function derivedMessageId(timestamp: string, rawBody: string): string {
  return `sha256:${createHash('sha256').update(`${timestamp}.${rawBody}`).digest('base64url')}`;
}

export function memoryLedger(max = 100_000): ReplayLedger {
  const ids = new LRUCache<string, true>({ max });
  return {
    async seen(provider, id) {
      return ids.has(`${provider}:${id}`);
    },
    async remember(provider, id) {
      ids.set(`${provider}:${id}`, true);
    },
  };
}

/** Memory in front of MongoDB; the database is opened on first use (ingest starts without it). */
export function mongoLedger(db: () => Promise<Db>): ReplayLedger {
  const memory = memoryLedger();
  let collection: Promise<Collection<SeenDoc>> | null = null;
  const open = () => (collection ??= db().then((d) => d.collection<SeenDoc>(SEEN_COLLECTION)).catch((err: unknown) => {
    collection = null; // try again on the next webhook
    throw err;
  }));
  return {
    async seen(provider, id) {
      if (await memory.seen(provider, id)) return true;
      const found = await deadline('webhook replay check', 5000, (await open()).findOne({ _id: `${provider}:${id}` }));
      if (found) await memory.remember(provider, id, found.at.getTime());
      return found !== null;
    },
    async remember(provider, id, at) {
      await memory.remember(provider, id, at);
      try {
        await (await open()).insertOne({ _id: `${provider}:${id}`, at: new Date(at) });
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err; // already there: fine
      }
    },
  };
}
