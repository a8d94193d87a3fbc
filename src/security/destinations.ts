/**
 * Where the router may send secrets. A destination that receives credentials (an API key, basic
 * auth, a signed webhook, a lead's personal data) must be https://: over plain http anyone on the
 * path reads them. Two exceptions: loopback addresses, because such traffic never leaves the
 * machine (the sandbox, the test harness and the benchmark kit use http://127.0.0.1), and an
 * explicit `allowInsecure: true` on the destination, for a private network the operator vouches for.
 */
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK.test(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** A problem to report at config validation, or null when the URL may carry secrets. */
export function insecureUrlProblem(url: unknown, allowInsecure: unknown): string | null {
  if (typeof url !== 'string') return null; // the URL's own schema reports it
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === 'https:' || allowInsecure === true || LOOPBACK.test(parsed.hostname)) return null;
  return `${parsed.protocol}// sends secrets and personal data in clear text: use https:// (or allowInsecure: true on a network you trust)`;
}
