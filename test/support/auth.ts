/** Credentials for tests: the development keys, plus a second vendor minted for the run. */
import { DEV_PEPPER, hashCredential, mintCredential, OPERATOR_TOKEN_PREFIX, VENDOR_KEY_PREFIX } from '../../src/security/credentials.js';
import { DEV_OPERATOR_TOKEN, DEV_VENDOR_KEYS } from '../../src/security/dev-credentials.js';
import { openKeyring, type Keyring } from '../../src/security/keyring.js';
import { securitySchema } from '../../src/security/security-config.js';

export const ACME_KEY = DEV_VENDOR_KEYS.dev1;
export const ACME_KEY_2 = DEV_VENDOR_KEYS.dev2;
export const OPERATOR = DEV_OPERATOR_TOKEN;
export const OTHER_VENDOR = 'zenith-leads';
export const OTHER_KEY = mintCredential(VENDOR_KEY_PREFIX, 'zen1').value;
/** Well-formed, never issued. */
export const UNKNOWN_KEY = mintCredential(VENDOR_KEY_PREFIX, 'nope').value;
export const UNKNOWN_OPERATOR = mintCredential(OPERATOR_TOKEN_PREFIX, 'nope').value;

/** The security section tests run with: the dev credentials and zenith-leads (rate limit 3 per minute when `tightLimit`). */
export function testSecurity(opts: { tightLimit?: boolean } = {}) {
  return securitySchema.parse({
    operators: [{ id: 'dev-operator', hash: hashCredential(DEV_PEPPER, OPERATOR) }],
    vendors: {
      'acme-leads': { keys: [{ id: 'dev1', hash: hashCredential(DEV_PEPPER, ACME_KEY) }, { id: 'dev2', hash: hashCredential(DEV_PEPPER, ACME_KEY_2) }] },
      [OTHER_VENDOR]: { keys: [{ id: 'zen1', hash: hashCredential(DEV_PEPPER, OTHER_KEY) }], ...(opts.tightLimit ? { rateLimit: { max: 3, windowMs: 60_000 } } : {}) },
    },
  });
}

export function testKeyring(opts: { tightLimit?: boolean } = {}): Promise<Keyring> {
  return openKeyring({ security: testSecurity(opts), pepper: DEV_PEPPER, collection: null, log: { warn() {}, info() {} } });
}

export const vendorHeaders = (key: string = ACME_KEY) => ({ 'x-api-key': key });
export const operatorHeaders = (token: string = OPERATOR) => ({ authorization: `Bearer ${token}` });
