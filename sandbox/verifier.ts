/**
 * Sandbox email-verification API: a stand-in for the paid third-party verifier, with the
 * fault modes of fault-server.ts (down, slow, error500, malformed) switchable at run time.
 *
 * Wire format (the defaults of src/processors/enrich/config.ts match it):
 *
 *   POST /v1/verify   {"email": "<address>"}      (the address never goes in the URL)
 *   x-api-key: sandbox-key
 *
 *   200 {"email": "jane@example.com", "result": "deliverable", "reason": "mailbox_exists"}
 *   401 {"error": "invalid api key"}          (missing or wrong key)
 *   400 {"error": "body must be JSON with an email field"}
 *
 * `result` is one of deliverable | undeliverable | risky | unknown; verdicts are deterministic
 * by the local part so tests can ask for each:
 *   contains "bounce"  → undeliverable / mailbox_not_found
 *   contains "risky"   → risky         / accept_all
 *   contains "unknown" → unknown       / smtp_timeout
 *   otherwise          → deliverable   / mailbox_exists
 *
 * Requests are recorded with leadId null: the verifier is asked about an address, not a lead.
 */
import { startFaultServer, type FaultServer } from './fault-server.js';

export const SANDBOX_VERIFIER_KEY = 'sandbox-key';

export interface VerifierOptions {
  port: number;
  host?: string;
  apiKey?: string;
}

export function verdictFor(email: string): { result: string; reason: string } {
  const local = email.toLowerCase().split('@')[0] ?? '';
  if (local.includes('bounce')) return { result: 'undeliverable', reason: 'mailbox_not_found' };
  if (local.includes('risky')) return { result: 'risky', reason: 'accept_all' };
  if (local.includes('unknown')) return { result: 'unknown', reason: 'smtp_timeout' };
  return { result: 'deliverable', reason: 'mailbox_exists' };
}

export async function startVerifier(opts: VerifierOptions): Promise<FaultServer> {
  const apiKey = opts.apiKey ?? SANDBOX_VERIFIER_KEY;
  return startFaultServer({
    name: 'verifier',
    port: opts.port,
    host: opts.host,
    // Parses as JSON but lacks `result`: the client must treat it as an unusable answer.
    malformedBody: '{"email": "?", "verdict": 42',
    keep: 50_000,
    handler: ({ method, path, headers, body }) => {
      if (method !== 'POST' || path !== '/v1/verify') return { status: 404, body: JSON.stringify({ error: 'not found' }), leadId: null };
      if (headers['x-api-key'] !== apiKey) return { status: 401, body: JSON.stringify({ error: 'invalid api key' }), leadId: null };
      const email = emailOf(body);
      if (!email) return { status: 400, body: JSON.stringify({ error: 'body must be JSON with an email field' }), leadId: null };
      return { status: 200, body: JSON.stringify({ email, ...verdictFor(email) }), leadId: null };
    },
  });
}

function emailOf(body: string): string | null {
  try {
    const v = (JSON.parse(body) as { email?: unknown } | null)?.email;
    return typeof v === 'string' && v !== '' ? v : null;
  } catch {
    return null;
  }
}
