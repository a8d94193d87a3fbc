/**
 * `npm test`, between the integration tests and the short chaos run: deletes the topics the
 * integration tests left on the dev stack (every test run names its own, `it-<suite>-<time>.`).
 *
 * Why: the chaos run SIGKILLs the broker and starts it again, and a broker restarted after an
 * unclean stop recovers every partition it holds before it serves anyone. In CI at 6a686f7 that
 * was 1,720 partitions of test leftovers: the broker was away 76 s instead of the fault's 5 s
 * (the vendor gave up on 129 leads meanwhile), against ~30 s in earlier runs; the longer the
 * suite grows, the closer that gets to the run's drain deadline.
 */
import pino from 'pino';
import { createKafka, withAdmin } from '../src/kafka/client.js';

const PREFIX = 'it-';
const log = pino({ level: 'warn' });
const kafka = createKafka({ KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092', KAFKA_CLIENT_ID: 'lead-router-tests', LEAD_ROUTER_INSTANCE: undefined }, log);

const dropped = await withAdmin(kafka, async (admin) => {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
  for (let i = 0; i < topics.length; i += 100) await admin.deleteTopics({ topics: topics.slice(i, i + 100), timeout: 60_000 });
  return topics.length;
});
process.stdout.write(`deleted ${dropped} topics the integration tests left (${PREFIX}*)\n`);
