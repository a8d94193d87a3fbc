/**
 * The dashboard's routes through fastify.inject(), with a stub live view and stub actions: who
 * gets in (operator token by header or by the sign-in cookie; never a vendor key), CSRF on
 * changes, the headers a page needs, and that none of it appears in the vendors' OpenAPI document.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { dashboardPlugin } from '../../src/dashboard/plugin.js';
import type { Snapshot } from '../../src/dashboard/live-view.js';
import { ACME_KEY, OPERATOR, UNKNOWN_OPERATOR, operatorHeaders, testKeyring, vendorHeaders } from '../support/auth.js';
import { testIngest } from '../support/ingest-app.js';

const snapshot: Snapshot = { at: 1, kafka: { ok: true, error: null }, topics: {}, stages: [], roles: [], targets: [], destinations: [], recent: [] };
const replays: unknown[] = [];
let app: FastifyInstance;

before(async () => {
  app = (await testIngest()).app;
  await app.register(dashboardPlugin, {
    keyring: await testKeyring(),
    live: { snapshot: async () => snapshot, subscribe: () => () => undefined, close: async () => undefined } as never,
    actions: {
      replay: async (filter: unknown, opts: unknown) => (replays.push({ filter, opts }), { total: 1, replayed: 1, skipped: 0, failed: 0, reasons: {}, items: [] }),
      close: async () => undefined,
    } as never,
    topology: { stages: [], topics: { raw: 'leads.raw', enriched: 'leads.enriched', events: 'leads.events', poison: 'leads.dlq.poison', dlq: 'leads.dlq', backup: 'leads.backup' } } as never,
    topicPrefix: '',
    destinations: ['primary:buyer-us'],
  });
});

test('without a credential: the page sends you to sign in, the API answers 401', async () => {
  const page = await app.inject({ url: '/dashboard' });
  assert.equal(page.statusCode, 303);
  assert.equal(page.headers.location, '/dashboard/login');
  const api = await app.inject({ url: '/dashboard/api/snapshot' });
  assert.equal(api.statusCode, 401);
  assert.equal(api.headers['www-authenticate'], 'Bearer');
  assert.equal((await app.inject({ url: '/dashboard/events' })).statusCode, 401);
  const login = await app.inject({ url: '/dashboard/login' });
  assert.equal(login.statusCode, 200);
  assert.match(String(login.headers['content-type']), /text\/html/);
});

test('a vendor key or an unknown token is refused; an operator token works as a header', async () => {
  assert.equal((await app.inject({ url: '/dashboard/api/snapshot', headers: vendorHeaders(ACME_KEY) })).statusCode, 403);
  assert.equal((await app.inject({ url: '/dashboard', headers: vendorHeaders(ACME_KEY) })).statusCode, 403);
  assert.equal((await app.inject({ url: '/dashboard/api/snapshot', headers: operatorHeaders(UNKNOWN_OPERATOR) })).statusCode, 403);
  const ok = await app.inject({ url: '/dashboard/api/snapshot', headers: operatorHeaders() });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().kafka.ok, true);
});

test('signing in sets an HttpOnly, SameSite=Strict cookie scoped to /dashboard; the page then loads with a strict CSP', async () => {
  assert.equal((await app.inject({ method: 'POST', url: '/dashboard/login', payload: { token: UNKNOWN_OPERATOR } })).statusCode, 403);
  assert.equal((await app.inject({ method: 'POST', url: '/dashboard/login', payload: { token: ACME_KEY } })).statusCode, 403, 'a vendor key does not sign in');
  const res = await app.inject({ method: 'POST', url: '/dashboard/login', payload: { token: OPERATOR } });
  assert.equal(res.statusCode, 204);
  const cookie = String(res.headers['set-cookie']);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\/dashboard/);
  const jar = cookie.split(';')[0]!;
  const page = await app.inject({ url: '/dashboard', headers: { cookie: jar } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /lead-router operations/);
  assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
  assert.equal(page.headers['cache-control'], 'no-store');
  assert.match((await app.inject({ method: 'POST', url: '/dashboard/logout' })).headers['set-cookie'] as string, /Max-Age=0/);
});

test('changes by cookie need the x-dashboard header (no cross-site form can replay or opt out)', async () => {
  const jar = String((await app.inject({ method: 'POST', url: '/dashboard/login', payload: { token: OPERATOR } })).headers['set-cookie']).split(';')[0]!;
  const body = { filter: { destination: 'primary:buyer-us' } };
  const csrf = await app.inject({ method: 'POST', url: '/dashboard/api/dlq/replay', headers: { cookie: jar }, payload: body });
  assert.equal(csrf.statusCode, 403);
  assert.equal(replays.length, 0);
  const ok = await app.inject({ method: 'POST', url: '/dashboard/api/dlq/replay', headers: { cookie: jar, 'x-dashboard': '1' }, payload: body });
  assert.equal(ok.statusCode, 200);
  assert.equal(ok.json().replayed, 1);
  assert.deepEqual((replays[0] as { opts: { operator: string } }).opts.operator, 'dev-operator');
  const badEdit = await app.inject({ method: 'POST', url: '/dashboard/api/dlq/replay', headers: operatorHeaders(), payload: { ...body, edit: { leadId: 'x' } } });
  assert.equal(badEdit.statusCode, 400);
  assert.equal(badEdit.json().error, 'invalid_edit');
});

test('the page\'s script and styles are served; nothing else from disk; none of it is in the OpenAPI document', async () => {
  const js = await app.inject({ url: '/dashboard/static/dashboard.js' });
  assert.equal(js.statusCode, 200);
  assert.match(String(js.headers['content-type']), /javascript/);
  assert.equal((await app.inject({ url: '/dashboard/static/..%2Fpackage.json' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/dashboard/static/other.js' })).statusCode, 404);
  const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
  assert.deepEqual(Object.keys(doc.paths).filter((p) => p.startsWith('/dashboard')), []);
});
