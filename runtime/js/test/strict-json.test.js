// Bundle JSON is read strictly in both runtimes (Python: runtime/strict_json.py): a key twice is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError, tokenizerFromJson } from '../src/index.js';
import { configFromJson } from '../src/config.js';
import { parseStrictJson } from '../src/strict-json.js';

test('a key given twice in any object is refused, compared as decoded text', () => {
  for (const text of ['{"a": 1, "a": 2}', '{"x": {"b": 1, "c": [1, {"d": 0, "d": 0}]}}', '{"a": 1, "\\u0061": 2}',
    '[{"k": "v"}, {"k": "v", "k": "w"}]']) {
    assert.throws(() => parseStrictJson(text, 'test JSON'), (e) => e instanceof InputError && /appears twice/.test(e.message), text);
  }
});

test('valid JSON reads as JSON.parse reads it, whatever its strings hold', () => {
  for (const text of ['{"a": 1, "b": {"a": 2}}', '[{"k": 1}, {"k": 2}]', '{"s": "{\\"a\\": 1, \\"a\\": 2}", "t": "\\\\"}',
    '{"a": "x,\\"a\\":"}', '{"":0,"\\"":1,"\\\\":2}', '[]', '"{}"', '{"a": [1, 2, {"a": 3}], "b": null}']) {
    assert.deepEqual(parseStrictJson(text, 'test JSON'), JSON.parse(text), text);
  }
  assert.throws(() => parseStrictJson('{"a": NaN}', 'test JSON'), InputError);
  assert.throws(() => parseStrictJson('{"a": 1', 'test JSON'), /test JSON is malformed/);
});

test('config and tokenizer JSON refuse duplicate keys, the tokenizer tables inside their strings too', () => {
  assert.throws(() => configFromJson('{"version": 1, "seq_len": 3, "seq_len": 4, "vocab_size": 10}'), /config JSON: the key "seq_len" appears twice/);
  const tokenizer = (wordIndex) => JSON.stringify({ class_name: 'Tokenizer', config: {
    word_index: wordIndex, index_word: '{"1": "a", "2": "b"}', word_counts: '{"a": 1, "b": 1}', word_docs: '{"a": 1, "b": 1}',
    index_docs: '{"1": 1, "2": 1}' } });
  assert.ok(tokenizerFromJson(tokenizer('{"a": 1, "b": 2}')));
  assert.throws(() => tokenizerFromJson(tokenizer('{"a": 1, "a": 2}')), /tokenizer JSON table 'word_index': the key "a" appears twice/);
  assert.throws(() => tokenizerFromJson('{"class_name": "Tokenizer", "class_name": "Tokenizer", "config": {}}'), /appears twice/);
});
