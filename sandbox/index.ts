/**
 * Every sandbox third party in one process, on the ports config/router.yaml points at:
 * the two lead buyers, the SMS providers (one per wire format) and the email verifier.
 * Switch any of them into a fault mode while the router runs, e.g.
 *   curl -X PUT localhost:4701/_sandbox/mode -d '{"mode":"error500"}'
 *   curl localhost:4701/_sandbox/received
 */
import { fileURLToPath } from 'node:url';
import type { FaultServer } from './fault-server.js';
import { startBuyer } from './buyer.js';
import { startVerifier } from './verifier.js';
import { startJsonSmsSandbox, startTwilioSandbox, startXmlSmsSandbox } from './sms-providers.js';

export const SANDBOX_PORTS = { buyerUs: 4701, buyerUk: 4702, twilio: 4711, jsonSms: 4712, xmlSms: 4713, verifier: 4721 } as const;

export interface Sandbox {
  buyerUs: FaultServer;
  buyerUk: FaultServer;
  twilio: FaultServer;
  jsonSms: FaultServer;
  xmlSms: FaultServer;
  verifier: FaultServer;
  all: FaultServer[];
  close(): Promise<void>;
}

/** Starts the sandbox; pass 0 for every port to get free ones (tests). */
export async function startSandbox(ports: Record<keyof typeof SANDBOX_PORTS, number> = SANDBOX_PORTS): Promise<Sandbox> {
  const [buyerUs, buyerUk, twilio, jsonSms, xmlSms, verifier] = await Promise.all([
    startBuyer({ name: 'buyer-us', port: ports.buyerUs }),
    startBuyer({ name: 'buyer-uk', port: ports.buyerUk }),
    startTwilioSandbox({ port: ports.twilio, accountSid: 'ACsandbox0000000000000000000000000', authToken: 'sandbox-token' }),
    startJsonSmsSandbox({ port: ports.jsonSms, apiKey: 'sandbox-key' }),
    startXmlSmsSandbox({ port: ports.xmlSms, apiKey: 'sandbox-key' }),
    startVerifier({ port: ports.verifier }),
  ]);
  const all = [buyerUs, buyerUk, twilio, jsonSms, xmlSms, verifier];
  return { buyerUs, buyerUk, twilio, jsonSms, xmlSms, verifier, all, close: async () => void (await Promise.all(all.map((s) => s.close()))) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sandbox = await startSandbox().catch((err: NodeJS.ErrnoException) => {
    process.stderr.write(`sandbox: ${err.code === 'EADDRINUSE' ? `port ${(err as { port?: number }).port} is taken (another sandbox still running?)` : err.message}\n`);
    process.exit(1);
  });
  for (const s of sandbox.all) process.stdout.write(`sandbox ${s.name.padEnd(10)} ${s.url}\n`);
  const stop = () => void sandbox.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
