"""nextword's runtime: run an exported next-word model with numpy and onnxruntime or LiteRT, no TensorFlow.

    from nextword.runtime import Predictor

This package is the base layer: the file-format contract, the tokenizer, the config reader, the errors and
the loaders. The training and export stages build on it; it imports neither.
"""

from nextword.runtime.errors import (
    CorruptModelError,
    InputError,
    MissingMetadataError,
    ModelFormatError,
    NextwordError,
    OutputError,
    UnsafeModelError,
    UnsupportedVersionError,
    ValidationError,
    VocabularyMismatchError,
)

__all__ = [
    "Predictor",
    "Prediction",
    "UserModel",
    "CorruptUserModelError",
    "NextwordError",
    "InputError",
    "ModelFormatError",
    "CorruptModelError",
    "MissingMetadataError",
    "UnsafeModelError",
    "UnsupportedVersionError",
    "VocabularyMismatchError",
    "ValidationError",
    "OutputError",
]


def __getattr__(name):
    # Lazy, so that the pure-Python modules (errors, tokenizer, config) import without numpy or an engine.
    if name in ("Predictor", "Prediction"):
        from nextword.runtime import predictor

        return getattr(predictor, name)
    if name in ("UserModel", "CorruptUserModelError"):
        from nextword.runtime import user_model

        return getattr(user_model, name)
    raise AttributeError(f"module 'nextword.runtime' has no attribute {name!r}")
