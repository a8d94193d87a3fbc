/** Builds one SMS sink per configured provider, each with its own adapter and pacing. */
import type { SmsProviderConfig } from '../../config.js';
import type { LeadEvent } from '../../lead.js';
import type { Sink } from '../sink.js';
import { createAdapter, type SmsAdapterConfigInput } from './adapters/index.js';
import { createSmsSink } from './sms-sink.js';
import { compileTemplate } from './template.js';

export function buildSmsSinks(providers: Record<string, SmsProviderConfig>): Map<string, Sink> {
  const sinks = new Map<string, Sink>();
  const compose = compileTemplate(); // validated once, not per lead
  for (const [provider, cfg] of Object.entries(providers)) {
    // `markets` is the router's business; the adapter validates the rest.
    const { markets: _markets, ...adapterConfig } = cfg;
    const adapter = createAdapter(adapterConfig as SmsAdapterConfigInput);
    sinks.set(provider, createSmsSink({ provider, adapter, compose: (lead: LeadEvent) => compose(lead).text }));
  }
  return sinks;
}
