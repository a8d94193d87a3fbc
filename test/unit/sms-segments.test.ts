import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countSegments, isGsm7 } from '../../src/sinks/sms/segments.js';

describe('countSegments', () => {
  test('GSM-7 basic text: 160 in one segment, 161 in two', () => {
    assert.deepEqual(countSegments('a'.repeat(160)), { encoding: 'GSM-7', segments: 1, units: 160 });
    assert.deepEqual(countSegments('a'.repeat(161)), { encoding: 'GSM-7', segments: 2, units: 161 });
    assert.deepEqual(countSegments('a'.repeat(306)), { encoding: 'GSM-7', segments: 2, units: 306 });
    assert.deepEqual(countSegments('a'.repeat(307)), { encoding: 'GSM-7', segments: 3, units: 307 });
  });

  test('empty text', () => {
    assert.deepEqual(countSegments(''), { encoding: 'GSM-7', segments: 0, units: 0 });
  });

  test('accented letters in the GSM table stay GSM-7 (é, ñ, ü, Ç, £, ¿, newline)', () => {
    assert.equal(countSegments('Café niño über Ç £5 ¿qué?\n').encoding, 'GSM-7');
    assert.equal(isGsm7('ΔΦΓΛΩΠΨΣΘΞ'), true);
  });

  test('extension characters cost two septets each', () => {
    assert.deepEqual(countSegments('€'), { encoding: 'GSM-7', segments: 1, units: 2 });
    assert.deepEqual(countSegments('[]{}|~^\\€'), { encoding: 'GSM-7', segments: 1, units: 18 });
    // 159 plain + one extension char = 161 septets: two segments even though it is 160 characters.
    assert.deepEqual(countSegments('a'.repeat(159) + '€'), { encoding: 'GSM-7', segments: 2, units: 161 });
    assert.deepEqual(countSegments('a'.repeat(158) + '€'), { encoding: 'GSM-7', segments: 1, units: 160 });
  });

  test('an escape pair is never split across parts', () => {
    // 152 plain then '{': the pair would straddle 153 → the '{' moves to part 2.
    const text = 'a'.repeat(152) + '{' + 'a'.repeat(152);
    assert.equal(countSegments(text).units, 306);
    assert.equal(countSegments(text).segments, 3, 'division alone (306/153) would say 2');
  });

  test('one non-GSM character switches the whole text to UCS-2 (70/67)', () => {
    assert.deepEqual(countSegments('It\u2019s here'), { encoding: 'UCS-2', segments: 1, units: 9 });
    assert.deepEqual(countSegments('ç'.repeat(70)), { encoding: 'UCS-2', segments: 1, units: 70 });
    assert.deepEqual(countSegments('ç'.repeat(71)), { encoding: 'UCS-2', segments: 2, units: 71 });
    assert.deepEqual(countSegments('ç'.repeat(134)), { encoding: 'UCS-2', segments: 2, units: 134 });
    assert.deepEqual(countSegments('ç'.repeat(135)), { encoding: 'UCS-2', segments: 3, units: 135 });
  });

  test('emoji count as two UTF-16 units and are not split', () => {
    assert.deepEqual(countSegments('👍'), { encoding: 'UCS-2', segments: 1, units: 2 });
    assert.deepEqual(countSegments('👍'.repeat(35)), { encoding: 'UCS-2', segments: 1, units: 70 });
    assert.deepEqual(countSegments('a' + '👍'.repeat(35)), { encoding: 'UCS-2', segments: 2, units: 71 });
    // 66 units then an emoji: it cannot straddle 67, so it opens part 2; 134 units need 3 parts, not 2.
    const text = 'ç'.repeat(66) + '👍' + 'ç'.repeat(66);
    assert.deepEqual(countSegments(text), { encoding: 'UCS-2', segments: 3, units: 134 });
  });
});
