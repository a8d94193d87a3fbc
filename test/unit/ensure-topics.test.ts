/**
 * Topic creation at start-up with other processes doing the same: a topic just created elsewhere
 * answers "This server does not host this topic-partition" for a moment, which is waited out;
 * a real failure is not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Admin } from 'kafkajs';
import { ensureTopics } from '../../src/kafka/client.js';
import type { TopicSpec } from '../../src/topology.js';

const spec = (name: string): TopicSpec => ({ name, partitions: 6, replicationFactor: 1, configs: {} }) as unknown as TopicSpec;
const notHosted = () => Object.assign(new Error('This server does not host this topic-partition'), { retriable: true, type: 'UNKNOWN_TOPIC_OR_PARTITION' });

function fakeAdmin(listFailures: number, listed: string[] = []) {
  let failures = listFailures;
  const created: string[] = [];
  const admin = {
    async listTopics() {
      if (failures > 0) {
        failures--;
        throw notHosted();
      }
      return [...listed, ...created];
    },
    async createTopics({ topics }: { topics: { topic: string }[] }) {
      created.push(...topics.map((t) => t.topic));
      return true;
    },
  } as unknown as Admin;
  return { admin, created };
}

test('a topic another process has just created (not hosted yet) is waited out, then the rest is created', async () => {
  const sleeps: number[] = [];
  const f = fakeAdmin(2, ['leads.raw']);
  const made = await ensureTopics(f.admin, [spec('leads.raw'), spec('leads.enriched')], { sleep: async (ms) => void sleeps.push(ms) });
  assert.deepEqual(made, ['leads.enriched']);
  assert.equal(sleeps.length, 2, 'two waits, one per "not hosted" answer');
});

test('a failure that is not retriable, or one that outlasts the wait, is an error', async () => {
  const denied = { listTopics: async () => { throw Object.assign(new Error('Topic authorization failed'), { retriable: false }); } } as unknown as Admin;
  await assert.rejects(ensureTopics(denied, [spec('leads.raw')], { sleep: async () => undefined }), /authorization/);
  const f = fakeAdmin(1_000);
  await assert.rejects(ensureTopics(f.admin, [spec('leads.raw')], { waitMs: 50, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 10))) }), /does not host/);
});
