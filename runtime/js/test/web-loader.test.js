// The demo page's loader (web/app.js calls nextword/web's Predictor.load on /models/NAME, the files `nextword
// web` lists from the export folder) applies the same checks as Node: every file of the shared hostile set, fetched
// by URL, is refused with its manifest's class before an engine starts; each original reaches the engine. fetch
// is this test's: it serves the hostile folder (NEXTWORD_JS_FIXTURES/hostile) as the server serves an export.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as errors from '../src/errors.js';
import { Predictor } from '../src/web.js';

const dir = process.env.NEXTWORD_JS_FIXTURES && join(process.env.NEXTWORD_JS_FIXTURES, 'hostile');
const skip = dir && existsSync(join(dir, 'manifest.json')) ? false : 'NEXTWORD_JS_FIXTURES has no hostile/ (test/make_fixtures.sh writes it)';

class EngineReached extends Error {}
const engines = { onnx: async () => { throw new EngineReached('onnx'); }, tflite: async () => { throw new EngineReached('tflite'); } };

describe('the page loader refuses the shared hostile files', { skip }, () => {
  const realFetch = globalThis.fetch;
  before(() => {
    globalThis.fetch = async (url) => {
      const name = String(url).replace(/^\/models\//, '');
      const path = join(dir, name);
      if (name.includes('/') || !existsSync(path)) return new Response('not found', { status: 404 });
      return new Response(readFileSync(path));
    };
  });
  after(() => { globalThis.fetch = realFetch; });

  test('every file, by URL, as app.js loads it', async () => {
    const { cases } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    for (const c of cases) {
      const loading = Predictor.load(`/models/${c.file}`, { engines, source: c.file, litertWasmPath: '/engines/@litertjs/core/wasm/' });
      await assert.rejects(loading, (error) => {
        if (c.expect === null) return error instanceof EngineReached;
        assert.ok(!(error instanceof EngineReached), `${c.file} reached the ${error.message} engine`);
        assert.equal(error.constructor, errors[c.expect], `${c.file}: ${error.name}: ${error.message}`);
        return true;
      });
    }
  });

  test('a file the server does not list is a typed error, not a load', async () => {
    await assert.rejects(Predictor.load('/models/../secret.onnx', { engines }), errors.InputError);
  });
});
