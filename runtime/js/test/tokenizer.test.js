// The JS tokenizer must give Python's ids for every input. test/golden/tokenizer.json is written by
// make_golden.py (run it first: `.venv/bin/python runtime/js/test/make_golden.py`); CI does.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pyLower, tokenizerFromJson } from '../src/index.js';
import { UNICODE_VERSION } from '../src/tokenizer/unicode-tables.js';

const GOLDEN = new URL('./golden/tokenizer.json', import.meta.url);
const golden = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')) : null;
const skip = golden ? false : 'test/golden/tokenizer.json is missing: run make_golden.py with the project Python';

test('golden file and embedded tables come from the same Unicode version', { skip }, () => {
  assert.equal(golden.unicode, UNICODE_VERSION, 'rerun scripts/make_unicode_tables.py with this Python');
});

test('pyLower equals Python str.lower for every code point', { skip }, () => {
  for (let c = 0; c < 0x110000; c++) {
    const ch = String.fromCodePoint(c);
    const expected = golden.lower[c] ?? ch;
    if (pyLower(ch) !== expected) assert.fail(`U+${c.toString(16)}: ${JSON.stringify(pyLower(ch))} != ${JSON.stringify(expected)}`);
  }
});

test('final sigma follows Python around every code point', { skip }, () => {
  const inRanges = (ranges, c) => ranges.some(([lo, hi]) => lo <= c && c <= hi);
  const pairs = (flat) => flat.reduce((out, x, i) => (i % 2 ? out[out.length - 1].push(x) : out.push([x]), out), []);
  const ignorable = pairs(golden.case_ignorable);
  const cased = pairs(golden.cased);
  for (let c = 0; c < 0x110000; c++) {
    if (c === 0x3a3) continue;
    const ch = String.fromCodePoint(c);
    const isIgnorable = inRanges(ignorable, c);
    const isCased = !isIgnorable && inRanges(cased, c);
    // Python: 'A' + c + 'Σ' ends final iff c is ignorable or cased; 'AΣ' + c keeps it iff ignorable or uncased.
    const before = [...pyLower(`A${ch}Σ`)].at(-1) === 'ς';
    const after = [...pyLower(`AΣ${ch}`)][1] === 'ς';
    if (before !== (isIgnorable || isCased) || after !== (isIgnorable || !isCased)) assert.fail(`U+${c.toString(16)}`);
  }
});

test('ids and unknown words equal Python for every golden text', { skip }, () => {
  assert.ok(golden.texts.length >= 1000);
  for (const { options, tokenizer: json, expected } of golden.cases) {
    const tokenizer = tokenizerFromJson(json);
    golden.texts.forEach((text, i) => {
      const [ids, unknown] = tokenizer.encodeWords(text);
      assert.deepEqual([ids, unknown], expected[i], `options ${JSON.stringify(options)}, text #${i} ${JSON.stringify(text).slice(0, 80)}`);
    });
  }
});
