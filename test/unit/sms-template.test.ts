import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Enrichment } from '../../src/lead.js';
import { countSegments } from '../../src/sinks/sms/segments.js';
import {
  cleanRawJobTitle,
  compileTemplate,
  composeFirstMessage,
  DEFAULT_FIRST_MESSAGE_TEMPLATE,
  type LeadForTemplate,
} from '../../src/sinks/sms/template.js';

interface Opts {
  first?: string;
  raw?: string;
  canonical?: string | null;
  city?: string | null;
  enriched?: boolean;
}

function lead(o: Opts = {}): LeadForTemplate {
  const first = o.first ?? 'Ana';
  const raw = o.raw ?? 'cashier - part time';
  if (o.enriched === false) return { firstName: first, jobTitle: raw, enrichment: null };
  const enrichment = {
    name: { first, last: 'Lopez' },
    jobTitle: { raw, canonical: o.canonical === undefined ? 'Cashier' : o.canonical, category: null, score: null },
    timezone: { zone: 'America/Chicago', utcOffsetMinutes: -300, dst: true, state: 'TX', city: o.city === undefined ? 'Austin' : o.city, reason: null },
  } as unknown as Enrichment;
  return { firstName: first, jobTitle: raw, enrichment };
}

const optOut = /\bSTOP\b/;

