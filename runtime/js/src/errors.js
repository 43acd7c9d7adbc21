// One error hierarchy mirroring nextword/runtime/errors.py, so callers can catch NextwordError or test
// the kind with instanceof. Each class is a one-liner: the message carries the detail, the class the kind.

export class NextwordError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** An option or argument that cannot be used as given (Python: InputError, a ValueError). */
export class InputError extends NextwordError {}

/** A model file the runtime refuses to load. */
export class ModelFormatError extends NextwordError {}

/** The bundled format version is unknown or newer than this runtime. */
export class UnsupportedVersionError extends ModelFormatError {}

/** The model file lacks the bundled vocabulary or config. */
export class MissingMetadataError extends ModelFormatError {}

/** The bundled vocabulary does not match the model's output size. */
export class VocabularyMismatchError extends ModelFormatError {}

/** The file is truncated, corrupt, or of neither supported format. */
export class CorruptModelError extends ModelFormatError {}

/** The file asks for something a runtime must not do for untrusted input (external data, oversize). */
export class UnsafeModelError extends ModelFormatError {}
