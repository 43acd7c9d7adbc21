// Node entry: the core plus onnxruntime-node and file paths. `Predictor.load('model.onnx')` reads the
// file (refusing one over maxFileBytes before reading it) and runs it on onnxruntime-node.
// .tflite files need an engine passed in options.engines.tflite: LiteRT.js targets browsers.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createOnnxEngine } from './engines/onnxruntime.js';
import { InputError, UnsafeModelError } from './errors.js';
import { DEFAULT_MAX_FILE_BYTES, Predictor as CorePredictor } from './predictor.js';
import { CorruptUserModelError, DEFAULT_MAX_USER_FILE_BYTES, UserModel as CoreUserModel } from './user-model.js';

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

/** The core UserModel plus files (Python's UserModel.load and save). One file per user, one writer at a time. */
export class UserModel extends CoreUserModel {
  static async load(path, { maxEntries, maxBytes = DEFAULT_MAX_USER_FILE_BYTES } = {}) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (error.code === 'ENOENT') throw new InputError(`user model ${path} does not exist`);
      throw new InputError(`cannot read user model ${path}: ${error.message}`);
    }
    if (!info.isFile()) throw new InputError(`user model ${path} is not a file`);
    if (info.size > maxBytes) throw new CorruptUserModelError(`user model ${path} is over the ${maxBytes}-byte limit`);
    let data;
    try {
      data = new Uint8Array(await readFile(path));
    } catch (error) {
      throw new InputError(`cannot read user model ${path}: ${error.message}`);
    }
    return this.fromBytes(data, { maxEntries, maxBytes, source: String(path) });
  }

  /** Write to path atomically: a temporary file beside it, flushed to disk, then renamed over it, so a crash
   *  mid-save leaves the previous file whole. */
  async save(path) {
    const data = await this.toBytes();
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}`);
    let handle;
    try {
      handle = await open(tmp, 'wx');
      await handle.writeFile(data);
      await handle.sync();
      await handle.close();
      handle = null;
      await rename(tmp, path);
    } catch (error) {
      await handle?.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw new InputError(`cannot save the user model to ${path}: ${error.message}`);
    }
  }
}
