/**
 * The live dashboard as a fastify plugin on the ingest process, behind the operator credential
 * (src/dashboard/session.ts):
 *   GET  /dashboard                   the page (server-rendered, then live)   GET /dashboard/login
 *   GET  /dashboard/events            SSE: a snapshot every 2 s               POST /dashboard/login|logout
 *   GET  /dashboard/api/snapshot      the same snapshot, once                 GET /dashboard/static/*
 *   GET  /dashboard/api/search?q=     leadId, phone or vendorLeadId → leads
 *   GET  /dashboard/api/leads/:id     a lead's timeline (ISO times, gaps)
 *   GET  /dashboard/api/dlq           dead letters, filtered                  GET /dashboard/api/dlq/lead
 *   POST /dashboard/api/dlq/replay    replay one lead or a filtered set (optional edit, dry run)
 *   GET|POST /dashboard/api/optouts   opt-out lookup, manual opt-out / opt back in
 * Routes are hidden from /openapi.json: they are this page's own backend, not an integration
 * contract. They still validate requests and serialize answers by schema.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from 'fastify';
import { historyView } from '../ingest/history-view.js';
import { errorResponses, historyBody } from '../ingest/openapi.js';
import { EditError, checkEdit } from '../ops/lead-edit.js';
import type { Keyring } from '../security/keyring.js';
import type { Topology } from '../topology.js';
import type { DashboardActions } from './actions.js';
import type { LiveView } from './live-view.js';
import { loginPage, dashboardPage } from './page.js';
import { dlqItemSchema, dlqQuery, replayBody, replayReportSchema, snapshotSchema } from './schemas.js';
import { authenticateDashboard, requireOperator, sessionCookie } from './session.js';

export interface DashboardPluginDeps {
  keyring: Keyring;
  live: LiveView;
  actions: DashboardActions;
  topology: Topology;
  /** TOPIC_PREFIX (not "prefix": fastify reads that register option as a route prefix). */
  topicPrefix: string;
  destinations: string[];
}

const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const STATIC: Record<string, string> = { 'dashboard.js': 'text/javascript; charset=utf-8', 'dashboard.css': 'text/css; charset=utf-8' };
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const html = { hide: true, response: { 200: { type: 'string' } } } as const;
const time = (s: string | undefined) => (s ? Date.parse(s) : undefined);

function page(reply: FastifyReply, body: string) {
  return reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').send(body);
}

