/**
 * Every sandbox third party in one process, on the ports config/router.yaml points at:
 * the two lead buyers, the SMS providers (one per wire format) and the email verifier.
 * Switch any of them into a fault mode while the router runs, e.g.
 *   curl -X PUT localhost:4701/_sandbox/mode -d '{"mode":"error500"}'
 *   curl -X PUT localhost:4711/_sandbox/mode -d '{"mode":"refuse","refuseForMs":5000}'
 *   curl localhost:4701/_sandbox/received
 *   curl localhost:4711/_sandbox/stats      # SMS: { sent, uniquePhones, phonesTextedTwice }
 * SANDBOX_SMS_IDEMPOTENCY=1 makes the SMS providers de-duplicate on the idempotency key, which
 * real ones do not.
 */
import { fileURLToPath } from 'node:url';
import type { FaultServer } from './fault-server.js';
import { SANDBOX_BUYER_SECRETS, startBuyer } from './buyer.js';
import { startVerifier } from './verifier.js';
import { startJsonSmsSandbox, startTwilioSandbox, startXmlSmsSandbox, type SmsSandbox, type TwilioSandbox } from './sms-providers.js';

export const SANDBOX_PORTS = { buyerUs: 4701, buyerUk: 4702, twilio: 4711, jsonSms: 4712, xmlSms: 4713, verifier: 4721 } as const;

export interface Sandbox {
  buyerUs: FaultServer;
  buyerUk: FaultServer;
  twilio: TwilioSandbox;
  jsonSms: SmsSandbox;
  xmlSms: SmsSandbox;
  verifier: FaultServer;
  all: FaultServer[];
  sms: SmsSandbox[];
  /** Phones texted more than once by any SMS provider, counted across providers (a fallback can be the second text). */
  textedTwice(): string[];
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** SMS providers de-duplicate on the idempotency key (real ones do not). Default false. */
  smsIdempotency?: boolean;
}

/** Starts the sandbox; pass 0 for every port to get free ones (tests). */
export async function startSandbox(ports: Record<keyof typeof SANDBOX_PORTS, number> = SANDBOX_PORTS, opts: SandboxOptions = {}): Promise<Sandbox> {
  const idempotency = opts.smsIdempotency ?? false;
  const [buyerUs, buyerUk, twilio, jsonSms, xmlSms, verifier] = await Promise.all([
    startBuyer({ name: 'buyer-us', port: ports.buyerUs, secret: SANDBOX_BUYER_SECRETS['buyer-us'] }),
    startBuyer({ name: 'buyer-uk', port: ports.buyerUk, secret: SANDBOX_BUYER_SECRETS['buyer-uk'] }),
    startTwilioSandbox({ port: ports.twilio, accountSid: 'ACsandbox0000000000000000000000000', authToken: 'sandbox-token', idempotency }),
    startJsonSmsSandbox({ port: ports.jsonSms, apiKey: 'sandbox-key', idempotency }),
    startXmlSmsSandbox({ port: ports.xmlSms, apiKey: 'sandbox-key', idempotency }),
    startVerifier({ port: ports.verifier }),
  ]);
  const all = [buyerUs, buyerUk, twilio, jsonSms, xmlSms, verifier];
  const sms = [twilio, jsonSms, xmlSms];
  return {
    buyerUs,
    buyerUk,
    twilio,
    jsonSms,
    xmlSms,
    verifier,
    all,
    sms,
    textedTwice: () => phonesTextedTwice(sms),
    close: async () => void (await Promise.all(all.map((s) => s.close()))),
  };
}

export function phonesTextedTwice(providers: SmsSandbox[]): string[] {
  const count = new Map<string, number>();
  for (const p of providers) for (const t of p.sent) count.set(t.to, (count.get(t.to) ?? 0) + 1);
  return [...count].filter(([, n]) => n > 1).map(([phone]) => phone);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sandbox = await startSandbox(SANDBOX_PORTS, { smsIdempotency: process.env.SANDBOX_SMS_IDEMPOTENCY === '1' }).catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(`sandbox: ${err.code === 'EADDRINUSE' ? `port ${(err as { port?: number }).port} is taken (another sandbox still running?)` : err.message}\n`);
    process.exit(1);
  });
  for (const s of sandbox.all) process.stdout.write(`sandbox ${s.name.padEnd(10)} ${s.url}\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
