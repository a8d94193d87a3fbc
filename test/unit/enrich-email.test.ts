/** Local email checks: no network, each bad-address class with its status and reason. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkEmailLocally, suggestDomain } from '../../src/processors/enrich/email.js';

function settled(raw: string): { status: string; reason: string; suggestion: string | null } | null {
  const s = checkEmailLocally(raw).settled;
  return s ? { status: s.status, reason: s.reason, suggestion: s.suggestion } : null;
}

describe('local email checks', () => {
  it('lower-cases and trims, and lets a plausible address through to the verifier', () => {
    const r = checkEmailLocally('  Jane.Doe+leads@Example-Mail.COM ');
    assert.equal(r.address, 'jane.doe+leads@example-mail.com');
    assert.equal(r.settled, null);
  });

  for (const raw of ['', '   ', 'jane', 'jane@', '@gmail.com', 'jane@@gmail.com', 'ja ne@gmail.com', 'jane@gmail', 'jane.@gmail.com', '.jane@gmail.com', 'jane..doe@gmail.com', 'jane@-gmail.com', 'jane@gmail..com', 'jane@gmail.c0m1']) {
    it(`rejects ${JSON.stringify(raw)} as invalid`, () => {
      const r = settled(raw);
      assert.equal(r?.status, 'invalid');
      assert.ok(r.reason === 'syntax' || r.reason === 'empty', r.reason);
    });
  }

  it('rejects reserved domains that can never receive mail', () => {
    assert.deepEqual(settled('a@example.com'), { status: 'invalid', reason: 'reserved_domain', suggestion: null });
    assert.equal(settled('a@shop.test')?.reason, 'reserved_domain');
  });

  it('flags disposable domains and their subdomains as risky', () => {
    assert.deepEqual(settled('x@mailinator.com'), { status: 'risky', reason: 'disposable_domain', suggestion: null });
    assert.equal(settled('x@inbox.mailinator.com')?.reason, 'disposable_domain');
    assert.equal(settled('x@guerrillamail.com')?.reason, 'disposable_domain');
  });

  it('does not flag big providers or privacy relays as disposable', () => {
    for (const d of ['gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com', 'duck.com', 'protonmail.com', 'btinternet.com']) {
      assert.equal(settled(`jane@${d}`), null, d);
    }
  });

  const typos: Array<[string, string]> = [
    ['jane@gmial.com', 'jane@gmail.com'],
    ['jane@gmal.com', 'jane@gmail.com'],
    ['jane@gnail.com', 'jane@gmail.com'],
    ['jane@gmail.con', 'jane@gmail.com'],
    ['jane@yaho.com', 'jane@yahoo.com'],
    ['jane@hotmial.com', 'jane@hotmail.com'],
    ['jane@outlok.com', 'jane@outlook.com'],
    ['jane@iclod.com', 'jane@icloud.com'],
    ['jane@sbcglobl.net', 'jane@sbcglobal.net'],
    ['jane@aol.con', 'jane@aol.com'],
    ['jane@acme-corp.con', 'jane@acme-corp.com'],
  ];
  for (const [raw, suggestion] of typos) {
    it(`suggests ${suggestion} for ${raw} without rewriting the address`, () => {
      const r = checkEmailLocally(raw);
      assert.equal(r.address, raw);
      assert.deepEqual(r.settled && { status: r.settled.status, reason: r.settled.reason, suggestion: r.settled.suggestion }, { status: 'risky', reason: 'typo_suspected', suggestion });
    });
  }

  it('does not "correct" real domains near short provider names', () => {
    assert.equal(suggestDomain('aon.com'), null);
    assert.equal(suggestDomain('art.net'), null);
    assert.equal(suggestDomain('email.com'), null);
    assert.equal(suggestDomain('ymail.com'), null);
    assert.equal(suggestDomain('acme.com'), null);
  });
});
