/**
 * The global opt-out list, materialized in memory from the compacted topic leads.optouts
 * (key: E.164 phone, latest record wins). Every route and SMS-sink process holds its own copy:
 * it reads the topic to its end before it starts (so it never texts with a partial list), then
 * follows it live. No consumer-group commits: every instance always reads the whole topic.
 *
 * It fails closed. A record the registry cannot resolve right now is retried (the list is not
 * readable meanwhile, and the SMS sink sends nothing); bytes that can never be decoded still
 * carry the phone in their key, and an unreadable opt-out counts as an opt-out.
 */
import type { Logger } from 'pino';
import { PoisonMessageError, messageOf } from '../../errors.js';
import type { Kafka } from '../../kafka/client.js';
import type { Codec } from '../../kafka/codec.js';
import { followTable } from '../../kafka/table.js';

export interface OptOutRecord {
  phone: string;
  optedOut: boolean;
  at: number;
  source: string;
  text: string | null;
}

export interface OptOutList {
  isOptedOut(phone: string): boolean;
  /** False while a record could not be read yet: texting must wait. */
  readable(): boolean;
  size(): number;
  /** Resolves once a record at least as new as `at` for `phone` has been applied (tests, webhooks). */
  waitFor(phone: string, optedOut: boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export async function followOptOuts(opts: { kafka: Kafka; topic: string; codec: Codec<OptOutRecord>; log: Logger }): Promise<OptOutList> {
  const state = new Map<string, boolean>();
  let unreadable: string | null = null;
  const waiters = new Set<() => void>();
  const { ready, close } = await followTable({
    kafka: opts.kafka,
    topic: opts.topic,
    afterEach: () => {
      for (const w of waiters) w();
    },
    async apply(phone, value, { partition, offset }) {
      if (!phone) return;
      if (value === null) return void state.delete(phone); // tombstone: forgotten entirely
      try {
        const r = await opts.codec.decode(value);
        state.set(r.phone, r.optedOut);
        unreadable = null;
      } catch (err) {
        if (!(err instanceof PoisonMessageError)) {
          // The registry is briefly unwell: throwing has this record read again (with backoff);
          // until then the list is not readable and nobody is texted.
          unreadable = `opt-out at ${partition}/${offset}: ${messageOf(err)}`;
          opts.log.warn({ err: messageOf(err), partition, offset }, 'opt-out record not readable yet; texting waits');
          throw err;
        }
        // Never readable: when unsure, opt out (the key is the phone).
        state.set(phone, true);
        opts.log.error({ err: messageOf(err), partition, offset }, 'undecodable opt-out record: the number is treated as opted out');
      }
    },
  });
  await ready;
  opts.log.info({ optedOut: [...state.values()].filter(Boolean).length }, 'opt-out list loaded');

  return {
    isOptedOut: (phone) => state.get(phone) === true,
    readable: () => unreadable === null,
    size: () => state.size,
    waitFor(phone, optedOut, timeoutMs) {
      return new Promise((resolve) => {
        const check = () => {
          if ((state.get(phone) === true) === optedOut) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(true);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          resolve(false);
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close,
  };
}

/** The record that writes an opt-out (or opt back in): keyed by phone for compaction. */
export function optOutOutput(topic: string, record: OptOutRecord) {
  return { topic, key: record.phone, value: record };
}