export const dashboardPlugin: FastifyPluginAsync<DashboardPluginDeps> = async (app: FastifyInstance, deps: DashboardPluginDeps) => {
  const files = Object.fromEntries(Object.keys(STATIC).map((f) => [f, fs.readFileSync(path.join(WEB_DIR, f), 'utf8')]));
  const pageAuth = requireOperator(deps.keyring, 'page');
  const apiAuth = requireOperator(deps.keyring, 'api');
  const api = (extra: Record<string, unknown> = {}) => ({ onRequest: apiAuth, config: { rateLimit: {} }, schema: { hide: true, ...extra } });
  const streams = new Set<FastifyReply>();
  app.decorateRequest('operator', null);
  app.addHook('preClose', async () => {
    for (const s of streams) s.raw.end(); // open SSE streams would hold the server open
    await deps.live.close();
    await deps.actions.close();
  });

  app.get('/dashboard/login', { schema: html }, async (_req, reply) => page(reply, loginPage()));
  app.get('/dashboard', { onRequest: pageAuth, schema: html }, async (req, reply) =>
    page(reply, dashboardPage({ topology: deps.topology, prefix: deps.topicPrefix, snapshot: await deps.live.snapshot(), operator: req.operator?.operatorId ?? '', destinations: deps.destinations })),
  );
  app.get<{ Params: { file: string } }>('/dashboard/static/:file', { schema: { hide: true, params: { type: 'object', properties: { file: { type: 'string', maxLength: 40 } } }, response: { 200: { type: 'string' }, ...errorResponses(404) } } }, async (req, reply) => {
    const body = files[req.params.file];
    if (body === undefined || !STATIC[req.params.file]) return reply.code(404).send({ error: 'not_found', message: 'no such file' });
    return reply.header('content-type', STATIC[req.params.file]!).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
  });
  app.post<{ Body: { token: string } }>(
    '/dashboard/login',
    { config: { rateLimit: {} }, schema: { hide: true, body: { type: 'object', required: ['token'], properties: { token: { type: 'string', minLength: 1, maxLength: 200 } } }, response: { 204: { type: 'null' }, ...errorResponses(400, 403, 429) } } },
    async (req, reply) => {
      const a = deps.keyring.operator(`Bearer ${req.body.token}`);
      if (!a.ok || a.principal.kind !== 'operator') return reply.code(403).send({ error: 'forbidden', message: 'operator token not recognised' });
      return reply.code(204).header('set-cookie', sessionCookie(req, req.body.token)).send();
    },
  );
  app.post('/dashboard/logout', { schema: { hide: true, response: { 204: { type: 'null' } } } }, async (req, reply) => reply.code(204).header('set-cookie', sessionCookie(req, null)).send());

  app.get('/dashboard/events', { onRequest: apiAuth, schema: { hide: true } }, async (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    reply.raw.write('retry: 3000\n\n');
    streams.add(reply);
    const unsubscribe = deps.live.subscribe((s) => reply.raw.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`));
    // Also ends the stream when the token was revoked meanwhile: the page then asks to sign in again.
    const beat = setInterval(() => (authenticateDashboard(deps.keyring, req).ok ? reply.raw.write(': alive\n\n') : reply.raw.end()), 15_000);
    reply.raw.on('close', () => {
      clearInterval(beat);
      unsubscribe();
      streams.delete(reply);
    });
  });

  app.get('/dashboard/api/snapshot', api({ response: { 200: snapshotSchema, ...errorResponses(401, 403, 429) } }), async () => deps.live.snapshot());

  app.get<{ Querystring: { q: string } }>(
    '/dashboard/api/search',
    api({
      querystring: { type: 'object', required: ['q'], properties: { q: { type: 'string', minLength: 1, maxLength: 100 } } },
      response: {
        200: { type: 'object', required: ['by', 'leads'], properties: { by: { type: 'string' }, note: { type: ['string', 'null'] }, leads: { type: 'array', items: { type: 'object', required: ['leadId'], properties: { leadId: { type: 'string' }, receivedAt: { type: ['string', 'null'] } } } } } },
        ...errorResponses(400, 401, 403, 429, 503),
      },
    }),
    async (req, reply) => {
      try {
        return await deps.actions.search(req.query.q);
      } catch (err) {
        return reply.code(503).send({ error: 'unavailable', message: `search failed: ${(err as Error).message}` });
      }
    },
  );

  app.get<{ Params: { leadId: string } }>(
    '/dashboard/api/leads/:leadId',
    api({ params: { type: 'object', required: ['leadId'], properties: { leadId: { type: 'string', format: 'uuid' } } }, response: { 200: historyBody, ...errorResponses(400, 401, 403, 404, 429, 503) } }),
    async (req, reply) => {
      const stored = await deps.actions.timeline(req.params.leadId).catch((err: Error) => err);
      if (stored instanceof Error) return reply.code(503).send({ error: 'unavailable', message: `history: ${stored.message}` });
      if (stored.length === 0) return reply.code(404).send({ error: 'not_found', message: `no history for lead ${req.params.leadId} (yet)` });
      return historyView(req.params.leadId, stored);
    },
  );

  app.get<{ Querystring: { destination?: string; reason?: string; since?: string; until?: string; limit?: number } }>(
    '/dashboard/api/dlq',
    api({
      querystring: dlqQuery,
      response: { 200: { type: 'object', required: ['total', 'items', 'destinations', 'complete'], properties: { total: { type: 'integer' }, complete: { type: 'boolean' }, destinations: { type: 'array', items: { type: 'string' } }, items: { type: 'array', items: dlqItemSchema } } }, ...errorResponses(400, 401, 403, 429, 503) },
    }),
    async (req, reply) => {
      const q = req.query;
      const found = await deps.actions.deadLetters({ destination: q.destination, reason: q.reason, since: time(q.since), until: time(q.until) }, q.limit ?? 100).catch((err: Error) => err);
      if (found instanceof Error) return reply.code(503).send({ error: 'unavailable', message: `cannot read the DLQ: ${found.message}` });
      return { ...found, items: found.items.map((d) => ({ leadId: d.leadId, destination: d.destination, reason: d.reason, stage: d.stage, deadAt: new Date(d.deadAt).toISOString(), attempt: d.attempt, originalTopic: d.originalTopic })) };
    },
  );

  app.get<{ Querystring: { leadId: string; destination?: string } }>(
    '/dashboard/api/dlq/lead',
    api({ querystring: { type: 'object', required: ['leadId'], properties: { leadId: { type: 'string', format: 'uuid' }, destination: { type: 'string', maxLength: 100 } } }, response: { 200: { type: 'object', additionalProperties: true }, ...errorResponses(400, 401, 403, 404, 429) } }),
    async (req, reply) => {
      const d = deps.actions.deadLead(req.query.leadId, req.query.destination ?? null);
      if (!d) return reply.code(404).send({ error: 'not_found', message: 'no such dead letter' });
      const { leadId, receivedAt, vendor, hops, delivery, rejection, deadLetter, ...editable } = d.lead as unknown as Record<string, unknown>;
      void leadId, receivedAt, vendor, hops, delivery, rejection, deadLetter;
      return editable;
    },
  );

  app.post<{ Body: { filter: { destination?: string; reason?: string; since?: string; until?: string; leadIds?: string[] }; edit?: Record<string, unknown>; dryRun?: boolean } }>(
    '/dashboard/api/dlq/replay',
    api({ body: replayBody, response: { 200: replayReportSchema, ...errorResponses(400, 401, 403, 429, 503) } }),
    async (req, reply) => {
      const f = req.body.filter;
      let edit: Record<string, unknown> | undefined;
      try {
        edit = req.body.edit === undefined ? undefined : checkEdit(req.body.edit);
      } catch (err) {
        if (err instanceof EditError) return reply.code(400).send({ error: 'invalid_edit', message: err.message });
        throw err;
      }
      try {
        return await deps.actions.replay({ destination: f.destination, reason: f.reason, since: time(f.since), until: time(f.until), leadIds: f.leadIds }, { edit, dryRun: req.body.dryRun ?? false, operator: req.operator!.operatorId });
      } catch (err) {
        return reply.code(503).send({ error: 'unavailable', message: `replay failed: ${(err as Error).message}` });
      }
    },
  );

  const optOutAnswer = { type: 'object', required: ['phone', 'optedOut'], properties: { phone: { type: 'string' }, optedOut: { type: 'boolean' }, applied: { type: 'boolean' } } } as const;
  const phone = { type: 'string', minLength: 7, maxLength: 32 } as const;
  app.get<{ Querystring: { phone: string } }>('/dashboard/api/optouts', api({ querystring: { type: 'object', required: ['phone'], properties: { phone } }, response: { 200: optOutAnswer, ...errorResponses(400, 401, 403, 429, 503) } }), async (req, reply) => {
    const r = await deps.actions.optOutState(req.query.phone).catch((err: Error) => err);
    if (r instanceof Error) return reply.code(503).send({ error: 'unavailable', message: `opt-out list: ${r.message}` });
    return r ?? reply.code(400).send({ error: 'invalid_phone', message: 'not a phone number that can be read' });
  });
  app.post<{ Body: { phone: string; optedOut: boolean } }>(
    '/dashboard/api/optouts',
    api({ body: { type: 'object', required: ['phone', 'optedOut'], properties: { phone, optedOut: { type: 'boolean' } } }, response: { 200: optOutAnswer, ...errorResponses(400, 401, 403, 429, 503) } }),
    async (req, reply) => {
      const r = await deps.actions.setOptOut(req.body.phone, req.body.optedOut, req.operator!.operatorId).catch((err: Error) => err);
      if (r instanceof Error) return reply.code(503).send({ error: 'unavailable', message: `opt-out not written: ${r.message}` });
      return r ?? reply.code(400).send({ error: 'invalid_phone', message: 'not a phone number that can be read' });
    },
  );
};
