// What suggestions are made of, against Python's answers in test/golden/tokenizer.json (its "suggest" section,
// written by make_golden.py): where the word being typed starts, sentence starts, Python's upper/isupper/
// isspace for every code point, display casing over tricky words, the prefix index's code point order and
// ranges, and hostile casing tables; then the bundle's refusals of such tables, which need no golden file.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  caseTableFromJson, capitalizeFirst, CorruptModelError, decodeBundle, display, PrefixIndex, pyLower, pyRstrip, pyUpper,
  splitPartial, startsSentence, startsUpper, Tokenizer, topIds,
} from '../src/index.js';
import { isBlank } from '../src/tokenizer/pystring.js';

const GOLDEN = new URL('./golden/tokenizer.json', import.meta.url);
const golden = existsSync(GOLDEN) ? JSON.parse(readFileSync(GOLDEN, 'utf8')).suggest : null;
const skip = golden ? false : 'test/golden/tokenizer.json (with its suggest section) is missing: run make_golden.py with the project Python';
const inRanges = (flat, c) => {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] <= c && c <= flat[i + 1]) return true;
  return false;
};
const length = (text) => [...text].length; // code points, as Python's len

test('str.upper, one-letter isupper and isspace equal Python for every code point', { skip }, () => {
  for (let c = 0; c < 0x110000; c++) {
    const ch = String.fromCodePoint(c);
    const upper = golden.upper[c] ?? ch;
    if (pyUpper(ch) !== upper || capitalizeFirst(`${ch}x`) !== `${upper}x`) assert.fail(`upper U+${c.toString(16)}: ${JSON.stringify(pyUpper(ch))} != ${JSON.stringify(upper)}`);
    if (startsUpper(`${ch}a`) !== inRanges(golden.isupper, c)) assert.fail(`isupper U+${c.toString(16)}`);
    const space = inRanges(golden.isspace, c);
    if (pyRstrip(`x${ch}${ch}`) !== (space ? 'x' : `x${ch}${ch}`) || isBlank(ch) !== space) assert.fail(`isspace U+${c.toString(16)}`);
  }
});

test('split_partial ends the finished text where Python does, for every tokenizer and text', { skip }, () => {
  assert.ok(golden.texts.length >= 1000);
  for (const { options, finished } of golden.split) {
    const tokenizer = new Tokenizer(options);
    golden.texts.forEach((text, i) => {
      const [done, partial] = splitPartial(text, tokenizer);
      const label = `options ${JSON.stringify(options)}, text #${i} ${JSON.stringify(text).slice(0, 60)}`;
      assert.equal(done + partial, text, label);
      assert.equal(length(done), finished[i], label);
    });
  }
});

test('sentence starts and display casing equal Python', { skip }, () => {
  golden.texts.forEach((text, i) => assert.equal(startsSentence(text), golden.starts_sentence[i], `text #${i} ${JSON.stringify(text)}`));
  const table = new Map(Object.entries(golden.display_table));
  for (const [word, shown, capitalized, upperFirst] of golden.display) {
    assert.equal(display(word, table, { capitalize: false }), shown, JSON.stringify(word));
    assert.equal(display(word, table, { capitalize: true }), capitalized, JSON.stringify(word));
    assert.equal(startsUpper(word), upperFirst, JSON.stringify(word));
  }
});

test('the prefix index sorts by code point and finds the ranges Python finds', { skip }, () => {
  const { words, skip: skipped, order, ranges } = golden.prefix;
  const index = new PrefixIndex(words, new Set(skipped));
  assert.deepEqual(Array.from(index.ids), order);
  for (const [prefix, lo, hi] of ranges) {
    assert.deepEqual(index.range(prefix), [lo, hi], JSON.stringify(prefix));
    for (const id of index.ids.subarray(lo, hi)) assert.ok(words[id].startsWith(prefix));
  }
});

