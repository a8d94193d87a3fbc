/**
 * Email checks that need no network: normalization, syntax, reserved and disposable domains, and
 * typos of the big mailbox providers. They settle most bad addresses for free; only an address
 * that passes all of them is worth a paid verifier call (email-verifier.ts).
 *
 * Disposable domains come from `disposable-email-domains-js`, the npm build of the community
 * disposable-email-domains list (auto-published on every upstream change). It was preferred to
 * `mailchecker` (bigger list) because mailchecker also flags privacy relays real people use
 * (duck.com, SimpleLogin, addy.io), and a false "disposable" costs us a good lead.
 *
 * A suspected typo is reported with a suggestion ("jane@gmial.com" → "jane@gmail.com"), never
 * silently rewritten: the person may really use that domain, and the buyer decides.
 */
import { domainToASCII } from 'node:url';
import { disposableEmailBlocklistSet } from 'disposable-email-domains-js';
import type { EmailEnrichment } from '../../lead.js';
import { editDistance } from './edit-distance.js';

const DISPOSABLE: ReadonlySet<string> = disposableEmailBlocklistSet();

/** Big consumer providers in the US and UK: the domains people mistype. Never flagged themselves. */
const PROVIDERS = [
  'gmail.com', 'googlemail.com', 'yahoo.com', 'ymail.com', 'rocketmail.com', 'hotmail.com', 'outlook.com', 'live.com',
  'msn.com', 'aol.com', 'icloud.com', 'me.com', 'mac.com', 'comcast.net', 'att.net', 'sbcglobal.net', 'bellsouth.net',
  'verizon.net', 'cox.net', 'charter.net', 'earthlink.net', 'optonline.net', 'frontier.com', 'protonmail.com', 'proton.me',
  'gmx.com', 'mail.com', 'zoho.com', 'yahoo.co.uk', 'hotmail.co.uk', 'live.co.uk', 'outlook.co.uk', 'btinternet.com',
  'sky.com', 'virginmedia.com', 'talktalk.net', 'ntlworld.com', 'email.com', 'usa.com', 'inbox.com', 'fastmail.com',
  'hushmail.com', 'yandex.com', 'gmx.net', 'hey.com', 'duck.com',
] as const;
const PROVIDER_SET: ReadonlySet<string> = new Set(PROVIDERS);

/** Mistyped top-level domains that are not real TLDs ("gmail.con"), for any domain. */
const TLD_TYPOS: Readonly<Record<string, string>> = {
  con: 'com', cmo: 'com', ocm: 'com', vom: 'com', xom: 'com', comm: 'com', coom: 'com', c0m: 'com', cpm: 'com', clm: 'com', copm: 'com',
  nte: 'net', ent: 'net', ner: 'net', nett: 'net',
  ogr: 'org', orgg: 'org', prg: 'org',
};

/** RFC 2606 / 6761 names that can never receive mail. */
const RESERVED_DOMAINS = new Set(['example.com', 'example.net', 'example.org']);
const RESERVED_TLDS = new Set(['test', 'example', 'invalid', 'localhost', 'local']);

// dot-atom local part (RFC 5322 without quoted strings or comments, which leads never use)
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TLD = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

export interface LocalEmailCheck {
  /** The enrichment when local checks settle the address; `null` means "passes, ask the verifier". */
  settled: EmailEnrichment | null;
  /** Lower-cased, trimmed address. */
  address: string;
}

export function normalizeEmail(raw: string | null | undefined): string {
  return (raw ?? '').trim().toLowerCase();
}

export function checkEmailLocally(raw: string | null | undefined): LocalEmailCheck {
  const address = normalizeEmail(raw);
  const settle = (status: EmailEnrichment['status'], reason: string, suggestion: string | null = null): LocalEmailCheck => ({
    address,
    settled: { address, status, reason, source: 'local', suggestion },
  });

  if (address === '') return settle('invalid', 'empty');
  const at = address.lastIndexOf('@');
  if (at <= 0 || at !== address.indexOf('@') || address.length > 254) return settle('invalid', 'syntax');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return settle('invalid', 'syntax');
  const asciiDomain = domainToASCII(domain);
  if (!isValidDomain(asciiDomain)) return settle('invalid', 'syntax');

  const tld = asciiDomain.slice(asciiDomain.lastIndexOf('.') + 1);
  if (RESERVED_DOMAINS.has(asciiDomain) || RESERVED_TLDS.has(tld)) return settle('invalid', 'reserved_domain');

  const fixedDomain = suggestDomain(asciiDomain);
  if (fixedDomain) return settle('risky', 'typo_suspected', `${local}@${fixedDomain}`);
  if (isDisposable(asciiDomain)) return settle('risky', 'disposable_domain');
  return { address, settled: null };
}

function isValidDomain(domain: string): boolean {
  if (domain.length === 0 || domain.length > 253) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) if (!DOMAIN_LABEL.test(label)) return false;
  return TLD.test(labels[labels.length - 1]!);
}

/** The domain or any parent of it is on the disposable list ("x.mailinator.com"). */
function isDisposable(domain: string): boolean {
  for (let d = domain; d.includes('.'); d = d.slice(d.indexOf('.') + 1)) if (DISPOSABLE.has(d)) return true;
  return false;
}

/**
 * The provider domain this one is most likely a typo of, or null. Short provider names (aol,
 * att, msn, me) get no fuzzy matching: one letter off is another company's real domain
 * (aon.com, art.net), so only their TLD may be mistyped.
 */
export function suggestDomain(domain: string): string | null {
  if (PROVIDER_SET.has(domain)) return null;
  const dot = domain.lastIndexOf('.');
  const tld = domain.slice(dot + 1);
  const fixedTld = TLD_TYPOS[tld];
  const withFixedTld = fixedTld ? `${domain.slice(0, dot)}.${fixedTld}` : domain;
  if (fixedTld && PROVIDER_SET.has(withFixedTld)) return withFixedTld;

  let best: string | null = null;
  let bestDistance = Infinity;
  for (const provider of PROVIDERS) {
    const name = provider.slice(0, provider.indexOf('.'));
    if (name.length < 5) continue;
    const max = name.length >= 8 ? 2 : 1;
    const d = editDistance(withFixedTld, provider, max);
    if (d <= max && d < bestDistance) {
      best = provider;
      bestDistance = d;
    }
  }
  if (best) return best;
  // A non-provider domain with an impossible TLD ("acme.con"): suggest the TLD fix alone.
  return fixedTld ? withFixedTld : null;
}
