/**
 * The delay stages' gauges are read when /metrics is scraped (src/metrics.ts), not recomputed on
 * every settled record: what a scrape shows must still be exact, and a stopped stage's series go.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metricsText, reportDelayStage } from '../../src/metrics.js';

const series = async (name: string) => (await metricsText())[1].split('\n').filter((l) => l.startsWith(`${name}{`));

test('held records and the next due time are what the stage holds at scrape time', async () => {
  const held = new Map<string, number>([['a', 5_000_000], ['b', 2_000_000], ['c', 9_000_000]]);
  reportDelayStage('sink-backup', () => ({ held: held.size, nextDueMs: Math.min(...held.values()) }));
  reportDelayStage('sink-sms.deferred', () => ({ held: 0, nextDueMs: 0 }));
  assert.deepEqual(await series('leadrouter_delay_held_records'), ['leadrouter_delay_held_records{stage="sink-backup"} 3', 'leadrouter_delay_held_records{stage="sink-sms.deferred"} 0']);
  assert.deepEqual(await series('leadrouter_delay_next_due_timestamp_seconds'), ['leadrouter_delay_next_due_timestamp_seconds{stage="sink-backup"} 2000', 'leadrouter_delay_next_due_timestamp_seconds{stage="sink-sms.deferred"} 0']);
  held.delete('b');
  assert.deepEqual(await series('leadrouter_delay_next_due_timestamp_seconds'), ['leadrouter_delay_next_due_timestamp_seconds{stage="sink-backup"} 5000', 'leadrouter_delay_next_due_timestamp_seconds{stage="sink-sms.deferred"} 0']);
  reportDelayStage('sink-sms.deferred', null);
  assert.deepEqual(await series('leadrouter_delay_held_records'), ['leadrouter_delay_held_records{stage="sink-backup"} 2'], 'a stopped stage reports nothing');
  reportDelayStage('sink-backup', null);
});
