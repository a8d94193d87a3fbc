/**
 * The dashboard's credential: the operator token, as for every operator route. A browser cannot
 * add an Authorization header to a page load or an EventSource, so the login form hands the
 * token to POST /dashboard/login, which checks it and keeps it in a cookie: HttpOnly (no script
 * reads it), SameSite=Strict (no other site's page sends it), Path=/dashboard, Secure on https.
 * Every request checks the token again against the keyring, so a revoked token ends its
 * sessions at once; there is no session store to keep in step. Tools may send the usual
 * `Authorization: Bearer` header instead. Changes (replay, opt-out) also need the header
 * `x-dashboard: 1`, which a cross-site form cannot send: CSRF is refused twice over.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Keyring, OperatorPrincipal } from '../security/keyring.js';

export const COOKIE = 'lr_operator';
export const CSRF_HEADER = 'x-dashboard';

export function readCookie(req: FastifyRequest, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function sessionCookie(req: FastifyRequest, token: string | null): string {
  const secure = req.protocol === 'https' ? '; Secure' : '';
  return token === null
    ? `${COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0${secure}`
    : `${COOKIE}=${encodeURIComponent(token)}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200${secure}`;
}

export type DashboardAuth = { ok: true; operator: OperatorPrincipal; via: 'header' | 'cookie' } | { ok: false; status: 401 | 403 };

export function authenticateDashboard(keyring: Keyring, req: FastifyRequest): DashboardAuth {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const a = keyring.operator(header);
    return a.ok && a.principal.kind === 'operator' ? { ok: true, operator: a.principal, via: 'header' } : { ok: false, status: 403 };
  }
  // A vendor key is a credential, just the wrong kind here.
  if (req.headers['x-api-key'] !== undefined) return { ok: false, status: 403 };
  const token = readCookie(req, COOKIE);
  if (token === null || token === '') return { ok: false, status: 401 };
  const a = keyring.operator(`Bearer ${token}`);
  return a.ok && a.principal.kind === 'operator' ? { ok: true, operator: a.principal, via: 'cookie' } : { ok: false, status: 401 };
}

declare module 'fastify' {
  interface FastifyRequest {
    operator: OperatorPrincipal | null;
  }
}

/** onRequest hook: pages send people to the login form, the API answers 401/403 as every route does. */
export function requireOperator(keyring: Keyring, kind: 'page' | 'api') {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const auth = authenticateDashboard(keyring, req);
    if (auth.ok) {
      if (req.method !== 'GET' && auth.via === 'cookie' && req.headers[CSRF_HEADER] !== '1') {
        return reply.code(403).send({ error: 'forbidden', message: `changes need the ${CSRF_HEADER}: 1 header` });
      }
      req.operator = auth.operator;
      req.principal = auth.operator; // the rate limiter counts per principal
      return;
    }
    if (kind === 'page' && auth.status === 401) return reply.code(303).header('location', '/dashboard/login').send();
    if (auth.status === 401) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthenticated', message: 'sign in at /dashboard/login or send Authorization: Bearer <operator token>' });
    return reply.code(403).send({ error: 'forbidden', message: 'an operator token is needed here' });
  };
}
