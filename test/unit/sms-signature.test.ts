import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { signHmac, signTwilio, twilioSigningString, verifyHmacSignature, verifyTwilioSignature } from '../../src/sinks/sms/signature.js';

// Twilio's published example (security docs / api-snippets signature_validation): auth token 12345.
const VECTOR = {
  authToken: '12345',
  url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
  params: { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' },
  signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
};

describe('Twilio X-Twilio-Signature', () => {
  test('matches Twilio\'s published test vector', () => {
    assert.equal(signTwilio(VECTOR), VECTOR.signature);
    assert.equal(verifyTwilioSignature(VECTOR), true);
  });

  test('param order as sent does not matter; names are sorted', () => {
    const reversed = Object.fromEntries(Object.entries(VECTOR.params).reverse());
    assert.equal(verifyTwilioSignature({ ...VECTOR, params: reversed }), true);
    assert.equal(verifyTwilioSignature({ ...VECTOR, params: new URLSearchParams(reversed) }), true);
  });

  test('the signing string is url + name+value pairs in name order, repeated names with sorted values', () => {
    assert.equal(twilioSigningString('https://x/y', { b: '2', a: '1' }), 'https://x/ya1b2');
    assert.equal(twilioSigningString('u', { k: ['z', 'a'] }), 'uka' + 'kz');
    assert.equal(twilioSigningString('u', new URLSearchParams('k=z&k=a&A=1')), 'uA1kakz');
  });

  test('tampering with anything makes it fail', () => {
    assert.equal(verifyTwilioSignature({ ...VECTOR, authToken: '12346' }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, url: 'https://mycompany.com/myapp.php?foo=1&bar=3' }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, url: 'http://mycompany.com/myapp.php?foo=1&bar=2' }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, params: { ...VECTOR.params, Digits: '1235' } }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, params: { ...VECTOR.params, Extra: '' } }), false, 'an added empty param changes the string');
    assert.equal(verifyTwilioSignature({ ...VECTOR, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8' }), false, 'truncated');
    assert.equal(verifyTwilioSignature({ ...VECTOR, signature: 'rsoydt4t1cutdk1pdd93/vvr8b8=' }), false, 'base64 is case-sensitive');
    assert.equal(verifyTwilioSignature({ ...VECTOR, signature: '' }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, signature: undefined }), false);
    assert.equal(verifyTwilioSignature({ ...VECTOR, authToken: '' }), false, 'an unset token never verifies');
  });
});

describe('HMAC-SHA256 body signature (json/xml providers)', () => {
  const secret = 'shared-secret';
  const rawBody = '{"id":"msg_1","status":"delivered"}';

  test('known value: sha256=<hex of HMAC-SHA256(secret, body)>', () => {
    assert.match(signHmac({ secret, rawBody }), /^sha256=[0-9a-f]{64}$/);
    // The widely published HMAC-SHA256 example (RFC 2104 construction; key "key").
    assert.equal(signHmac({ secret: 'key', rawBody: 'The quick brown fox jumps over the lazy dog' }), 'sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8');
  });

  test('round-trips, from a string or a Buffer, hex in either case', () => {
    const sig = signHmac({ secret, rawBody });
    assert.equal(verifyHmacSignature({ secret, rawBody, signature: sig }), true);
    assert.equal(verifyHmacSignature({ secret, rawBody: Buffer.from(rawBody), signature: sig }), true);
    assert.equal(verifyHmacSignature({ secret, rawBody, signature: sig.toUpperCase().replace('SHA256=', 'sha256=') }), true);
  });

  test('tampering makes it fail', () => {
    const sig = signHmac({ secret, rawBody });
    assert.equal(verifyHmacSignature({ secret, rawBody: rawBody.replace('delivered', 'failed'), signature: sig }), false);
    assert.equal(verifyHmacSignature({ secret: 'other', rawBody, signature: sig }), false);
    assert.equal(verifyHmacSignature({ secret, rawBody, signature: sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0') }), false);
    assert.equal(verifyHmacSignature({ secret, rawBody, signature: sig.slice('sha256='.length) }), false, 'prefix required');
    assert.equal(verifyHmacSignature({ secret, rawBody, signature: null }), false);
    assert.equal(verifyHmacSignature({ secret: '', rawBody, signature: signHmac({ secret: '', rawBody }) }), false);
  });
});
