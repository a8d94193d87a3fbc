import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { editDistance } from '../../src/sinks/sms/fuzzy.js';
import { runReplyIntentCli } from '../../src/sinks/sms/reply-intent-cli.js';
import { classifyReply, type ReplyIntent } from '../../src/sinks/sms/reply-intent.js';

// None of these rows are in the dev set (shared/data/sms-replies/dev.tsv): they test the rules.
const CASES: Record<ReplyIntent, string[]> = {
  STOP: [
    // keywords, case and punctuation
    'stop please', 'Stop it', 'STOP STOP STOP', 'Stoooop', 'sTop', 'stop.', 'S T O P', 'st0p',
    'unsubscribe me', 'UNSUBSCRIBE!!', 'Cancel please', 'end it', 'Quit.', 'revoke', 'OPTOUT', 'opt-out', 'stop all', 'ENDALL',
    // typos: swaps, doubles, drops, neighbouring keys
    'sotp', 'stoo', 'dtop', 'stopp pls', 'unsubcribe', 'unsuscribe please', 'unsusbcribe', 'cancell', 'canel', 'qiut', 'revoek',
    // phrases
    'Please remove my number', 'delete my number from your list', 'Take my number off your list', 'Remove me please',
    "Don't text me", 'Do not contact me again', 'never message me again', 'I do not want these messages',
    'no more texts', 'No more', 'Leave me alone', 'Wrong number', 'wrong #', 'Not interested', 'im not interested thx',
    'no thanks', 'No', 'nope', 'I never signed up for this', 'who gave you my number', 'This is spam', 'go to hell',
    'Quit texting me', 'stop sending me these', 'how do I unsubscribe?', 'Why do you keep texting me?? stop',
    "I don't want to subscribe", 'ALTO', '🛑', 'yes stop', 'help me stop these texts', 'no calls please',
  ],
  START: ['Start', 'start again', 'UNSTOP', 'Yes!', 'yess', 'Yes please', 'resubscribe', 'Subscribe', 'opt in', 'strat', 'Y', 'please start texting me again'],
  HELP: ['Help!!', 'help me', 'I need help', 'info', 'Information', 'hepl', 'HELP?'],
  MORE: ['More!', 'mroe', 'moree', 'more pls', 'More jobs please', 'show me more', 'Any other jobs?', 'MORE JOBS NEAR ME', 'more options', 'more info'],
  OTHER: [
    'ok', 'Ok thanks', 'thank you!', 'Sounds good', 'Cool', 'Got it', 'k', 'Hi', '😊', '👍👍', '',
    'What is the address?', 'How much does it pay', 'When can I start?', 'Is it full time?', 'I got the job!',
    'Where is it located', 'Can I stop by tomorrow?', 'Is this remote?', 'remote?', 'No problem', 'next step?',
    'I did not get the link', 'What time does the shift end?', 'Can you call me?', 'top pay?', 'what shop is this',
    'I quit my last job in May, is that ok', 'Do they drug test?', 'Is it walking distance', 'I start tomorrow',
    'No, call me', 'can I get some info on the pay', 'I have not received the message',
  ],
};

describe('classifyReply', () => {
  for (const [intent, texts] of Object.entries(CASES) as [ReplyIntent, string[]][]) {
    test(`${intent}: ${texts.length} replies`, () => {
      const wrong = texts.map((t) => ({ t, got: classifyReply(t) })).filter((r) => r.got !== intent);
      assert.deepEqual(wrong, [], `expected ${intent}`);
    });
  }

  test('opt-out wins over every other intent in the same reply', () => {
    for (const t of ['more jobs? no, stop', 'help, unsubscribe me', 'start? no, cancel', 'yes quit texting']) assert.equal(classifyReply(t), 'STOP', t);
  });
});

describe('editDistance', () => {
  test('adjacent swaps cost one (optimal string alignment)', () => {
    assert.equal(editDistance('stpo', 'stop'), 1);
    assert.equal(editDistance('cancle', 'cancel'), 1);
    assert.equal(editDistance('spot', 'stop'), 2);
  });
  test('keyboard mode: substitutions between neighbouring keys cost one, others two', () => {
    assert.equal(editDistance('stoo', 'stop', { keyboard: true }), 1);
    assert.equal(editDistance('shop', 'stop', { keyboard: true }), 2);
    assert.equal(editDistance('shop', 'stop'), 1);
  });
  test('max stops early with max+1', () => {
    assert.equal(editDistance('unsubscribe', 'ok', { max: 2 }), 3);
  });
});

describe('runReplyIntentCli', () => {
  test('one intent per input line, same order, blank and CRLF lines kept aligned', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const chunks: string[] = [];
    output.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const done = runReplyIntentCli(input, output);
    input.end('stpo\r\nmore please\n\nwhat is the pay?\nHELP\nyes'); // no trailing newline on the last line
    await done;
    assert.equal(chunks.join(''), 'STOP\nMORE\nOTHER\nOTHER\nHELP\nSTART\n');
  });
});
