/**
 * Every regular expression that reads request input runs in linear time.
 *
 * Proof by the recheck ReDoS checker, automaton checker only: a static analysis of the pattern's
 * automaton, not fuzzing, so the verdict is a proof and the same on every run. Its pure-JS build
 * runs in-process: no binary, JVM or network. Checked:
 *  - the `pattern`s of the lead JSON schema, with the `u` flag Ajv compiles them with;
 *  - every regex literal in the files that handle input: the ingest app, the email, phone and
 *    name enrichers, and the SMS template's cleaning. A `new RegExp(...)` there must be listed in
 *    BUILT_AT_RUNTIME, so no pattern escapes the check.
 * Then each schema pattern meets 16 KB adversarial inputs (the body limit): they must complete;
 * their timings are printed as diagnostics, never asserted.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkSync } from 'recheck';
import ts from 'typescript';
import { leadBodySchema } from '../../src/ingest/lead-schema.js';
import { AD_NOISE } from '../../src/sinks/sms/template.js';

// The pure-JS build (recheck would otherwise try a native binary or a worker).
process.env.RECHECK_SYNC_BACKEND = 'pure';
/** Static proof only; generous timeout, as a slow machine must not turn "safe" into "unknown". */
const PROOF = { checker: 'automaton', timeout: 60_000 } as const;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const INPUT_FILES = [
  ...readdirSync(path.join(ROOT, 'src/ingest')).filter((f) => f.endsWith('.ts')).map((f) => `src/ingest/${f}`),
  'src/processors/enrich/email.ts',
  'src/processors/enrich/phone.ts',
  'src/processors/enrich/names.ts',
  'src/sinks/sms/template.ts',
  'src/sinks/sms/contact-scrub.ts',
  'src/sinks/sms/abuse-guard.ts',
];
/** Patterns assembled in code, which the source scan cannot read; `file:line` of their `new RegExp`. */
const BUILT_AT_RUNTIME: Record<string, RegExp> = { 'src/sinks/sms/template.ts': AD_NOISE };

interface Found {
  where: string;
  source: string;
  flags: string;
}

function schemaPatterns(node: unknown, at: string, out: Found[] = []): Found[] {
  if (Array.isArray(node)) node.forEach((n, i) => schemaPatterns(n, `${at}[${i}]`, out));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'pattern' && typeof value === 'string') out.push({ where: `lead-schema ${at}`, source: value, flags: 'u' });
      else schemaPatterns(value, `${at}.${key}`, out);
    }
  }
  return out;
}

function sourcePatterns(file: string): { literals: Found[]; constructed: string[] } {
  const sf = ts.createSourceFile(file, readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const literals: Found[] = [];
  const constructed: string[] = [];
  const line = (n: ts.Node) => sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1;
  const visit = (n: ts.Node): void => {
    if (ts.isRegularExpressionLiteral(n)) {
      const text = n.text;
      const end = text.lastIndexOf('/');
      literals.push({ where: `${file}:${line(n)}`, source: text.slice(1, end), flags: text.slice(end + 1) });
    } else if ((ts.isNewExpression(n) || ts.isCallExpression(n)) && ts.isIdentifier(n.expression) && n.expression.text === 'RegExp') {
      constructed.push(`${file}:${line(n)}`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return { literals, constructed };
}

function assertSafe(p: Found): void {
  const result = checkSync(p.source, p.flags, PROOF);
  const detail = result.status === 'vulnerable' ? ` (${result.complexity.summary}, attack ${result.attack.pattern})` : result.status === 'unknown' ? ` (${result.error.kind})` : '';
  assert.equal(result.status, 'safe', `${p.where} /${p.source}/${p.flags} is ${result.status}${detail}`);
}

describe('regular expressions on request input', () => {
  it('recheck runs offline in pure JS and tells a quadratic pattern from a linear one', () => {
    // The old email pattern: its two runs both take dots, so "a@" + dots costs O(n²).
    const old = checkSync('^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', 'u', PROOF);
    assert.equal(old.status, 'vulnerable');
    assert.equal(old.status === 'vulnerable' && old.complexity.type, 'polynomial');
    assert.equal(checkSync('^[^\\s@]+@[^\\s@.]+$', 'u', PROOF).status, 'safe');
  });

  it('every pattern of the lead schema is linear-time', () => {
    const found = schemaPatterns(leadBodySchema, 'body');
    assert.ok(found.length >= 9, `found ${found.length} schema patterns`);
    for (const p of found) assertSafe(p);
  });

  it('every regex literal in the input-handling files is linear-time', () => {
    let count = 0;
    for (const file of INPUT_FILES) {
      const { literals, constructed } = sourcePatterns(file);
      for (const p of literals) assertSafe(p);
      count += literals.length;
      for (const where of constructed) {
        assert.ok(BUILT_AT_RUNTIME[file], `${where} builds a RegExp at runtime: add it to BUILT_AT_RUNTIME so it is checked`);
      }
    }
    assert.ok(count > 40, `scanned ${count} literals`);
    for (const [file, re] of Object.entries(BUILT_AT_RUNTIME)) assertSafe({ where: file, source: re.source, flags: re.flags });
  });

  it('schema patterns finish on 16 KB adversarial inputs (timings reported, not asserted)', (t) => {
    const n = 16_000;
    const inputs: Record<string, string> = {
      'a@ + dots + @': 'a@' + '.'.repeat(n) + '@',
      'a@ + dots + space': 'a@' + '.'.repeat(n) + ' ',
      'a@a + .a… + @': 'a@a' + '.a'.repeat(n / 2) + '@',
      'letters + NUL': 'a'.repeat(n) + '\u0000',
      'spaces + RLO': ' '.repeat(n) + '\u202e',
      'digits + x': '1'.repeat(n) + 'x',
      'digit-space + x': '1 '.repeat(n / 2) + 'x',
      'pluses': '+'.repeat(n),
      'letters-digits + !': 'A1'.repeat(n / 2) + '!',
    };
    for (const p of schemaPatterns(leadBodySchema, 'body')) {
      const re = new RegExp(p.source, p.flags);
      let worst = 0;
      let worstName = '';
      for (const [name, input] of Object.entries(inputs)) {
        const started = performance.now();
        re.test(input);
        const ms = performance.now() - started;
        if (ms > worst) [worst, worstName] = [ms, name];
      }
      t.diagnostic(`${p.where}: worst ${worst.toFixed(3)} ms (${worstName})`);
    }
  });
});
