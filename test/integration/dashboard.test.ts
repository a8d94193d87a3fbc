/**
 * The operators' dashboard in a real browser (Debian's headless Chromium, playwright-core)
 * against the running stack: enrich, the rest of the pipeline and ingest as three processes.
 * Signs in, watches counts move as leads arrive, finds a lead by phone and reads its hops, puts
 * a lead in the DLQ with a failing buyer and replays it from the page (delivered once, a second
 * replay skipped), replays another with an edit, sets an opt-out, and sees enrich shown as down
 * when its process stops. Screenshots: test-artifacts/dashboard/ (the README's picture comes from
 * scripts/dashboard-screenshot.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEV_OPERATOR_TOKEN } from '../../src/security/dev-credentials.js';
import { usLeadBody } from '../support/fixtures.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { postLead, startHarness, waitUntil, type Harness, type RouterProcess } from './harness.js';

// These run in the page (waitForFunction, $$eval): the browser's globals, without the DOM lib in this Node project.
declare const document: { querySelector(sel: string): { textContent: string | null } | null };

let h: Harness;
let enrich: RouterProcess;
let ingest: string;
let b: TestBrowser;

before(async () => {
  h = await startHarness('dashboard', { env: { LAG_MONITOR_EVERY_MS: '1000' } });
  enrich = await h.spawnRouter(['enrich']);
  const rest = await h.spawnRouter(['route', 'sink-primary', 'sink-sms', 'sink-search', 'sink-backup', 'sink-history']);
  ingest = (await h.spawnRouter(['ingest'], { ADMIN_TARGETS: `enrich=${enrich.adminUrl},sinks=${rest.adminUrl}` })).ingestUrl!;
  b = await launchBrowser('dashboard');
});
after(async () => {
  await b?.close();
  await h?.close();
});

const accepted = (leadId: string) => h.sandbox.buyerUs.received.filter((r) => r.leadId === leadId && r.accepted);
const text = async (selector: string) => (await b.page.textContent(selector)) ?? '';
const firstNumber = (s: string) => Number(/\d+/.exec(s)?.[0] ?? NaN);

test('an operator signs in and watches the counts move as leads arrive', { timeout: 240_000 }, async () => {
  const { page } = b;
  await page.goto(`${ingest}/dashboard`);
  assert.match(page.url(), /\/dashboard\/login$/, 'no cookie: sent to the sign-in form');
  await page.fill('#token', 'lro_not_an_operator_token_at_all_0000000000');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (document.querySelector('#login-error')?.textContent ?? '') !== '');
  await page.fill('#token', DEV_OPERATOR_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-page="dashboard"]');
  await page.waitForFunction(() => document.querySelector('#conn')?.textContent === 'live', undefined, { timeout: 30_000 });

  const buyer = '[data-destination-row="primary:buyer-us"] [data-f="counts"]';
  const before = firstNumber(await text(buyer));
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await postLead(ingest, usLeadBody({ vendorLeadId: `dash-count-${i}` }))).json.leadId as string);
  await page.waitForFunction(([sel, n]) => Number(/\d+/.exec(document.querySelector(sel as string)?.textContent ?? '')?.[0]) >= (n as number) + 5, [buyer, before] as const, { timeout: 60_000 });
  await page.waitForFunction((id) => (document.querySelector('#recent-rows')?.textContent ?? '').includes(id), ids[4]!, { timeout: 30_000 });
  const rawTopic = `[data-topic="${h.topology.topics.raw}"] [data-f="rate"]`;
  assert.match(await text(rawTopic), /\d+ total/);
  assert.ok(Number(/(\d+) total/.exec(await text(rawTopic))?.[1]) >= 5, 'leads.raw shows what was written');
  assert.match(await text('[data-stage-row="enrich"] [data-f="members"]'), /^1$/);
  await b.screenshot('1-live-counts');
});

test('a lead found by phone shows every hop with ISO times and gaps', { timeout: 120_000 }, async () => {
  const { page } = b;
  const res = await postLead(ingest, usLeadBody({ phone: '(415) 555-0147', vendorLeadId: `dash-phone-${Date.now()}` }));
  const leadId = res.json.leadId as string;
  await waitUntil('the lead to be delivered everywhere', async () => {
    await page.fill('#search-q', '+1 415 555 0147');
    await page.click('#search-go');
    await page.waitForFunction(() => !(document.querySelector('#search-note')?.textContent ?? '').startsWith('searching'));
    const timeline = await text('#timeline');
    return (await text('#timeline-title')).includes(leadId) && (timeline.match(/delivered/g) ?? []).length >= 3;
  }, 60_000, 1000);
  const rows = await page.$$eval('#timeline tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  const types = rows.map((r) => r[2]);
  for (const t of ['received', 'enriched', 'routed', 'delivered']) assert.ok(types.includes(t), `timeline has ${t}: ${types.join(',')}`);
  for (const r of rows) assert.match(r[0]!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'ISO time');
  assert.ok(rows.slice(1).every((r) => /^\+\d/.test(r[1]!)), 'every hop after the first shows its gap');
  assert.match(await text('#search-note'), /by phone/);
  await b.screenshot('2-lead-by-phone');
});

test('a dead lead is replayed from the page, delivered once; a second replay is skipped', { timeout: 180_000 }, async () => {
  const { page } = b;
  h.sandbox.buyerUs.setMode('error500');
  const leadId = (await postLead(ingest, usLeadBody({ vendorLeadId: `dash-dlq-${Date.now()}` }))).json.leadId as string;
  await page.selectOption('#dlq-destination', 'primary:buyer-us');
  await waitUntil('the lead in the DLQ browser', async () => {
    await page.click('#dlq-go');
    await page.waitForTimeout(500);
    return (await page.$(`#dlq-rows tr[data-lead-id="${leadId}"]`)) !== null;
  }, 60_000, 1000);
  assert.match(await text(`#dlq-rows tr[data-lead-id="${leadId}"]`), /primary:buyer-us\s*sink-primary/);
  await b.screenshot('3-dlq');
  await h.sandbox.buyerUs.setMode('healthy');
  assert.equal(accepted(leadId).length, 0);

  await page.click(`#dlq-rows tr[data-lead-id="${leadId}"] button.replay-one`);
  await page.waitForFunction(() => /replayed 1/.test(document.querySelector('#dlq-result')?.textContent ?? ''), undefined, { timeout: 30_000 });
  await waitUntil('the buyer to accept the replayed lead', () => accepted(leadId).length > 0, 30_000);

  // Its timeline now says it was replayed, then delivered.
  await waitUntil('replayed and delivered in the history', async () => {
    await page.fill('#search-q', leadId);
    await page.click('#search-go');
    await page.waitForTimeout(500);
    const t = await text('#timeline');
    return t.includes('replayed') && /delivered.*primary:buyer-us/s.test(t);
  }, 30_000, 1000);
  await b.screenshot('4-replayed');

  await page.click('#dlq-go');
  await page.waitForSelector(`#dlq-rows tr[data-lead-id="${leadId}"]`);
  await page.click(`#dlq-rows tr[data-lead-id="${leadId}"] button.replay-one`);
  await page.waitForFunction(() => /replayed 0, skipped 1/.test(document.querySelector('#dlq-result')?.textContent ?? ''), undefined, { timeout: 30_000 });
  assert.match(await text('#dlq-result'), /already delivered|already replayed/);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(accepted(leadId).length, 1, 'delivered exactly once');
});

test('a dead lead replayed with an edit reaches the buyer edited', { timeout: 180_000 }, async () => {
  const { page } = b;
  h.sandbox.buyerUs.setMode('error500');
  const leadId = (await postLead(ingest, usLeadBody({ vendorLeadId: `dash-edit-${Date.now()}` }))).json.leadId as string;
  await waitUntil('the lead in the DLQ browser', async () => {
    await page.click('#dlq-go');
    await page.waitForTimeout(500);
    return (await page.$(`#dlq-rows tr[data-lead-id="${leadId}"]`)) !== null;
  }, 60_000, 1000);
  await h.sandbox.buyerUs.setMode('healthy');
  await page.click(`#dlq-rows tr[data-lead-id="${leadId}"] button:has-text("Edit & replay")`);
  await page.waitForSelector('#edit-box:not([hidden])');
  const lead = JSON.parse(await page.inputValue('#edit-json')) as Record<string, unknown>;
  assert.equal(lead.jobTitle, 'CNA - Certified Nursing Assistant - Nights');
  assert.equal(lead.leadId, undefined, 'identity is not offered for editing');
  await page.fill('#edit-json', JSON.stringify({ ...lead, jobTitle: 'Registered Nurse - edited' }, null, 2));
  await page.click('#edit-replay');
  await page.waitForFunction(() => /replayed 1/.test(document.querySelector('#dlq-result')?.textContent ?? ''), undefined, { timeout: 30_000 });
  const got = await waitUntil('the edited lead at the buyer', () => accepted(leadId)[0], 30_000);
  assert.equal((JSON.parse(got.body) as { jobTitle: string }).jobTitle, 'Registered Nurse - edited');
});

test('opt-out lookup and a manual opt-out', { timeout: 120_000 }, async () => {
  const { page } = b;
  await page.fill('#optout-phone', '+1 415 555 0188');
  await page.click('#optout-lookup');
  await page.waitForFunction(() => /\+14155550188: not opted out/.test(document.querySelector('#optout-result')?.textContent ?? ''));
  await page.click('#optout-set');
  await page.waitForFunction(() => /\+14155550188: OPTED OUT/.test(document.querySelector('#optout-result')?.textContent ?? ''), undefined, { timeout: 20_000 });
  assert.doesNotMatch(await text('#optout-result'), /not yet applied/);
  // The route stage follows the same topic: this number is no longer queued for SMS.
  const leadId = (await postLead(ingest, usLeadBody({ phone: '+1 415 555 0188' }))).json.leadId as string;
  await waitUntil('the buyer to get the lead', () => accepted(leadId).length > 0, 30_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(!h.sandbox.twilio.received.some((r) => r.leadId === leadId), 'an opted-out number is not texted');
});

test('a role that stops is shown down, and the page stays usable', { timeout: 120_000 }, async () => {
  const { page } = b;
  await enrich.stop('SIGTERM');
  await page.waitForFunction(() => /enrich is DOWN/.test(document.querySelector('#down-banner')?.textContent ?? ''), undefined, { timeout: 60_000 });
  assert.ok(await page.$('[data-stage="enrich"].down'), 'the diagram marks enrich down');
  assert.match(await text('[data-role="enrich"]'), /enrich: down/);
  // Leads still arrive (202) and wait on leads.raw: the lag shows.
  for (let i = 0; i < 3; i++) assert.equal((await postLead(ingest, usLeadBody())).status, 202);
  await page.waitForFunction(() => Number(document.querySelector('[data-stage-row="enrich"] [data-f="lag"]')?.textContent) >= 3, undefined, { timeout: 30_000 });
  await page.waitForFunction(() => /enrich.*UNREACHABLE|unreachable/s.test(document.querySelector('#target-rows')?.textContent ?? ''), undefined, { timeout: 30_000 });
  await b.screenshot('5-enrich-down');
  await page.fill('#search-q', '+1 415 555 0147');
  await page.click('#search-go');
  await page.waitForFunction(() => /lead\(s\) by phone/.test(document.querySelector('#search-note')?.textContent ?? ''));
  assert.deepEqual(b.errors.filter((e) => !/Failed to load resource|EventSource/.test(e)), [], 'no script errors');
});
