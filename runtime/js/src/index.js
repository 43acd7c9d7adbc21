// nextword's dependency-free core: works in Node and in browsers. Engines are injected; the entry points
// nextword/node (onnxruntime-node, file paths) and nextword/web (onnxruntime-web, LiteRT.js, URLs) wire them.
export { Predictor, DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_METADATA_BYTES } from './predictor.js';
export { NextwordError, InputError, ModelFormatError, UnsupportedVersionError, MissingMetadataError,
  VocabularyMismatchError, CorruptModelError, UnsafeModelError } from './errors.js';
export { decodeBundle, entriesToText, vocabSizeOf, FORMAT_VERSION, READABLE_FORMAT_VERSIONS, METADATA_KEYS, KEY_CASING } from './bundle.js';
export { splitPartial } from './suggest.js';
export { UserModel, CorruptUserModelError, DEFAULT_MAX_ENTRIES, DEFAULT_MAX_USER_FILE_BYTES } from './user-model.js';
export { PrefixIndex, topIds, comparePoints } from './completion.js';
export { caseTableFromJson, display, startsSentence, SENTENCE_ENDS, MAX_FORM_LENGTH } from './casing.js';
export { readOnnxMetadata } from './formats/onnx.js';
export { readTfliteMetadata } from './formats/tflite.js';
export { sniffFormat } from './formats/sniff.js';
export { Tokenizer, tokenizerFromJson, DEFAULT_FILTERS } from './tokenizer/tokenizer.js';
export { pyLower } from './tokenizer/pylower.js';
export { pyUpper, pyRstrip, capitalizeFirst, startsUpper } from './tokenizer/pystring.js';
export { createOnnxEngine } from './engines/onnxruntime.js';
export { createLiteRtEngine } from './engines/litert.js';
export { createRandom } from './random.js';
