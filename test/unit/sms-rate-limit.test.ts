import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SmsAdapter, SmsMessage } from '../../src/sinks/sms/adapters/adapter.js';
import { createRateLimiter, withRateLimit } from '../../src/sinks/sms/rate-limit.js';

/** A manual clock: sleep() registers a timer; run() fires timers in time order once the code has settled. */
class FakeClock {
  t = 0;
  private timers: { at: number; seq: number; resolve: () => void }[] = [];
  private seq = 0;
  now = (): number => this.t;
  sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      this.timers.push({ at: this.t + ms, seq: this.seq++, resolve });
    });
  /** Fires timers until none are left (or `until` is reached). */
  async run(until = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.t = next.at;
      next.resolve();
    }
    if (Number.isFinite(until)) this.t = Math.max(this.t, until);
    await settle();
  }
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('rate limiter (token bucket + concurrency)', () => {
  test('a burst goes at once, then sends are paced at the rate, in call order', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 3, concurrency: 100, now: clock.now, sleep: clock.sleep });
    const starts: [number, number][] = [];
    const all = Array.from({ length: 8 }, (_, i) => limiter.schedule(async () => void starts.push([i, clock.now()])));
    await clock.run();
    await Promise.all(all);
    assert.deepEqual(starts, [
      [0, 0], [1, 0], [2, 0],
      [3, 100], [4, 200], [5, 300], [6, 400], [7, 500],
    ]);
  });

  test('an idle bucket refills up to the burst, never beyond', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 3, concurrency: 100, now: clock.now, sleep: clock.sleep });
    const first = Array.from({ length: 3 }, () => limiter.schedule(async () => clock.now()));
    await clock.run();
    await Promise.all(first);
    await clock.run(10_000); // idle for ten seconds: 100 tokens' worth, but the bucket holds 3
    const starts: number[] = [];
    const second = Array.from({ length: 5 }, () => limiter.schedule(async () => void starts.push(clock.now())));
    await clock.run();
    await Promise.all(second);
    assert.deepEqual(starts, [10_000, 10_000, 10_000, 10_100, 10_200]);
  });

  test('burst 1 paces every send evenly', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ ratePerSecond: 4, concurrency: 10, now: clock.now, sleep: clock.sleep });
    const starts: number[] = [];
    const all = Array.from({ length: 4 }, () => limiter.schedule(async () => void starts.push(clock.now())));
    await clock.run();
    await Promise.all(all);
    assert.deepEqual(starts, [0, 250, 500, 750]);
  });

  test('concurrency cap: never more in flight than allowed; the next starts when one finishes', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1e6, burst: 1000, concurrency: 2 });
    const gates: (() => void)[] = [];
    const started: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const all = Array.from({ length: 6 }, (_, i) =>
      limiter.schedule(async () => {
        started.push(i);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((r) => gates.push(r));
        inFlight--;
        return i;
      }),
    );
    await settle();
    assert.deepEqual(started, [0, 1]);
    assert.equal(limiter.activeCount, 2);
    assert.equal(limiter.pendingCount, 4);
    gates[0]!();
    await settle();
    assert.deepEqual(started, [0, 1, 2]);
    // Release the rest one by one: each release lets exactly one more start.
    for (let released = 1; released < 6; released++) {
      gates[released]!();
      await settle();
      assert.ok(inFlight <= 2);
    }
    assert.deepEqual(await Promise.all(all), [0, 1, 2, 3, 4, 5]);
    assert.equal(maxInFlight, 2);
  });

  test('a failing call rejects its own promise and frees its slot', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 1e6, burst: 10, concurrency: 1 });
    const bad = limiter.schedule(async () => {
      throw new Error('boom');
    });
    const good = limiter.schedule(async () => 'ok');
    await assert.rejects(bad, /boom/);
    assert.equal(await good, 'ok');
  });

  test('a text whose intent went stale while paced is not sent: the adapter is never called', async () => {
    const sent: string[] = [];
    const adapter: SmsAdapter = { kind: 'twilio', send: async (m) => (sent.push(m.to), { ok: true, providerMessageId: 'SM1' }), lookup: async () => ({ found: false }), close: async () => {} };
    const paced = withRateLimit(adapter, createRateLimiter({ ratePerSecond: 1e6, burst: 10, concurrency: 1 }));
    const msg = (to: string, fresh: boolean): SmsMessage => ({ leadId: to, to, body: 'hi', idempotencyKey: to, stillFresh: () => fresh });
    const [stale, fresh] = await Promise.all([paced.send(msg('+14155550100', false)), paced.send(msg('+14155550101', true))]);
    assert.deepEqual(stale, { ok: false, retriable: true, uncertain: false, stale: true, error: 'not sent: its intent grew too old while it waited (checked again later)' });
    assert.equal(fresh.ok, true);
    assert.deepEqual(sent, ['+14155550101']);
  });

  test('a late event loop does not let a later slot overtake one whose timer has not fired yet', async () => {
    const clock = new FakeClock();
    const limiter = createRateLimiter({ ratePerSecond: 10, concurrency: 2, now: clock.now, sleep: clock.sleep });
    const order: string[] = [];
    let finishA!: () => void;
    const a = limiter.schedule(() => new Promise<void>((r) => (finishA = () => (order.push('A'), r()))));
    const b = limiter.schedule(async () => void order.push('B')); // its slot is 100 ms away: a timer
    const c = limiter.schedule(async () => void order.push('C')); // waits for a concurrency slot
    await settle();
    // The loop ran late: by the time A frees its slot, C's time has long passed (no wait), while
    // B's timer has not fired yet.
    clock.t = 1000;
    finishA();
    await settle();
    assert.deepEqual(order, ['A'], 'C went before B');
    await clock.run();
    await Promise.all([a, b, c]);
    assert.deepEqual(order, ['A', 'B', 'C']);
  });

  test('invalid settings fail at construction', () => {
    assert.throws(() => createRateLimiter({ ratePerSecond: 0, concurrency: 1 }), /ratePerSecond/);
    assert.throws(() => createRateLimiter({ ratePerSecond: 1, concurrency: 0 }), /concurrency/);
    assert.throws(() => createRateLimiter({ ratePerSecond: 1, burst: 0.5, concurrency: 1 }), /burst/);
  });

  test('with real timers: sends are paced (lower bound only) and complete in order', async () => {
    const limiter = createRateLimiter({ ratePerSecond: 50, concurrency: 3 });
    const done: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: 5 }, (_, i) => limiter.schedule(async () => void done.push(i))));
    const elapsed = performance.now() - started;
    assert.deepEqual(done, [0, 1, 2, 3, 4]);
    // Five sends at 50/s with burst 1 cannot finish before 4 intervals (80 ms); allow timer rounding.
    assert.ok(elapsed >= 70, `took ${elapsed} ms`);
  });

  test('withRateLimit paces an adapter and passes kind and close through', async () => {
    const clock = new FakeClock();
    const sentAt: number[] = [];
    let closed = false;
    const raw: SmsAdapter = {
      kind: 'json',
      send: async (m) => {
        sentAt.push(clock.now());
        return { ok: true, providerMessageId: m.leadId };
      },
      lookup: async () => ({ found: false }),
      close: async () => void (closed = true),
    };
    const paced = withRateLimit(raw, createRateLimiter({ ratePerSecond: 2, concurrency: 5, now: clock.now, sleep: clock.sleep }));
    assert.equal(paced.kind, 'json');
    const msg = (id: string): SmsMessage => ({ leadId: id, to: '+14155550123', body: 'x', idempotencyKey: `${id}:sms` });
    const results = Promise.all(['a', 'b', 'c'].map((id) => paced.send(msg(id))));
    await clock.run();
    assert.deepEqual((await results).map((r) => r.ok && r.providerMessageId), ['a', 'b', 'c']);
    assert.deepEqual(sentAt, [0, 500, 1000]);
    await paced.close();
    assert.equal(closed, true);
  });
});
