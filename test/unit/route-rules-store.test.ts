import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import YAML from 'yaml';
import type { RoutingConfig } from '../../src/processors/route/route.js';
import { routingSchema } from '../../src/processors/route/rules-schema.js';
import { createRulesStore, type RulesStoreOptions } from '../../src/processors/route/rules-store.js';
import { routingReloader } from '../../src/stages/route-stage.js';
import { shippedRouterConfig } from '../support/fixtures.js';

const shipped = shippedRouterConfig();

/** A pino logger whose records the test can read. */
function capturingLog() {
  const records: { level: number; msg: string; reason?: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void records.push(JSON.parse(line)) });
  return { log, records, warnings: () => records.filter((r) => r.level === 40) };
}

/** The store's unit-test load: YAML + the rules schema, destinations from the shipped file. */
function load(text: string, where: string): RoutingConfig {
  const raw = YAML.parse(text) as { routing?: unknown };
  const parsed = routingSchema.safeParse(raw?.routing);
  if (!parsed.success) throw new Error(`${where}: ${parsed.error.issues.map((i) => `routing.${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { routing: parsed.data, sms: shipped.sms, search: shipped.search };
}

function rulesFile(...names: string[]): string {
  return YAML.stringify({ routing: { rules: names.map((name) => ({ name, then: { primary: 'buyer-us' } })) } });
}

const BAD = 'routing:\n  rules:\n    - { name: typo, when: { colour: red }, then: {} }\n';

/** Replaces the file the way editors and config management do: write aside, then rename. */
function replaceAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

async function until<T>(what: string, probe: () => T | null | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function setup(t: { after(fn: () => void): void }, initial: string, extra: Partial<RulesStoreOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'route-rules-'));
  const file = path.join(dir, 'router.yaml');
  fs.writeFileSync(file, initial);
  const { log, records, warnings } = capturingLog();
  const changes: string[][] = [];
  const store = createRulesStore({
    path: file,
    log,
    load,
    debounceMs: 20,
    pollMs: 50,
    onChange: (next) => changes.push(next.routing.rules.map((r) => r.name)),
    ...extra,
  });
  t.after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const names = () => store.current().routing.rules.map((r) => r.name);
  return { file, store, records, warnings, changes, names };
}

test('rules store: a valid new file takes effect; an invalid one is refused with a warning and the last good rules stay', async (t) => {
  const s = setup(t, rulesFile('v1'));
  assert.deepEqual(s.names(), ['v1']);

  replaceAtomically(s.file, rulesFile('v2-a', 'v2-b'));
  await until('the v2 rules', () => s.names()[0] === 'v2-a');
  assert.deepEqual(s.names(), ['v2-a', 'v2-b']);
  assert.deepEqual(s.changes, [['v2-a', 'v2-b']], 'onChange once per change');
  assert.ok(s.records.some((r) => r.level === 30 && r.msg === 'routing rules reloaded'));

  replaceAtomically(s.file, BAD);
  const warning = await until('a warning about the bad file', () => s.warnings()[0]);
  assert.match(warning.reason ?? '', /routing\.rules\.0\.when: unknown condition "colour"/);
  assert.match(warning.msg, /keeping the last good rules/);
  assert.deepEqual(s.names(), ['v2-a', 'v2-b'], 'the last good rules stay in force');
  assert.equal(s.changes.length, 1);

  // reloadNow reports the problem to its caller too, and the rules still stay.
  const again = s.store.reloadNow();
  assert.equal(again.ok, false);
  assert.match(again.ok ? '' : again.error, /unknown condition "colour"/);
  assert.deepEqual(s.names(), ['v2-a', 'v2-b']);

  // Fixed: reloadNow applies it at once, no waiting.
  fs.writeFileSync(s.file, rulesFile('v3'));
  assert.deepEqual(s.store.reloadNow(), { ok: true });
  assert.deepEqual(s.names(), ['v3']);
  assert.ok(Object.isFrozen(s.store.current().routing.rules), 'rules handed out are frozen');
});

test('rules store: the directory watch alone picks up a change (no polling)', async (t) => {
  const s = setup(t, rulesFile('v1'), { pollMs: 0 });
  fs.writeFileSync(s.file, rulesFile('edited-in-place'));
  await until('the in-place edit', () => s.names()[0] === 'edited-in-place');
  replaceAtomically(s.file, rulesFile('replaced'));
  await until('the atomic replacement', () => s.names()[0] === 'replaced');
});

test('rules store: the stat poll alone picks up a change (file systems where watching fails)', async (t) => {
  const realWatch = fs.watch;
  // The store cannot watch: it must say so and fall back to polling.
  (fs as { watch: unknown }).watch = () => {
    throw Object.assign(new Error('watch unsupported'), { code: 'ENOSYS' });
  };
  let s: ReturnType<typeof setup>;
  try {
    s = setup(t, rulesFile('v1'));
  } finally {
    (fs as { watch: unknown }).watch = realWatch;
  }
  assert.match(s.warnings()[0]?.msg ?? '', /falling back to polling/);
  replaceAtomically(s.file, rulesFile('polled'));
  await until('the polled change', () => s.names()[0] === 'polled');
});

test('rules store: a missing file keeps the rules, warns once, and recovers when the file is back', async (t) => {
  const s = setup(t, rulesFile('v1'));
  fs.rmSync(s.file);
  const warning = await until('a warning about the missing file', () => s.warnings()[0]);
  assert.match(warning.reason ?? '', /cannot read .*ENOENT/);
  assert.deepEqual(s.names(), ['v1']);
  // Several more checks while it is missing (logged at debug), still one warning.
  await until('repeated checks of the missing file', () => s.records.filter((r) => r.level === 20 && /still cannot read/.test(r.msg)).length >= 2);
  assert.equal(s.warnings().length, 1, 'the missing file is reported once, not on every poll');
  fs.writeFileSync(s.file, rulesFile('back'));
  await until('the restored file', () => s.names()[0] === 'back');
  assert.ok(s.records.some((r) => r.level === 30 && r.msg === 'routing rules reloaded'));
});

test('rules store: an invalid file at start fails like start-up does; close() stops watching', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'route-rules-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'router.yaml');
  fs.writeFileSync(file, BAD);
  assert.throws(() => createRulesStore({ path: file, log: capturingLog().log, load }), /unknown condition "colour"/);

  // close() releases the directory watch, the poll timer and a pending debounce.
  fs.writeFileSync(file, rulesFile('v1'));
  const watch = t.mock.method(fs, 'watch');
  const setInt = t.mock.method(globalThis, 'setInterval');
  const clearInt = t.mock.method(globalThis, 'clearInterval');
  const store = createRulesStore({ path: file, log: capturingLog().log, load, debounceMs: 60_000, pollMs: 20 });
  const watcher = watch.mock.calls[0]?.result as fs.FSWatcher;
  const watcherClose = t.mock.method(watcher, 'close');
  const poller = setInt.mock.calls[0]?.result;
  assert.ok(poller, 'the store polls');
  store.close();
  assert.equal(watcherClose.mock.callCount(), 1);
  assert.ok(clearInt.mock.calls.some((c) => c.arguments[0] === poller), 'the poll timer is cleared');
  store.close(); // idempotent
  assert.equal(watcherClose.mock.callCount(), 1);
  assert.equal(store.current().routing.rules[0]?.name, 'v1', 'the last rules stay readable after close');
});

