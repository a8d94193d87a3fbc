import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitedWrites } from '../../src/stages/history-stage.js';

test('history writes: at most N of a process in flight, whatever the partitions worked at once; every write done', async () => {
  let inFlight = 0;
  let most = 0;
  let written = 0;
  const store = {
    async write(records: unknown[]) {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      written += records.length;
      return { inserted: records.length, duplicates: 0 };
    },
  };
  const write = limitedWrites(store, 2);
  const answers = await Promise.all(Array.from({ length: 6 }, () => write([{}, {}] as never)));
  assert.equal(most, 2, 'six partitions, two writes at a time');
  assert.equal(written, 12);
  assert.ok(answers.every((a) => a.inserted === 2), 'each caller gets its own answer');
});
