// nextword/web: the core plus onnxruntime-web (.onnx), LiteRT.js (.tflite) and URLs.
import { LoadOptions, ModelBytes, Predictor as CorePredictor } from './index.js';

export * from './index.js';

export interface WebLoadOptions extends LoadOptions {
  /** The served folder of @litertjs/core/wasm/, needed for .tflite files. */
  litertWasmPath?: string;
}

export declare class Predictor extends CorePredictor {
  static load(urlOrBytes: string | URL | ModelBytes, options?: WebLoadOptions): Promise<Predictor>;
}