describe('first message template', () => {
  test('fills name, canonical job title and city', () => {
    const m = composeFirstMessage(lead());
    assert.equal(m.text, 'Hi Ana, Cashier jobs near Austin are hiring now. Reply MORE for more, STOP to opt out.');
    assert.deepEqual(m.segments, countSegments(m.text));
    assert.equal(m.segments.segments, 1);
    assert.equal(m.shortened, false);
  });

  test('missing values get fallbacks, never "Hi ," or "near null"', () => {
    const m = composeFirstMessage(lead({ first: '  ', canonical: null, raw: '', city: null }));
    assert.equal(m.text, 'Hi there, New jobs near you are hiring now. Reply MORE for more, STOP to opt out.');
    const junk = composeFirstMessage(lead({ first: 'null', canonical: null, raw: '$$$', city: 'undefined' }));
    assert.doesNotMatch(junk.text, /null|undefined|\$|Hi ,|near ,|near \./);
    assert.equal(junk.values.firstName, 'there');
  });

  test('unenriched lead: raw title cleaned, name from the lead', () => {
    const m = composeFirstMessage(lead({ enriched: false, first: 'MARIA', raw: 'Forklift Operator - Hiring Immediately! $19/hr' }));
    assert.equal(m.text, 'Hi Maria, Forklift Operator jobs near you are hiring now. Reply MORE for more, STOP to opt out.');
  });

  test('raw job titles lose ad noise: pay, shifts, brands after a separator, parentheses', () => {
    assert.equal(cleanRawJobTitle('Warehouse Associate - Full Time - $18/hr'), 'Warehouse Associate');
    assert.equal(cleanRawJobTitle('Order Picker 2nd Shift $17.50/hour'), 'Order Picker');
    assert.equal(cleanRawJobTitle('Dishwasher / Kitchen Porter'), 'Dishwasher');
    assert.equal(cleanRawJobTitle('Bartender (Part-Time, Evenings)'), 'Bartender');
    assert.equal(cleanRawJobTitle('registered nurse'), 'Registered Nurse');
    assert.equal(cleanRawJobTitle('CDL DRIVER'), 'CDL Driver');
    assert.equal(cleanRawJobTitle('delivery driver jobs'), 'Delivery Driver', 'no "Driver jobs jobs"');
    assert.equal(cleanRawJobTitle('!!!'), null);
  });

  test('a template without STOP gets the opt-out sentence appended', () => {
    const compose = compileTemplate('Hi {firstName}, new {jobTitle} roles in {city}.');
    const m = compose(lead());
    assert.equal(m.text, 'Hi Ana, new Cashier roles in Austin. Reply STOP to opt out.');
    assert.match(compose(lead({ first: '' })).text, optOut);
  });

  test('unknown placeholders fail when the template is compiled', () => {
    assert.throws(() => compileTemplate('Hi {fristName}, STOP to opt out'), /fristName/);
    assert.throws(() => compileTemplate('   '), /empty/);
  });

  test('long values are shortened to stay in one segment; the opt-out is never cut', () => {
    const m = composeFirstMessage(
      lead({
        first: 'Bartholomew',
        canonical: 'Senior Certified Commercial Refrigeration Maintenance Technician',
        city: 'Rancho Santa Margarita Heights Village North',
      }),
    );
    assert.equal(m.segments.segments, 1, m.text);
    assert.equal(m.segments.encoding, 'GSM-7');
    assert.equal(m.shortened, true);
    assert.ok(m.text.endsWith('Reply MORE for more, STOP to opt out.'), m.text);
    assert.ok(m.text.startsWith('Hi Bartholomew, '), 'the name is the last thing to go');
    assert.match(m.values.jobTitle, /Technician$/, 'the head noun of the title survives');
  });

  test('shortening drops leading title words before dropping the city', () => {
    const compose = compileTemplate(`Hi {firstName}, {jobTitle} jobs near {city} are hiring now! ${'x'.repeat(80)} STOP to opt out.`);
    const m = compose(lead({ canonical: 'Certified Nursing Assistant', city: 'Austin' }));
    assert.equal(m.segments.segments, 1, m.text);
    assert.equal(m.values.city, 'Austin');
    assert.notEqual(m.values.jobTitle, 'Certified Nursing Assistant');
  });

  test('a value outside GSM-7 is folded, not allowed to force UCS-2', () => {
    const m = composeFirstMessage(lead({ first: 'Françoise', city: 'Curaçao' }));
    assert.equal(m.segments.encoding, 'GSM-7');
    assert.match(m.text, /^Hi Francoise, Cashier jobs near Curacao/);
    assert.match(composeFirstMessage(lead({ first: 'José' })).text, /^Hi José,/, 'é is GSM-7 and kept');
  });

  test('a name with no GSM-7 spelling gives way to the fallback to keep one GSM-7 segment', () => {
    const m = composeFirstMessage(lead({ first: '李伟' }));
    assert.equal(m.segments.encoding, 'GSM-7');
    assert.match(m.text, /^Hi there, Cashier jobs near Austin/);
  });

  test('typographic lookalikes in a template are folded to GSM-7', () => {
    const m = compileTemplate('Hi {firstName} \u2014 it\u2019s {jobTitle} time in {city}\u2026 STOP to opt out')(lead());
    assert.equal(m.text, "Hi Ana - it's Cashier time in Austin... STOP to opt out");
    assert.equal(m.segments.encoding, 'GSM-7');
  });

  test('a template that needs UCS-2 (emoji) keeps its values whole', () => {
    const m = compileTemplate('🎉 Hi {firstName}, {jobTitle} jobs near {city} are hiring now. Reply STOP to opt out.')(
      lead({ canonical: 'Certified Nursing Assistant', city: 'San Francisco' }),
    );
    assert.equal(m.segments.encoding, 'UCS-2');
    assert.match(m.text, /Certified Nursing Assistant jobs near San Francisco/);
    assert.equal(m.shortened, false);
  });

  test('links, e-mail addresses and phone numbers in a value never reach the text', () => {
    const leaks: Array<[string, RegExp]> = [
      ['Win cash at evil.example', /evil|example/i],
      ['Driver - visit http://x.y/z today', /x\.y|http/i],
      ['Cashier www.x.com', /www|x\.com/i],
      ['Nurse (apply: jobs@evil.example)', /@|evil/i],
      ['Call 0800 999 1234', /0800|999|1234/],
      ['Driver +1 415 555 0132', /415|555|0132/],
      ['Picker (415) 555-0132', /415|555|0132/],
      ['Packer 4155550132', /4155550132/],
      ['Stocker ０８００ ９９９ １２３４', /[0-9０-９]{3}/],
      ['Guard evil．example', /evil|example/i],
      ['Cook bit.ly/abc', /bit\.ly|abc/i],
      ['Clerk EVIL.EXAMPLE.', /evil|example/i],
    ];
    for (const [raw, leak] of leaks) {
      for (const l of [lead({ enriched: false, raw }), lead({ canonical: null, raw }), lead({ canonical: raw })]) {
        const m = composeFirstMessage(l);
        assert.doesNotMatch(m.text, leak, `${raw} → ${m.text}`);
        assert.doesNotMatch(m.values.jobTitle, leak, raw);
      }
    }
    assert.equal(composeFirstMessage(lead({ enriched: false, raw: 'Win cash at evil.example' })).values.jobTitle, 'Win cash at');
    assert.equal(composeFirstMessage(lead({ enriched: false, raw: 'Call 0800 999 1234' })).values.jobTitle, 'Call');
  });

  test('names and cities are scrubbed the same way', () => {
    const m = composeFirstMessage(lead({ first: 'evil.example', city: 'Austin 0800 999 1234' }));
    assert.equal(m.values.firstName, 'there');
    assert.equal(m.values.city, 'Austin');
    assert.doesNotMatch(m.text, /evil|0800/);
    assert.equal(composeFirstMessage(lead({ first: 'jane@evil.example' })).values.firstName, 'there');
  });

  test('normal titles, numbers that are not phone numbers and dotted abbreviations stay', () => {
    assert.equal(cleanRawJobTitle('CNA - Nights'), 'CNA');
    assert.equal(cleanRawJobTitle('RN 3.5 yrs'), 'RN 3.5 yrs');
    assert.equal(cleanRawJobTitle('Level 2 Tech 2024'), 'Level 2 Tech 2024');
    assert.equal(cleanRawJobTitle('Route 66 Driver'), 'Route 66 Driver');
    assert.equal(cleanRawJobTitle('U.S. Army Recruiter'), 'U.S. Army Recruiter');
    assert.equal(cleanRawJobTitle('Sr. Accountant'), 'Sr. Accountant');
    assert.equal(cleanRawJobTitle('401k Plan Administrator'), '401k Plan Administrator');
    assert.equal(composeFirstMessage(lead({ canonical: 'Certified Nursing Assistant' })).values.jobTitle, 'Certified Nursing Assistant');
    assert.equal(composeFirstMessage(lead({ city: 'St. Louis' })).values.city, 'St. Louis');
  });

  test('contact scrubbing patterns are linear: 16 KB adversarial values are handled whole', () => {
    const adversarial = [
      '1 '.repeat(8_000),
      '1.'.repeat(8_000) + 'a',
      'a.'.repeat(8_000) + '!',
      '('.repeat(16_000),
      '1,'.repeat(8_000) + 'x',
      ' '.repeat(16_000) + 'x',
      '-'.repeat(16_000) + 'x',
      'a'.repeat(16_000) + '@',
    ];
    for (const raw of adversarial) {
      // The values go through every cleaner; a quadratic pattern here would take seconds, not ms.
      const m = composeFirstMessage(lead({ first: raw, raw, canonical: null, city: raw }));
      assert.match(m.text, optOut);
      assert.doesNotMatch(m.text, /\d{7}/);
    }
  });

  test('default template is the documented one', () => {
    assert.match(DEFAULT_FIRST_MESSAGE_TEMPLATE, /\{firstName\}.*\{jobTitle\}.*\{city\}.*STOP/);
  });
});
