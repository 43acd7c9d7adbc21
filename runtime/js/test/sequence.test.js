// The sequence kind gives the Python runtime's words: predictNext on >= 1,000 texts (top-5 ids identical,
// probabilities within 1e-5), sessions fed word by word (k=20: past the graph's own top 10), greedy
// generation; and a session's copy/reset semantics. On onnxruntime-node, with NEXTWORD_JS_FIXTURES/sequence
// (written by test/make_fixtures.sh); skipped without it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { InputError, Predictor } from '../src/node.js';

const dir = process.env.NEXTWORD_JS_FIXTURES && join(process.env.NEXTWORD_JS_FIXTURES, 'sequence');
const skip = dir && existsSync(join(dir, 'expected.json')) ? false
  : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';
const TOLERANCE = 1e-5;

describe('the sequence kind', { skip }, () => {
  let expected;
  let predictor;
  let wordId;
  before(async () => {
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    predictor = await Predictor.load(join(dir, 'export', 'model.onnx'));
    wordId = new Map([...predictor.vocabulary].map(([id, word]) => [word, id]));
  });

  function check(prediction, want, label) {
    assert.deepEqual(prediction.map(({ word }) => wordId.get(word)), want.ids, label);
    prediction.forEach(({ probability }, i) => {
      assert.ok(Math.abs(probability - want.probs[i]) <= TOLERANCE, `${label}: probability ${i} ${probability} vs ${want.probs[i]}`);
    });
  }

  test('predictNext reads each text from its start, as Python does', async () => {
    assert.equal(predictor.metadata.kind, 'sequence');
    assert.equal(predictor.vocabSize, expected.vocab_size);
    assert.ok(expected.texts.length >= 1000);
    const batch = await predictor.predictNextBatch(expected.texts, 5);
    for (const [i, text] of expected.texts.entries()) {
      const label = `text #${i} ${JSON.stringify(text).slice(0, 60)}`;
      check(batch[i], expected.top5[i], label);
      assert.deepEqual(batch[i].unknownWords, expected.top5[i].unknown, label);
      if (i % 10 === 0) check(await predictor.predictNext(text, 5), expected.top5[i], `${label} (alone)`);
    }
  });

  test('a session fed word by word predicts what the Python session does', async () => {
    for (const [i, steps] of expected.sessions.entries()) {
      const session = await predictor.session();
      for (const [j, step] of steps.entries()) {
        await session.feed(step.word);
        check(await session.predict(20), step, `session #${i} after word ${j} ${JSON.stringify(step.word)}`);
      }
    }
  });

  test('greedy generation writes the words Python writes', async () => {
    for (const [i, words] of expected.greedy.entries()) {
      assert.equal(await predictor.generate(expected.texts[i], 12), words, `text #${i}`);
    }
  });

  test('copy branches, reset starts over, generate feeds its words', async () => {
    const session = await predictor.session();
    await session.feed('the value of');
    const branch = session.copy();
    await branch.feed('a list');
    assert.deepEqual(await session.predict(5), await predictor.predictNext('the value of', 5));
    assert.deepEqual(await branch.predict(5), await predictor.predictNext('the value of a list', 5));
    const written = await session.generate(4);
    assert.equal(session.wordsFed, 3 + 4);
    assert.deepEqual(await session.predict(5), await predictor.predictNext(`the value of ${written}`, 5));
    await session.reset();
    assert.deepEqual(await session.predict(5), await predictor.predictNext('', 5));
    assert.deepEqual(await session.feed('zzyzx the'), ['zzyzx']);
    assert.deepEqual(session.unknownWords, ['zzyzx']);
    await assert.rejects(session.feedIds([0]), InputError);
    await assert.rejects(session.feedIds([predictor.vocabSize]), InputError);
    assert.equal(session.state.length, 2 * predictor.metadata.config.layers * predictor.metadata.config.units);
  });

  test('a window model has no session', async () => {
    const window = process.env.NEXTWORD_JS_FIXTURES && join(process.env.NEXTWORD_JS_FIXTURES, 'export', 'model.onnx');
    if (!window || !existsSync(window)) return;
    await assert.rejects((await Predictor.load(window)).session(), (e) => e instanceof InputError && /no state to carry/.test(e.message));
  });
});
