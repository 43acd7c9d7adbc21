// The same words as Python: top-5 ids identical and probabilities within 1e-5 on >= 1,000 texts, on
// onnxruntime-node. Needs NEXTWORD_JS_FIXTURES (written by test/make_fixtures.sh); skipped without it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Predictor } from '../src/node.js';

const dir = process.env.NEXTWORD_JS_FIXTURES;
const skip = dir && existsSync(join(dir, 'expected.json')) ? false
  : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';
const TOLERANCE = 1e-5;

function compare(actual, expected, label) {
  const ids = actual.map(({ word }) => word);
  assert.equal(actual.length, expected.ids.length, label);
  actual.forEach(({ probability }, i) => {
    assert.ok(Math.abs(probability - expected.probs[i]) <= TOLERANCE, `${label}: probability ${i} ${probability} vs ${expected.probs[i]}`);
  });
  return ids;
}

test('top-5 and top-20 ids and probabilities equal the Python runtime', { skip }, async () => {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const predictor = await Predictor.load(join(dir, 'export', 'model.onnx'));
  assert.equal(predictor.vocabSize, expected.vocab_size);
  assert.ok(expected.texts.length >= 1000);
  const wordId = new Map([...predictor.vocabulary].map(([id, word]) => [word, id]));
  const batch = await predictor.predictNextBatch(expected.texts, 5);
  for (const [i, text] of expected.texts.entries()) {
    const single = await predictor.predictNext(text, 5);
    const label = `text #${i} ${JSON.stringify(text).slice(0, 60)}`;
    for (const prediction of [single, batch[i]]) {
      compare(prediction, expected.top5[i], label);
      assert.deepEqual(prediction.map(({ word }) => wordId.get(word)), expected.top5[i].ids, label);
      assert.deepEqual(prediction.unknownWords, expected.top5[i].unknown, label);
    }
  }
  const top20 = await predictor.predictNextBatch(expected.texts.slice(0, expected.top20.length), 20);
  top20.forEach((prediction, i) => {
    compare(prediction, expected.top20[i], `top20 #${i}`);
    assert.deepEqual(prediction.map(({ word }) => wordId.get(word)), expected.top20[i].ids, `top20 #${i}`);
  });
  await predictor.release();
});

test('greedy generation writes the words Python writes', { skip }, async () => {
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const predictor = await Predictor.load(join(dir, 'export', 'model.onnx'));
  for (const [i, words] of expected.greedy.entries()) {
    assert.equal(await predictor.generate(expected.texts[i], 12), words, `text #${i}`);
  }
  await predictor.release();
});

test('sampled generation is reproducible by seed and never writes the OOV token', { skip }, async () => {
  const predictor = await Predictor.load(join(dir, 'export', 'model.onnx'));
  const options = { strategy: 'sample', temperature: 1.5, seed: 5 };
  const text = await predictor.generate('the value of', 300, options);
  assert.equal(await predictor.generate('the value of', 300, options), text);
  assert.notEqual(await predictor.generate('the value of', 300, { ...options, seed: 6 }), text);
  assert.ok(!text.split(' ').includes('<unk>'));
  assert.ok(!(await predictor.generate('zzyzx qqq', 200)).split(' ').includes('<unk>'));
  await predictor.release();
});
