/**
 * Takes the README's screenshot of the operations dashboard (docs/dashboard.png) the way an
 * operator would see it: the stack running (npx tsx scripts/stack.ts up), the sandbox and the
 * roles started by the integration harness, a steady trickle of leads, a few dead letters (a
 * buyer that answers accepted:false), a lead looked up by phone, the DLQ filtered to one buyer.
 *
 *   npx tsc -p tsconfig.json && npx tsx scripts/dashboard-screenshot.ts [out.png]
 */
import { DEV_OPERATOR_TOKEN } from '../src/security/dev-credentials.js';
import { postLead, startHarness } from '../test/integration/harness.js';
import { launchBrowser } from '../test/support/browser.js';
import { usLeadBody } from '../test/support/fixtures.js';

const out = process.argv[2] ?? 'docs/dashboard.png';
const h = await startHarness('screenshot', { env: { LAG_MONITOR_EVERY_MS: '2000' } });
const b = await launchBrowser('screenshot');
let loading = true;
try {
  const enrich = await h.spawnRouter(['enrich']);
  const rest = await h.spawnRouter(['route', 'sink-primary', 'sink-sms', 'sink-search', 'sink-backup', 'sink-history']);
  const ingest = (await h.spawnRouter(['ingest'], { ADMIN_TARGETS: `enrich=${enrich.adminUrl},sinks=${rest.adminUrl}` })).ingestUrl!;
  let n = 0;
  const load = (async () => {
    while (loading) {
      n++;
      // Mostly the usual lead; now and then one the buyer refuses (a dead letter with its reason).
      const body = n % 40 === 0 ? usLeadBody({ vendor: 'reject-me', phone: `(415) 555-01${String(n % 100).padStart(2, '0')}` }) : usLeadBody({ vendorLeadId: `shot-${n}`, phone: `(415) 555-01${String(n % 100).padStart(2, '0')}` });
      await postLead(ingest, body).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 60));
    }
  })();
  const { page } = b;
  await page.goto(`${ingest}/dashboard`);
  await page.fill('#token', DEV_OPERATOR_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('#conn')?.textContent === 'live');
  await new Promise((r) => setTimeout(r, 30_000));
  await page.fill('#search-q', '(415) 555-0117');
  await page.click('#search-go');
  await page.selectOption('#dlq-destination', 'primary:buyer-us');
  await page.click('#dlq-go');
  await new Promise((r) => setTimeout(r, 4000));
  await page.screenshot({ path: out, fullPage: true });
  process.stdout.write(`dashboard screenshot: ${out} (${n} leads posted)\n`);
  loading = false;
  await load;
} finally {
  loading = false;
  await b.close();
  await h.close();
}
