"""One exception hierarchy for every refusal users meet, so a caller can catch NextwordError.

Each class is a one-liner on purpose: the message carries the detail, the class carries the kind.
"""


class NextwordError(Exception):
    """Base of every error nextword raises on purpose."""


class InputError(NextwordError, ValueError):
    """A corpus, option or training directory that cannot be used as given."""


class ModelFormatError(NextwordError):
    """A model file the runtime refuses to load."""


class UnsupportedVersionError(ModelFormatError):
    """The bundled format version is unknown or newer than this runtime."""


class MissingMetadataError(ModelFormatError):
    """The model file lacks the bundled vocabulary or config."""


class VocabularyMismatchError(ModelFormatError):
    """The bundled vocabulary does not match the model's output size."""


class CorruptModelError(ModelFormatError):
    """The file is truncated, corrupt, or of neither supported format."""


class UnsafeModelError(ModelFormatError):
    """The file asks for something a runtime must not do for untrusted input (external data, oversize)."""


class ValidationError(NextwordError):
    """An export disagreed with Keras beyond its tolerance."""


class OutputError(NextwordError):
    """The output could not be written (read-only folder, full disk); nothing half-written is left."""
