// suggest gives the Python runtime's suggestions: the same words, in the same casing and order, probabilities
// within 1e-5, on 1,000 texts per kind (mid-word, between words, after a sentence end, empty, capitalized,
// letters matching nothing) and on typing sessions, for the fixture models (with the casing table training
// bundles) and their copies without a table (bare/) and with one holding forms no counter writes (cased/).
// On onnxruntime-node, with NEXTWORD_JS_FIXTURES (test/make_fixtures.sh); skipped without it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeBundle, entriesToText, InputError, Predictor, readOnnxMetadata, readTfliteMetadata } from '../src/node.js';

const dir = process.env.NEXTWORD_JS_FIXTURES;
const skip = dir && existsSync(join(dir, 'expected.json')) && existsSync(join(dir, 'bare')) ? false
  : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';
const TOLERANCE = 1e-5;
const KINDS = { window: dir, sequence: dir && join(dir, 'sequence') };
const MODELS = { export: 'export', bare: 'bare', cased: 'cased', int8: 'int8' };
const expectations = (folder) => JSON.parse(readFileSync(join(folder, 'expected.json'), 'utf8')).suggest;

function same(got, want, label) {
  assert.deepEqual(got.map(({ word }) => word), want.words, label);
  got.forEach(({ probability }, i) => {
    assert.ok(Math.abs(probability - want.probs[i]) <= TOLERANCE, `${label}: probability ${i} ${probability} vs ${want.probs[i]}`);
  });
  assert.deepEqual(got.unknownWords, want.unknown, label);
  assert.ok(got.every(({ word }) => word && word.toLowerCase() !== '<unk>'), label);
}

for (const [kind, folder] of Object.entries(KINDS)) {
  for (const [name, sub] of Object.entries(MODELS)) {
    test(`${kind} (${name}): predictor.suggest equals Python on 1,000 texts`, { skip }, async () => {
      const expected = expectations(folder);
      assert.ok(expected.texts.length >= 1000 && expected[name].length === expected.texts.length);
      const predictor = await Predictor.load(join(folder, sub, 'model.onnx'));
      for (const [i, text] of expected.texts.entries()) {
        const want = expected[name][i];
        same(await predictor.suggest(text, want.k), want, `text #${i} ${JSON.stringify(text).slice(0, 60)} k=${want.k}`);
      }
      await predictor.release();
    });
  }
}

for (const name of Object.keys(MODELS)) {
  test(`sequence (${name}): session.suggest equals Python as a typist calls it`, { skip }, async () => {
    const runs = expectations(KINDS.sequence)[`${name}_sessions`];
    const predictor = await Predictor.load(join(KINDS.sequence, MODELS[name], 'model.onnx'));
    let calls = 0;
    for (const [i, ops] of runs.entries()) {
      const session = await predictor.session();
      for (const [j, op] of ops.entries()) {
        const label = `session #${i} op ${j} ${JSON.stringify(op.partial ?? op.text)}`;
        if (op.op === 'feed') await session.feed(op.text);
        else if (op.op === 'generate') assert.equal(await session.generate(op.n), op.text, label);
        else if (op.error) await assert.rejects(session.suggest(op.partial, op.k), (e) => e instanceof InputError && /letters of one word/.test(e.message), label);
        else same(await session.suggest(op.partial, op.k), op, label);
        calls += op.op === 'suggest';
      }
    }
    assert.ok(calls >= 1000, `${calls} session.suggest calls`);
    await predictor.release();
  });
}

test('each copy holds the same table in ONNX and TFLite; the bare ones none', { skip }, () => {
  for (const folder of Object.values(KINDS)) {
    const bundle = (path) => {
      const bytes = new Uint8Array(readFileSync(path));
      const entries = path.endsWith('.onnx') ? readOnnxMetadata(bytes, { maxValueBytes: 1 << 24 })
        : entriesToText(readTfliteMetadata(bytes, { maxValueBytes: 1 << 24 }));
      return decodeBundle(entries);
    };
    for (const sub of ['bare', 'cased']) {
      const table = bundle(join(folder, sub, 'model.onnx')).casing;
      assert.equal(table.size > 10, sub === 'cased');
      assert.deepEqual(bundle(join(folder, sub, 'model.tflite')).casing, table);
    }
  }
});

test('completing in a session costs one engine call per word, not per letter; a predictor one per call', { skip }, async () => {
  for (const folder of Object.values(KINDS)) {
    const predictor = await Predictor.load(join(folder, 'export', 'model.onnx'));
    let calls = 0;
    const run = predictor.engine.run.bind(predictor.engine);
    predictor.engine.run = (...args) => { calls++; return run(...args); };
    await predictor.suggest('', 3); // the sequence kind's start step is computed once, then kept
    for (const text of ['the value of t', 'the value of ', '']) {
      const before = calls;
      await predictor.suggest(text, 3);
      const expected = text === '' && predictor.metadata.kind === 'sequence' ? 0 : 1; // '': the start step's top-k
      assert.equal(calls, before + expected, JSON.stringify(text));
    }
    if (predictor.metadata.kind === 'sequence') {
      const session = await predictor.session();
      await session.feed('the value');
      const before = calls;
      for (const partial of ['o', 'of', 'of', '']) await session.suggest(partial);
      assert.equal(calls, before + 1); // the distribution of the first letter, kept for the rest of the word
      await assert.rejects(session.suggest('to b'), (e) => e instanceof InputError && /letters of one word/.test(e.message));
      await assert.rejects(session.suggest(3), TypeError);
      assert.equal((await session.suggest('qxqxq')).length, 0); // letters that start no word: nothing to show
    }
    await predictor.release();
  }
});

test('sentence starts follow what was fed, copied and generated', { skip }, async () => {
  const predictor = await Predictor.load(join(KINDS.sequence, 'export', 'model.onnx'));
  const session = await predictor.session();
  assert.equal(session.sentenceStart, true);
  await session.feed('the value.');
  assert.equal(session.sentenceStart, true);
  await session.feed('  ');
  assert.equal(session.sentenceStart, true); // whitespace changes nothing
  await session.feed('of');
  const branch = session.copy();
  assert.equal(branch.sentenceStart, false);
  await branch.feed('x. ');
  assert.equal(branch.sentenceStart, true);
  assert.equal(session.sentenceStart, false);
  await branch.generate(1);
  assert.equal(branch.sentenceStart, false);
  await session.reset();
  assert.equal(session.sentenceStart, true);
  await session.feedIds([2]);
  assert.equal(session.sentenceStart, false);
  assert.deepEqual(await session.suggest('', 5), await predictor.suggest(`${predictor.words[2]} `, 5));
  await predictor.release();
});
