/**
 * The alerting rules (alerts/lead-router.rules.yml) checked and unit-tested by Prometheus's own
 * promtool on synthetic series (alerts/lead-router.test.yml). promtool is Debian's `prometheus`
 * package (.ci/run installs it); without it this test fails and says how to get it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

function promtool(...args: string[]) {
  const r = spawnSync(PROMTOOL, args, { cwd: 'alerts', encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    assert.fail(`promtool not found (${PROMTOOL}): install it with apt-get install -y --no-install-recommends prometheus (or set PROMTOOL)`);
  }
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the alerting rules are valid Prometheus rules', () => {
  const r = promtool('check', 'rules', 'lead-router.rules.yml');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS: \d+ rules found/);
});

test('every alert fires on its synthetic series, and its look-alikes do not (promtool test rules)', () => {
  const r = promtool('test', 'rules', 'lead-router.test.yml');
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});
