// The metadata readers on hostile bytes: every outcome is the entries or a typed ModelFormatError, never a
// RangeError, a hang or a read outside the file. Files are built by helpers/build.js; with
// NEXTWORD_JS_FIXTURES set, the real exported files are cut and mutated too.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CorruptModelError, ModelFormatError, readOnnxMetadata, readTfliteMetadata, UnsafeModelError } from '../src/index.js';
import { buildOnnx, buildTflite, concat, pbBytes, pbVarint } from './helpers/build.js';

const LIMIT = { maxValueBytes: 1 << 20 };
const ENTRIES = [['nextword.format_version', '1'], ['nextword.tokenizer', '{"class_name": "Tokenizer"}'], ['nextword.config', '{}']];
const READERS = { onnx: readOnnxMetadata, tflite: readTfliteMetadata };

// Returns 'ok' or the error class name; fails on any error that is not a ModelFormatError.
function outcome(read, bytes) {
  try {
    read(bytes, LIMIT);
    return 'ok';
  } catch (error) {
    if (!(error instanceof ModelFormatError)) assert.fail(`untyped ${error?.name}: ${error?.message} ${error?.stack}`);
    return error.constructor.name;
  }
}

function* mutations(bytes, count, seed) {
  let s = seed;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  for (let n = 0; n < count; n++) {
    const copy = bytes.slice();
    for (let k = 1 + (next() % 4); k > 0; k--) {
      const at = next() % copy.length;
      copy[at] = next() % 3 === 0 ? [0, 0xff, 0x7f, 0x80][next() % 4] : next() & 0xff;
    }
    yield copy;
  }
}

const files = { onnx: buildOnnx(ENTRIES), tflite: buildTflite(ENTRIES) };

for (const [format, bytes] of Object.entries(files)) {
  const read = READERS[format];

  test(`${format}: reads the entries of a well-formed file`, () => {
    const entries = read(bytes, LIMIT);
    const text = (v) => (typeof v === 'string' ? v : new TextDecoder().decode(v));
    assert.deepEqual([...entries].map(([k, v]) => [k, text(v)]), ENTRIES);
  });

  test(`${format}: truncated at every offset -> entries or a typed error`, () => {
    for (let end = 0; end < bytes.length; end++) outcome(read, bytes.subarray(0, end));
    if (format === 'tflite') {
      for (let end = 0; end < bytes.length - 8; end++) assert.equal(outcome(read, bytes.subarray(0, end)), 'CorruptModelError', `cut at ${end}`);
    }
  });

  test(`${format}: 20,000 mutated files and random bytes -> entries or a typed error, quickly`, () => {
    const start = performance.now();
    for (const copy of mutations(bytes, 20000, 7)) outcome(read, copy);
    let s = 99;
    for (let n = 0; n < 2000; n++) {
      const random = Uint8Array.from({ length: 1 + (n % 300) }, () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
      if (format === 'tflite' && n % 2 && random.length >= 8) random.set([0x54, 0x46, 0x4c, 0x33], 4);
      outcome(read, random);
    }
    assert.ok(performance.now() - start < 20000, 'the readers must stay linear');
  });
}

test('onnx: duplicate keys, external data, oversize values, deep nesting, bad UTF-8 are refused by kind', () => {
  assert.throws(() => readOnnxMetadata(buildOnnx([...ENTRIES, ['nextword.config', '{}']]), LIMIT), CorruptModelError);
  assert.throws(() => readOnnxMetadata(buildOnnx(ENTRIES, { tensorExtra: pbBytes(13, pbBytes(1, new Uint8Array([0x61]))) }), LIMIT), UnsafeModelError);
  assert.throws(() => readOnnxMetadata(buildOnnx(ENTRIES, { tensorExtra: pbVarint(14, 1) }), LIMIT), UnsafeModelError);
  assert.throws(() => readOnnxMetadata(buildOnnx(ENTRIES), { maxValueBytes: 10 }), UnsafeModelError);
  assert.throws(() => readOnnxMetadata(buildOnnx([['k', new Uint8Array([0xff])]]), LIMIT), CorruptModelError);
  let graph = new Uint8Array(0); // graph -> node -> attribute -> graph -> ... 200 levels
  for (let i = 0; i < 70; i++) graph = pbBytes(1, pbBytes(5, pbBytes(6, graph)));
  assert.throws(() => readOnnxMetadata(concat([pbVarint(1, 8), pbBytes(7, graph)]), LIMIT), /deeper than 100/);
  assert.throws(() => readOnnxMetadata(Uint8Array.from([0x08, ...Array(11).fill(0xff)]), LIMIT), CorruptModelError);
  assert.throws(() => readOnnxMetadata(pbVarint(1, 8), LIMIT), /no graph/);
});

test('tflite: duplicate names, oversize values, buffers shared past the file size are refused by kind', () => {
  assert.throws(() => readTfliteMetadata(buildTflite([...ENTRIES, ['nextword.config', '{}']]), LIMIT), CorruptModelError);
  assert.throws(() => readTfliteMetadata(buildTflite(ENTRIES), { maxValueBytes: 5 }), UnsafeModelError);
  assert.throws(() => readTfliteMetadata(new Uint8Array(8), LIMIT), /TFL3/);
});

const fixtures = process.env.NEXTWORD_JS_FIXTURES;
for (const [format, name] of [['onnx', 'model.onnx'], ['tflite', 'model.tflite']]) {
  const path = fixtures && join(fixtures, 'export', name);
  const skip = path && existsSync(path) ? false : 'set NEXTWORD_JS_FIXTURES (test/make_fixtures.sh) to cut real exported files';
  test(`${format}: a real export cut at 3,000 offsets and mutated 2,000 times -> a typed error`, { skip }, () => {
    const bytes = new Uint8Array(readFileSync(path));
    const read = READERS[format];
    assert.equal(outcome(read, bytes), 'ok');
    const step = Math.max(1, Math.floor(bytes.length / 1000));
    const cuts = [];
    for (let end = 0; end < 1000; end++) cuts.push(end, bytes.length - 1 - end);
    for (let end = 0; end < bytes.length; end += step) cuts.push(end);
    for (const end of cuts) outcome(read, bytes.subarray(0, end));
    for (const copy of mutations(bytes, 2000, 3)) outcome(read, copy);
  });
}
