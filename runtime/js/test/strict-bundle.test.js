// The bundle is decoded as strictly as Python's (runtime/bundle.py; tests/runtime/test_strict_bundle.py): a
// number written as a float where Python reads an int, an id key Python's int() alone would take, a missing
// required field, a contradictory config; each refused with the class Python raises. The same cases, as model
// files, are in the shared hostile set (make_hostile.py, hostile.test.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorruptModelError, decodeBundle, Predictor, UnsafeModelError } from '../src/index.js';
import { buildOnnx } from './helpers/build.js';

const WORDS = ['<unk>', 'the', 'value', 'of', 'a'];
const BASE = { kind: 'window', seq_len: 3, embedding_dim: 8, units: 8, hidden: 8, layers: 1, validation_split: 0.1, vocab_size: WORDS.length + 1,
  num_words: null, oov_token: '<unk>', version: 1 };
const config = (extra = {}) => JSON.stringify({ ...BASE, ...extra });
function tokenizer({ indexWord = JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [i + 1, w]))),
  wordIndex = JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [w, i + 1]))), ...options } = {}) {
  const table = (f) => JSON.stringify(Object.fromEntries(WORDS.map(f)));
  return JSON.stringify({ class_name: 'Tokenizer', config: { num_words: null, filters: '', lower: true, split: ' ', char_level: false,
    oov_token: '<unk>', document_count: 1, word_counts: table((w) => [w, 1]), word_docs: table((w) => [w, 1]),
    index_docs: table((w, i) => [i + 1, 1]), index_word: indexWord, word_index: wordIndex, ...options } });
}
const entries = (tokenizerText = tokenizer(), configText = config()) => new Map([['nextword.format_version', '2'],
  ['nextword.tokenizer', tokenizerText], ['nextword.config', configText]]);

test('the plain bundle decodes', () => {
  assert.equal(decodeBundle(entries()).config.units, 8);
});

const CORRUPT = {
  'an int field written 8.0': entries(undefined, config().replace('"units":8', '"units":8.0')),
  'an int field written 0.8e1': entries(undefined, config().replace('"units":8', '"units":0.8e1')),
  'an int field written 5e2': entries(undefined, config().replace('"seq_len":3', '"seq_len":5e2')),
  'an int field written 16.0 in the tokenizer options': entries(tokenizer().replace('"document_count":1', '"document_count":16.0')),
  'index_word key "01"': entries(tokenizer({ indexWord: JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [i + 1, w]))).replace('"1"', '"01"') })),
  'index_word key "+1"': entries(tokenizer({ indexWord: JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [i + 1, w]))).replace('"1"', '"+1"') })),
  'index_word key " 1"': entries(tokenizer({ indexWord: JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [i + 1, w]))).replace('"1"', '" 1"') })),
  'a float in word_index': entries(tokenizer({ wordIndex: JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [w, i + 1]))).replace(':2', ':2.0') })),
  'word_index and index_word disagreeing': entries(tokenizer({ wordIndex: JSON.stringify(Object.fromEntries(WORDS.map((w, i) => [w, ((i + 1) % 5) + 1]))) })),
  'a config without layers': entries(undefined, JSON.stringify({ ...BASE, layers: undefined })),
  'tie_embeddings not a boolean': entries(undefined, config({ tie_embeddings: 1 })),
  'a negative activation_reg': entries(undefined, config({ activation_reg: -1 })),
  'a negative temporal_reg': entries(undefined, config({ temporal_reg: -0.5 })),
  'a boolean where an int goes': entries(undefined, config({ hidden: true })),
};

for (const [name, bundle] of Object.entries(CORRUPT)) {
  test(`refused as Python refuses it: ${name}`, () => {
    assert.throws(() => decodeBundle(bundle), (error) => error instanceof CorruptModelError && !error.message.includes('\n'));
  });
}

test('a float field may hold an integer, as in Python', () => {
  assert.equal(decodeBundle(entries(undefined, config({ validation_split: 0, dropout: 0 }))).config.dropout, 0);
});

test('a sequence seq_len over max_seq_len is refused before any engine (UnsafeModelError, as Python)', async () => {
  const file = buildOnnx([...entries(undefined, config({ kind: 'sequence', seq_len: 1_000_000 }))]);
  let started = false;
  const engines = { onnx: async () => { started = true; throw new Error('the engine was reached'); } };
  await assert.rejects(Predictor.load(file, { engines }), UnsafeModelError);
  assert.equal(started, false);
});
