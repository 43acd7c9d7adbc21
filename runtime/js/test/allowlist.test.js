// The loader's tables (src/allowlist.js) are generated from the Python loader (tests/runtime/test_js_allowlist.py
// fails when the committed file differs from scripts/make_allowlist.py's output); here: they cover every kind of
// the contract, and what they exist to keep out is out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_FIELD_TYPES, CONFIG_REQUIRED_FIELDS, ONNX_OPERATORS, TFLITE_OPERATORS, TFLITE_SUBGRAPHS } from '../src/allowlist.js';
import { KINDS, READABLE_FORMAT_VERSIONS } from '../src/contract.js';

test('every kind of the contract has its operator allowlists, and only one subgraph', () => {
  for (const kind of KINDS) {
    assert.ok(Object.keys(ONNX_OPERATORS[kind]['']).length > 10, kind);
    assert.ok(Object.keys(TFLITE_OPERATORS[kind]).length > 10, kind);
    assert.equal(TFLITE_SUBGRAPHS[kind], 1);
  }
  assert.deepEqual(Object.keys(ONNX_OPERATORS).sort(), [...KINDS].sort());
});

test('no operator that can loop or call a subgraph is allowed', () => {
  for (const kind of KINDS) {
    for (const op of ['Loop', 'If', 'Scan', 'SequenceMap', 'ConstantOfShape']) assert.ok(!Object.hasOwn(ONNX_OPERATORS[kind][''], op), op);
    for (const code of [118, 119, 129]) assert.ok(!Object.hasOwn(TFLITE_OPERATORS[kind], code), `builtin ${code}`); // IF, WHILE, CALL_ONCE
  }
});

test('every readable format version names its required config fields, all of them known fields', () => {
  assert.deepEqual(Object.keys(CONFIG_REQUIRED_FIELDS).map(Number), [...READABLE_FORMAT_VERSIONS]);
  for (const fields of Object.values(CONFIG_REQUIRED_FIELDS)) for (const name of fields) assert.ok(Object.hasOwn(CONFIG_FIELD_TYPES, name), name);
});
