// Browser entry: the core plus onnxruntime-web for .onnx and LiteRT.js for .tflite, and URLs.
// Both engines are optional peers, imported only when a file of their format is loaded. LiteRT.js needs
// its wasm files served: pass options.litertWasmPath (the folder of @litertjs/core/wasm/).
import { createLiteRtEngine } from './engines/litert.js';
import { createOnnxEngine } from './engines/onnxruntime.js';
import { InputError } from './errors.js';
import { Predictor as CorePredictor } from './predictor.js';

export * from './index.js';

export class Predictor extends CorePredictor {
  /** Load from a URL or from bytes. */
  static async load(urlOrBytes, options = {}) {
    const engines = {
      onnx: async (bytes, opts) => createOnnxEngine(await importPeer('onnxruntime-web'), bytes, opts),
      tflite: async (bytes) => {
        const litert = await importPeer('@litertjs/core');
        if (!options.litertWasmPath) throw new InputError('options.litertWasmPath (the served @litertjs/core/wasm/ folder) is needed to run .tflite files');
        // getGlobalLiteRt throws until loaded; the promise is set while loading and after: reuse it.
        await (litert.getGlobalLiteRtPromise() ?? litert.loadLiteRt(options.litertWasmPath));
        return createLiteRtEngine(litert, bytes);
      },
      ...options.engines,
    };
    if (typeof urlOrBytes !== 'string' && !(urlOrBytes instanceof URL)) return super.load(urlOrBytes, { ...options, engines });
    const response = await fetch(urlOrBytes);
    if (!response.ok) throw new InputError(`cannot fetch model ${urlOrBytes}: HTTP ${response.status}`);
    const source = options.source ?? String(urlOrBytes).split('/').pop();
    return super.load(new Uint8Array(await response.arrayBuffer()), { ...options, engines, source });
  }
}

async function importPeer(name) {
  try {
    return await import(name);
  } catch {
    throw new InputError(`${name} is not installed (an optional peer dependency of nextword)`);
  }
}
