// nextword/node: the core plus onnxruntime-node and file paths.
import { LoadOptions, ModelBytes, Predictor as CorePredictor } from './index.js';

export * from './index.js';

export declare class Predictor extends CorePredictor {
  /** A path (or file URL) is read with a size check first; .onnx runs on onnxruntime-node. */
  static load(pathOrBytes: string | URL | ModelBytes, options?: LoadOptions): Promise<Predictor>;
}
