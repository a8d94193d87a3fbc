/**
 * Authentication at the front door, as a route's first onRequest hook: before the body is read,
 * before the rate limiter (which counts per principal) and before anything is parsed.
 *
 *   vendor routes     `x-api-key: lr_…`                     (POST /v1/leads)
 *   operator routes   `Authorization: Bearer lro_…`         (readiness details)
 *   either            GET /v1/leads/:leadId: an operator reads any lead, a vendor its own (masked)
 *   buyer or operator POST /v1/leads/:leadId/returns: `x-api-key: lrb_…` (a buyer) or the operator's
 *
 * Answers, each with the documented error body ({error, message}):
 *   401 unauthenticated   no credential of the kind the route takes (with WWW-Authenticate)
 *   403 forbidden         a credential that is not recognised or revoked, or of the wrong kind
 *   503 unavailable       a well-formed key while the vendor store has never been read yet
 *                         (+ Retry-After): "not yet", so the vendor retries instead of giving up
 * The two credentials never stand in for each other: vendor routes read only x-api-key and
 * operator routes only Authorization, so a client that adds a stray header still gets through.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authentication, Keyring, Principal } from '../security/keyring.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export type Audience = 'vendor' | 'operator' | 'vendor-or-operator' | 'buyer-or-operator';

export const AUTH_ERRORS = {
  unauthenticated: 'send an API key in the x-api-key header (vendors) or Authorization: Bearer <token> (operators)',
  forbidden: 'credential not recognised: revoked, mistyped, or not allowed on this endpoint',
  loading: 'credentials are still loading; retry shortly',
} as const;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function authenticate(keyring: Keyring, audience: Audience, req: FastifyRequest): Authentication {
  const apiKey = header(req, 'x-api-key');
  const authorization = header(req, 'authorization');
  if (audience === 'vendor') {
    // An operator token here is a wrong credential (403), not a missing one.
    if (apiKey === undefined && authorization !== undefined) return keyring.operator(authorization).ok ? { ok: false, why: 'invalid' } : keyring.operator(authorization);
    return keyring.vendor(apiKey);
  }
  if (audience === 'operator') {
    if (authorization === undefined && apiKey !== undefined) return keyring.vendor(apiKey).ok ? { ok: false, why: 'invalid' } : keyring.vendor(apiKey);
    return keyring.operator(authorization);
  }
  if (audience === 'buyer-or-operator') return authorization !== undefined ? keyring.operator(authorization) : keyring.buyer(apiKey);
  return authorization !== undefined ? keyring.operator(authorization) : keyring.vendor(apiKey);
}

/** The onRequest hook for a route open to `audience`. */
export function requireAuth(keyring: Keyring, audience: Audience) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const auth = authenticate(keyring, audience, req);
    if (auth.ok) {
      req.principal = auth.principal;
      return;
    }
    if (auth.why === 'missing') {
      return reply
        .code(401)
        .header('www-authenticate', audience === 'operator' ? 'Bearer' : 'ApiKey header="x-api-key"')
        .send({ error: 'unauthenticated', message: AUTH_ERRORS.unauthenticated });
    }
    if (auth.why === 'not_loaded') return reply.code(503).header('retry-after', '2').send({ error: 'unavailable', message: AUTH_ERRORS.loading });
    return reply.code(403).send({ error: 'forbidden', message: AUTH_ERRORS.forbidden });
  };
}

/** Who the request counts against in the rate limiter. */
export function principalKey(req: FastifyRequest): string {
  const p = req.principal;
  if (p?.kind === 'vendor') return `vendor:${p.vendor}`;
  if (p?.kind === 'operator') return `operator:${p.operatorId}`;
  if (p?.kind === 'buyer') return `buyer:${p.buyer}`;
  return `ip:${req.ip}`;
}