// ---- the route stage's loader: the whole file validated as at start-up, routing only taken ----

test('routingReloader: new rules from a full router file; destinations stay those the router started with', () => {
  const text = fs.readFileSync('config/router.yaml', 'utf8');
  const { log, warnings } = capturingLog();
  const reload = routingReloader(shipped, log);

  const same = reload(text, 'router.yaml');
  assert.deepEqual(same.routing, shipped.routing);
  assert.equal(same.sms, shipped.sms);
  assert.equal(warnings().length, 0, 'nothing outside routing changed');

  const doc = YAML.parseDocument(text);
  doc.setIn(['routing', 'rules', 0, 'name'], 'uk-renamed');
  doc.setIn(['retry', 'maxAttempts'], 3);
  const renamed = reload(doc.toString(), 'router.yaml');
  assert.equal(renamed.routing.rules[0]?.name, 'uk-renamed');
  assert.deepEqual(warnings().map((w) => w.sections), [['retry']], 'a change outside routing is flagged as needing a restart');

  // A new provider declared in the file and used by a rule: valid file, but the running router has
  // no topic or sink for it.
  const added = YAML.parseDocument(text);
  added.setIn(['sms', 'providers', 'newsms'], { kind: 'json', baseUrl: 'http://127.0.0.1:1', apiKey: 'k', from: 'X', markets: ['US'] });
  added.setIn(['routing', 'rules', 1, 'then', 'sms'], ['newsms', 'twilio']);
  assert.throws(() => reload(added.toString(), 'router.yaml'), /routing\.rules\.1\.then\.sms\.0: unknown SMS provider "newsms" in the running router .*restart/);

  // And an invalid file is refused by the start-up validation itself.
  const unknownBuyer = YAML.parseDocument(text);
  unknownBuyer.setIn(['routing', 'rules', 1, 'then', 'primary'], 'nobody');
  assert.throws(() => reload(unknownBuyer.toString(), 'router.yaml'), /unknown buyer "nobody"/);
});
