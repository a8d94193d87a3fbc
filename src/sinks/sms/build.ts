/** Builds one SMS sink per configured provider, each with its own adapter, pacing and circuit. */
import type { RouterFile, SmsProviderConfig } from '../../config.js';
import type { LeadEvent } from '../../lead.js';
import type { Sink } from '../sink.js';
import type { SmsAdapter } from './adapters/adapter.js';
import { createAdapter, type SmsAdapterConfigInput } from './adapters/index.js';
import { ProviderCircuit } from './breaker.js';
import type { OptOutList } from './optouts.js';
import type { SentStore } from './sent-store.js';
import { createSmsSink, type SlowSmsJob } from './sms-sink.js';
import { SentHere } from './sent-here.js';
import { compileTemplate } from './template.js';

export interface SmsSinkDeps {
  optOuts: OptOutList;
  sent: SentStore;
  policy: RouterFile['smsPolicy'];
  now: () => number;
  /** Public base URL of ingest, so providers can POST delivery receipts to it. */
  publicBaseUrl?: string | undefined;
  eligible?(lead: LeadEvent): { allowed: true } | { allowed: false; reason: string };
  onSlowJob?(report: SlowSmsJob): void;
}

export function buildSmsSinks(providers: Record<string, SmsProviderConfig>, deps: SmsSinkDeps): Map<string, Sink> {
  const sinks = new Map<string, Sink>();
  const compose = compileTemplate(deps.policy.template); // validated once, not per lead
  const adapters = new Map<string, SmsAdapter>();
  // One per process, across providers: a lead is texted by one provider at most.
  const sentHere = new SentHere();
  for (const [provider, cfg] of Object.entries(providers)) {
    // `markets` is the router's business; the adapter validates the rest.
    const { markets: _markets, ...adapterConfig } = cfg;
    adapters.set(provider, createAdapter(adapterConfig as SmsAdapterConfigInput));
  }
  for (const [provider, adapter] of adapters) {
    sinks.set(
      provider,
      createSmsSink({
        provider,
        adapter,
        adapterFor: (p) => adapters.get(p),
        compose: (lead: LeadEvent) => compose(lead).text,
        optOuts: deps.optOuts,
        ...(deps.eligible ? { eligible: deps.eligible } : {}),
        sent: deps.sent,
        sentHere,
        circuit: new ProviderCircuit(deps.policy.breakerFailures, deps.policy.breakerResetMs, deps.now),
        quietHours: deps.policy.quietHours,
        dedupWindowMs: deps.policy.dedupWindowMs,
        now: deps.now,
        ...(deps.onSlowJob ? { onSlowJob: deps.onSlowJob } : {}),
        ...(deps.publicBaseUrl ? { statusCallbackUrl: `${deps.publicBaseUrl}/v1/webhooks/sms/${provider}/status` } : {}),
      }),
    );
  }
  return sinks;
}
