// Overlapping feed() calls on one session (an app that does not await each before the next): each must run
// from the state the one before it left, so no word is lost while wordsFed counts it. On the sequence fixture
// (NEXTWORD_JS_FIXTURES/sequence, written by test/make_fixtures.sh); skipped without it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Predictor } from '../src/node.js';

const dir = process.env.NEXTWORD_JS_FIXTURES && join(process.env.NEXTWORD_JS_FIXTURES, 'sequence');
const model = dir && join(dir, 'export', 'model.onnx');
const skip = model && existsSync(model) ? false : 'NEXTWORD_JS_FIXTURES is not set to a folder written by test/make_fixtures.sh';

describe('one session, overlapping feeds', { skip }, () => {
  test('feeds not awaited one by one give the state of the words fed in order', async () => {
    const predictor = await Predictor.load(model);
    const words = ['the', 'king', 'is', 'not', 'here', 'and', 'the', 'queen'];
    const inOrder = await predictor.session();
    for (const word of words) await inOrder.feed(word);
    const overlapping = await predictor.session();
    await Promise.all(words.map((word) => overlapping.feed(word)));
    assert.equal(overlapping.wordsFed, inOrder.wordsFed);
    assert.deepEqual(Array.from(overlapping.state), Array.from(inOrder.state));
    assert.deepEqual(await overlapping.predict(5), await inOrder.predict(5));
    // feedIds queues behind feed too, and a refused feed does not stall the ones after it.
    const mixed = await predictor.session();
    const ids = words.map((word) => predictor.encode(word)[0][0]);
    const results = await Promise.allSettled([mixed.feed(words[0]), mixed.feedIds([0]), ...ids.slice(1).map((id) => mixed.feedIds([id]))]);
    assert.equal(results[1].status, 'rejected');
    assert.deepEqual(Array.from(mixed.state), Array.from(inOrder.state));
  });

  test('a text of 200,000 unknown words is fed and counted (no call-stack overflow)', async () => {
    const predictor = await Predictor.load(model);
    const session = await predictor.session();
    await session.feed(Array.from({ length: 200_000 }, (_, i) => `zzq${i}`).join(' '));
    assert.equal(session.unknownWords.length, 200_000);
    await predictor.release();
  });

  test('once a word was completed, each step brings its distribution: no second engine call (as Python)', async () => {
    const predictor = await Predictor.load(model);
    const session = await predictor.session();
    let calls = 0;
    const feedRows = session.model.feedRows.bind(session.model);
    session.model.feedRows = (...args) => {
      calls += 1;
      return feedRows(...args);
    };
    await session.feed('the value');
    assert.equal(session.fetchesFull, false);
    await session.suggest('o', 3); // the first completion: the step again
    assert.ok(session.fetchesFull);
    for (const word of ['of', 'the', 'list']) {
      await session.feed(word);
      const before = calls;
      await session.suggest('a', 3);
      assert.equal(calls, before, word);
    }
    assert.ok(session.copy().fetchesFull);
    await predictor.release();
  });
});

