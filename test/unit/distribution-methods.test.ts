import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { orderBuyers, seededRandom, seedFromId, type EligibleBuyer, type OrderingContext } from '../../src/distribution/methods.js';

const buyers = (...names: string[]): EligibleBuyer[] => names.map((name, index) => ({ name, index, weight: 1 }));
const ctx = (over: Partial<OrderingContext> = {}): OrderingContext => ({ random: seededRandom(1), bidWindowMs: 300, groupSize: 3, ...over });
const names = (order: readonly EligibleBuyer[]) => order.map((b) => b.name);

describe('priority', () => {
  test('as listed, whatever order they arrive in', () => {
    const [a, b, c] = buyers('a', 'b', 'c');
    assert.deepEqual(names(orderBuyers('priority', [c!, a!, b!], ctx()).order), ['a', 'b', 'c']);
  });
});

describe('round robin', () => {
  test('each buyer first within ±1 over many leads, cursor carried between leads', () => {
    const group = buyers('a', 'b', 'c');
    const first = new Map<string, number>();
    let cursor = 0;
    for (let lead = 0; lead < 1000; lead++) {
      const o = orderBuyers('round-robin', group, ctx({ cursor }));
      first.set(o.order[0]!.name, (first.get(o.order[0]!.name) ?? 0) + 1);
      assert.equal(o.order.length, 3, 'the others stay as fallbacks');
      cursor = o.cursor!;
    }
    const counts = [...first.values()];
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, JSON.stringify(Object.fromEntries(first)));
    assert.equal(counts.reduce((x, y) => x + y, 0), 1000);
  });

  test('rotation order and fallbacks', () => {
    const group = buyers('a', 'b', 'c');
    assert.deepEqual(names(orderBuyers('round-robin', group, ctx({ cursor: 1 })).order), ['b', 'c', 'a']);
    assert.equal(orderBuyers('round-robin', group, ctx({ cursor: 2 })).cursor, 0);
    assert.deepEqual(names(orderBuyers('round-robin', group, ctx({ cursor: 7 })).order), ['b', 'c', 'a'], 'a stale cursor wraps');
  });

  test("an ineligible buyer's turn is skipped, not saved up", () => {
    const [a, , c] = buyers('a', 'b', 'c');
    const o = orderBuyers('round-robin', [a!, c!], ctx({ cursor: 1 }));
    assert.deepEqual(names(o.order), ['c', 'a']);
    assert.equal(o.cursor, 0, 'past c');
  });

  test('spread stays within ±1 among the buyers that remain eligible', () => {
    const group = buyers('a', 'b', 'c', 'd');
    const first = new Map<string, number>();
    let cursor = 0;
    for (let lead = 0; lead < 999; lead++) {
      const eligible = group.filter((b) => b.name !== 'b'); // b is capped for the whole run
      const o = orderBuyers('round-robin', eligible, ctx({ cursor, groupSize: 4 }));
      first.set(o.order[0]!.name, (first.get(o.order[0]!.name) ?? 0) + 1);
      cursor = o.cursor!;
    }
    assert.deepEqual(Object.fromEntries(first), { a: 333, c: 333, d: 333 });
  });
});

describe('weighted', () => {
  const group: EligibleBuyer[] = [
    { name: 'small', index: 0, weight: 1 },
    { name: 'medium', index: 1, weight: 2 },
    { name: 'large', index: 2, weight: 5 },
  ];
  const expected = { small: 1 / 8, medium: 2 / 8, large: 5 / 8 };

  for (const seed of [1, 42, 20261201]) {
    test(`first choice within 5% of its weight over 2,000 leads (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const first: Record<string, number> = { small: 0, medium: 0, large: 0 };
      for (let lead = 0; lead < 2000; lead++) first[orderBuyers('weighted', group, ctx({ random })).order[0]!.name]! += 1;
      for (const [name, share] of Object.entries(expected)) {
        const got = first[name]! / 2000;
        assert.ok(Math.abs(got - share) <= 0.05, `${name}: ${got} vs ${share}`);
      }
    });
  }

  test('deterministic for a given random; every eligible buyer stays as a fallback', () => {
    const a = orderBuyers('weighted', group, ctx({ random: seededRandom(seedFromId('lead-1')) }));
    const b = orderBuyers('weighted', group, ctx({ random: seededRandom(seedFromId('lead-1')) }));
    assert.deepEqual(names(a.order), names(b.order));
    assert.deepEqual(names(a.order).sort(), ['large', 'medium', 'small']);
  });

  test('draws by weight: r just under a boundary picks the earlier buyer', () => {
    const pick = (r: number) => orderBuyers('weighted', group, ctx({ random: () => r })).order[0]!.name;
    assert.equal(pick(0), 'small');
    assert.equal(pick(0.124), 'small');
    assert.equal(pick(0.126), 'medium');
    assert.equal(pick(0.374), 'medium');
    assert.equal(pick(0.376), 'large');
    assert.equal(pick(0.999999), 'large');
  });
});

describe('auction', () => {
  const group = buyers('a', 'b', 'c', 'd', 'e');

  test('highest bid first; a late bid is ignored; no bid is left out; ties keep listed order', () => {
    const o = orderBuyers('auction', group, ctx({
      bidWindowMs: 300,
      bids: {
        a: { amount: 10, elapsedMs: 120 },
        b: { amount: 15, elapsedMs: 290 },
        c: { amount: 40, elapsedMs: 301 },
        d: { amount: null, elapsedMs: 80, reason: 'HTTP 503' },
        e: { amount: 10, elapsedMs: 40 },
      },
    }));
    assert.deepEqual(names(o.order), ['b', 'a', 'e']);
    assert.deepEqual([...o.bids], [['a', 10], ['b', 15], ['e', 10]]);
    assert.deepEqual(o.excluded, [
      { buyer: 'c', reason: 'bid late: 301ms > 300ms' },
      { buyer: 'd', reason: 'no bid: HTTP 503' },
    ]);
  });

  test('a buyer that did not answer has no bid; a standing bid competes without a ping', () => {
    const o = orderBuyers('auction', buyers('a', 'b', 'c'), ctx({
      bids: { a: { amount: 9, elapsedMs: 10 } },
      standingBids: new Map([['c', 12]]),
    }));
    assert.deepEqual(names(o.order), ['c', 'a']);
    assert.deepEqual(o.excluded, [{ buyer: 'b', reason: 'no bid' }]);
  });
});

describe('seededRandom', () => {
  test('uniform in [0, 1), reproducible', () => {
    const r = seededRandom(7);
    const xs = Array.from({ length: 10_000 }, () => r());
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, String(mean));
    assert.equal(seededRandom(7)(), xs[0]);
  });
});
