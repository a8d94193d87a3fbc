/**
 * What a sandbox SMS provider has "sent", shared by the three providers. Real providers do not
 * de-duplicate (Twilio ignores our idempotency header), so by default neither does the sandbox:
 * every message accepted in healthy or slow mode is a text to a person, and a second text to the
 * same phone is marked `duplicate` in the request record. That is what lets a test or a chaos run
 * count people texted twice. `idempotency: true` brings back a provider that answers a repeated
 * key with the original id and sends nothing (the record says `replayed`).
 *
 * Lookups (the adapters' lookup()) are answered from this log too, so a message sent in slow mode
 * after the client gave up is found, and one dropped in down mode is not.
 */
import type http from 'node:http';
import type { FaultServer } from './fault-server.js';

export const E164 = /^\+[1-9]\d{6,14}$/;

export interface SentText {
  id: string;
  to: string;
  /** The idempotency key / reference it was sent with, when there was one. */
  key: string | null;
  at: number;
  from: string;
  body: string;
  /** Provider status; tests may set 'failed' or 'undelivered' to see lookups skip it. */
  status: string;
}

export interface SmsSandboxStats {
  /** Texts sent (accepted in healthy or slow mode; replays not counted). */
  sent: number;
  uniquePhones: number;
  /** Phones that got more than one text from this provider. */
  phonesTextedTwice: number;
}

/** A sandbox SMS provider: a FaultServer plus what it sent. GET /_sandbox/stats → SmsSandboxStats, GET /_sandbox/sent → { sent }. */
export interface SmsSandbox extends FaultServer {
  /** Every text sent, oldest first (the same array the server appends to). */
  sent: SentText[];
  /** Phones texted more than once, in the order their second text went out. */
  textedTwice(): string[];
  stats(): SmsSandboxStats;
}

export interface SmsSandboxOptions {
  port: number;
  host?: string;
  /** Answer a repeated idempotency key with the original message and send nothing. Default false, as real providers. */
  idempotency?: boolean;
}

export class SentLog {
  readonly sent: SentText[] = [];
  private readonly byKey = new Map<string, SentText[]>();
  private readonly byPhone = new Map<string, number>();
  private readonly twice: string[] = [];

  constructor(private readonly idempotency: boolean) {}

  /** Sends a text, or with idempotency on replays the one already sent under key. */
  accept(m: { key: string | null; to: string; from: string; body: string; status: string }, freshId: () => string): { text: SentText; duplicate: boolean; replayed: boolean } {
    const earlier = m.key ? this.byKey.get(m.key)?.[0] : undefined;
    if (this.idempotency && earlier) return { text: earlier, duplicate: false, replayed: true };
    const text: SentText = { id: freshId(), to: m.to, key: m.key, at: Date.now(), from: m.from, body: m.body, status: m.status };
    this.sent.push(text);
    if (m.key) this.byKey.set(m.key, [...(this.byKey.get(m.key) ?? []), text]);
    const before = this.byPhone.get(m.to) ?? 0;
    this.byPhone.set(m.to, before + 1);
    if (before === 1) this.twice.push(m.to);
    return { text, duplicate: before > 0, replayed: false };
  }

  byReference(key: string): SentText[] {
    return this.byKey.get(key) ?? [];
  }

  textedTwice(): string[] {
    return [...this.twice];
  }

  stats(): SmsSandboxStats {
    return { sent: this.sent.length, uniquePhones: this.byPhone.size, phonesTextedTwice: this.twice.length };
  }

  /** The control routes every SMS sandbox adds. */
  controlRoutes(): Record<string, () => unknown> {
    return { '/_sandbox/stats': () => this.stats(), '/_sandbox/sent': () => ({ sent: this.sent }) };
  }

  /** Adds sent/textedTwice/stats to a started server. Spreads it: its methods are closures, `received` is shared. */
  attach<S extends FaultServer>(server: S): S & SmsSandbox {
    return { ...server, sent: this.sent, textedTwice: () => this.textedTwice(), stats: () => this.stats() };
  }
}

/** The idempotency key is `${leadId}:${destination}`; the lead id is what tests look records up by. */
export function leadIdFromIdempotencyKey(key: string | null | undefined): string | null {
  if (!key) return null;
  const i = key.indexOf(':');
  return i > 0 ? key.slice(0, i) : key;
}

export function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