test('casing tables are read, or refused, as Python reads them', { skip }, () => {
  const words = new Set(golden.case_words);
  // Python names a word with repr ('the'), this runtime with JSON ("the"), as in every other message.
  const asJs = (message) => message.replace(/'([^']*)'(?=,| is| appears)/, (_, word) => JSON.stringify(word));
  for (const [text, outcome] of golden.case_tables) {
    const label = JSON.stringify(text).slice(0, 60);
    if (outcome.table) {
      const table = caseTableFromJson(text, words, pyLower);
      assert.deepEqual(Object.fromEntries([...table].sort()), Object.fromEntries(Object.entries(outcome.table).sort()), label);
      continue;
    }
    assert.throws(() => caseTableFromJson(text, words, pyLower), (error) => {
      const want = asJs(outcome.error);
      return want.includes('is malformed') ? error.message.startsWith(want.split(': ')[0]) : error.message === want;
    }, `${label}: ${outcome.error}`);
  }
});

test('top ids: highest first, ties to the lower id, whatever the order of the candidates', () => {
  const probs = Float32Array.from([0, 0, 0.2, 0.1, 0.2, 0.3, 0.05, 0.1, 0.05, 0]);
  assert.deepEqual(topIds(probs, Int32Array.from([7, 4, 3, 2, 8]), 3), [2, 4, 3]);
  const many = Int32Array.from({ length: 1000 }, (_, i) => 999 - i);
  const flat = new Float32Array(1000).fill(0.001);
  flat[500] = 0.5;
  assert.deepEqual(topIds(flat, many, 3), [500, 0, 1]); // the one-pass path
});

// --- the bundle's casing table -------------------------------------------------------------------------

const WORDS = ['<unk>', 'the', 'london', 'i'];
function entries(casing) {
  const table = (f) => JSON.stringify(Object.fromEntries(WORDS.map(f)));
  const tokenizer = JSON.stringify({ class_name: 'Tokenizer', config: { num_words: null, filters: '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower: true,
    split: ' ', char_level: false, oov_token: '<unk>', document_count: 1, word_counts: table((w) => [w, 1]), word_docs: table((w) => [w, 1]),
    index_docs: table((w, i) => [i + 1, 1]), index_word: table((w, i) => [i + 1, w]), word_index: table((w, i) => [w, i + 1]) } });
  const config = JSON.stringify({ seq_len: 3, embedding_dim: 8, units: 8, hidden: 8, validation_split: 0.1, vocab_size: WORDS.length + 1, num_words: null, oov_token: '<unk>', version: 1 });
  const out = { 'nextword.format_version': '1', 'nextword.tokenizer': tokenizer, 'nextword.config': config };
  if (casing !== undefined) out['nextword.casing'] = casing;
  return out;
}

test('a bundled casing table is read; a file without one shows words as learned', () => {
  assert.deepEqual(decodeBundle(entries()).casing, new Map());
  assert.deepEqual(decodeBundle(entries('{"i": "I", "london": "London"}')).casing, new Map([['i', 'I'], ['london', 'London']]));
});

test('a hostile casing table refuses the file with a CorruptModelError, as Python does', () => {
  const refusals = [
    ['["i"]', 'not a JSON object'],
    ['{"zzzz-not-a-word": "Z"}', 'not in the vocabulary'],
    ['{"the": "Other"}', 'is not that word'],
    ['{"the": 5}', 'is not that word'],
    [`{"the": "${'T'.repeat(65)}"}`, 'is not that word'],
    ['{"the": "The", "the": "THE"}', 'appears twice'],
    ['{"<unk>": "<UNK>", "": ""}', 'not in the vocabulary'], // '' is no word (id 0 is padding)
    ['{', 'malformed'],
  ];
  for (const [table, said] of refusals) {
    assert.throws(() => decodeBundle(entries(table), { source: 'm' }), (error) => error instanceof CorruptModelError
      && error.message.startsWith('m has an unreadable casing table: ') && error.message.includes(said) && !error.message.includes('\n'), table);
  }
});
