// The JS runtime's kinds are the contract's kinds (contract.js is generated from Python's runtime/contract.py;
// tests/runtime/test_contract.py checks the generated file against its source).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KINDS as CONTRACT_KINDS, KINDS_BY_VERSION, READABLE_FORMAT_VERSIONS, FORMAT_VERSION } from '../src/contract.js';
import { KINDS } from '../src/kinds/index.js';

test('every kind of the contract has a room in src/kinds, and no other', () => {
  assert.deepEqual(Object.keys(KINDS), [...CONTRACT_KINDS]);
  for (const [name, kind] of Object.entries(KINDS)) assert.equal(kind.name, name);
});

test('every readable format version says which kinds it holds', () => {
  assert.deepEqual(Object.keys(KINDS_BY_VERSION).map(Number), [...READABLE_FORMAT_VERSIONS]);
  assert.deepEqual([...KINDS_BY_VERSION[FORMAT_VERSION]], [...CONTRACT_KINDS]);
});
