// Node entry: the core plus onnxruntime-node and file paths. `Predictor.load('model.onnx')` reads the
// file (refusing one over maxFileBytes before reading it) and runs it on onnxruntime-node.
// .tflite files need an engine passed in options.engines.tflite: LiteRT.js targets browsers.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createOnnxEngine } from './engines/onnxruntime.js';
import { InputError, UnsafeModelError } from './errors.js';
import { DEFAULT_MAX_FILE_BYTES, Predictor as CorePredictor } from './predictor.js';

export * from './index.js';

let ortPromise;
async function onnxruntimeNode() {
  // Imported on first use, so `nextword/node` loads even where only the tokenizer or readers are needed.
  ortPromise ??= import('onnxruntime-node').catch(() => {
    ortPromise = undefined;
    throw new InputError('onnxruntime-node is not installed: npm install onnxruntime-node');
  });
  return ortPromise;
}

export class Predictor extends CorePredictor {
  /** Load from a path or from bytes. */
  static async load(pathOrBytes, options = {}) {
    const engines = { onnx: async (bytes, opts) => createOnnxEngine(await onnxruntimeNode(), bytes, opts), ...options.engines };
    if (typeof pathOrBytes !== 'string' && !(pathOrBytes instanceof URL)) return super.load(pathOrBytes, { ...options, engines });
    const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const data = await readModelFile(pathOrBytes, maxFileBytes);
    const source = options.source ?? basename(String(pathOrBytes instanceof URL ? pathOrBytes.pathname : pathOrBytes));
    return super.load(data, { ...options, engines, source });
  }
}

async function readModelFile(path, maxBytes) {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if (error.code === 'ENOENT') throw new InputError(`model ${path} does not exist`);
    throw new InputError(`cannot read model ${path}: ${error.message}`);
  }
  if (!info.isFile()) throw new InputError(`model ${path} is not a file`);
  if (info.size > maxBytes) throw new UnsafeModelError(`model ${path} is ${info.size} bytes, over the ${maxBytes}-byte limit (raise maxFileBytes to allow it)`);
  try {
    return await readFile(path);
  } catch (error) {
    throw new InputError(`cannot read model ${path}: ${error.message}`);
  }
}
