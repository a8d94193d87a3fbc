/**
 * Talking to a Confluent-compatible schema registry (Confluent's own, or Apicurio's ccompat API).
 *
 * Registration must be safe when any number of processes start at once, against a fresh registry
 * or one that already holds the subjects: registering the same schema twice returns the same id,
 * and "already exists" (HTTP 409 from Apicurio when two processes set a subject's compatibility
 * together) means someone else did it, which is done, not an error. Every request has a timeout,
 * transient failures (network, 5xx, 409 races) are retried with backoff until a deadline, and
 * only answers that will never change (an incompatible or invalid schema) fail at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RetriableError, messageOf } from '../errors.js';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export interface RegistryOptions {
  /** Per request. */
  requestTimeoutMs?: number;
  /** For the whole registration, retries included. */
  deadlineMs?: number;
  fetch?: typeof fetch;
}

class RegistryAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function call(url: string, init: RequestInit, opts: RegistryOptions): Promise<{ status: number; body: Record<string, unknown> }> {
  const f = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await f(url, { ...init, headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE }, signal: AbortSignal.timeout(opts.requestTimeoutMs ?? 5000) });
  } catch (err) {
    throw new RetriableError(`${init.method ?? 'GET'} ${url}: ${messageOf(err)}`);
  }
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { message: text.slice(0, 200) };
  }
  return { status: res.status, body };
}

const transient = (status: number) => status >= 500 || status === 408 || status === 429;

/** Retries `fn` on RetriableError with capped exponential backoff until the deadline. */
export async function retrying<T>(what: string, fn: () => Promise<T>, deadlineMs: number): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof RetriableError) || Date.now() >= until) throw new Error(`${what}: ${messageOf(err)}`);
      await sleep(Math.min(2000, 50 * 2 ** attempt) * (0.5 + Math.random() / 2));
    }
  }
}

/** Registers `schema` under `subject` and pins the subject to `compatibility`; returns the schema id. */
export async function registerSubject(registryUrl: string, subject: string, schema: string, compatibility = 'BACKWARD', opts: RegistryOptions = {}): Promise<number> {
  const s = encodeURIComponent(subject);
  return retrying(
    `cannot register ${subject}`,
    async () => {
      const id = await registerVersion(registryUrl, s, schema, opts);
      await ensureCompatibility(registryUrl, s, compatibility, opts);
      return id;
    },
    opts.deadlineMs ?? 30_000,
  );
}

async function registerVersion(registryUrl: string, s: string, schema: string, opts: RegistryOptions): Promise<number> {
  const res = await call(`${registryUrl}/subjects/${s}/versions`, { method: 'POST', body: JSON.stringify({ schema }) }, opts);
  if (res.status === 200 && typeof res.body.id === 'number') return res.body.id;
  if (transient(res.status)) throw new RetriableError(`registering: HTTP ${res.status} ${String(res.body.message ?? '')}`);
  if (res.status === 409) {
    // Either a concurrent registration of this very schema (then it is there now), or a schema
    // the subject's compatibility refuses (then it is not, and never will be).
    const found = await call(`${registryUrl}/subjects/${s}`, { method: 'POST', body: JSON.stringify({ schema }) }, opts);
    if (found.status === 200 && typeof found.body.id === 'number') return found.body.id;
    if (transient(found.status)) throw new RetriableError(`looking up: HTTP ${found.status}`);
    if (found.status === 404) throw new RetriableError(`HTTP 409 ${String(res.body.message ?? '')} and not found: retrying (a concurrent registration may still be landing)`);
  }
  throw new RegistryAnswer(res.status, `HTTP ${res.status} ${String(res.body.message ?? 'no schema id in the answer')}`);
}

async function ensureCompatibility(registryUrl: string, s: string, level: string, opts: RegistryOptions): Promise<void> {
  const url = `${registryUrl}/config/${s}`;
  const current = await call(url, { method: 'GET' }, opts);
  if (current.status === 200 && String(current.body.compatibilityLevel ?? current.body.compatibility ?? '').toUpperCase() === level) return;
  if (transient(current.status)) throw new RetriableError(`reading compatibility: HTTP ${current.status}`);
  const set = await call(url, { method: 'PUT', body: JSON.stringify({ compatibility: level }) }, opts);
  if (set.status === 200) return;
  // Apicurio: "A rule named 'COMPATIBILITY' already exists" when another process set it first.
  if (set.status === 409 || transient(set.status)) throw new RetriableError(`setting ${level} compatibility: HTTP ${set.status} ${String(set.body.message ?? '')}`);
  throw new RegistryAnswer(set.status, `setting ${level} compatibility: HTTP ${set.status} ${String(set.body.message ?? '')}`);
}

/**
 * A writer schema by id. 404 means the id does not exist in this registry (the record can never
 * be decoded here: poison); anything else is the registry being unwell (retry).
 */
export async function fetchSchemaById(registryUrl: string, id: number, opts: RegistryOptions = {}): Promise<{ found: true; schema: string } | { found: false; reason: string }> {
  const res = await call(`${registryUrl}/schemas/ids/${id}`, { method: 'GET' }, opts);
  if (res.status === 200 && typeof res.body.schema === 'string') return { found: true, schema: res.body.schema };
  if (res.status === 404) return { found: false, reason: `schema id ${id} not found in the registry` };
  throw new RetriableError(`fetching schema id ${id}: HTTP ${res.status} ${String(res.body.message ?? '')}`);
}
