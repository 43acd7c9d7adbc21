// nextword/node: the core plus onnxruntime-node and file paths.
import { LoadOptions, ModelBytes, Predictor as CorePredictor, UserModel as CoreUserModel } from './index.js';

export * from './index.js';

export declare class Predictor extends CorePredictor {
  /** A path (or file URL) is read with a size check first; .onnx runs on onnxruntime-node. */
  static load(pathOrBytes: string | URL | ModelBytes, options?: LoadOptions): Promise<Predictor>;
}

/** UserModel with files: load(path) reads strictly (over maxBytes: CorruptUserModelError); save(path) writes a
 *  temporary file beside path, flushes it and renames it over path, so a crash mid-save leaves the old file. */
export declare class UserModel extends CoreUserModel {
  static load(path: string, options?: { maxEntries?: number; maxBytes?: number }): Promise<UserModel>;
  save(path: string): Promise<void>;
}
