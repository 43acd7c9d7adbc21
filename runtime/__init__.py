"""nextword's runtime: run an exported next-word model with numpy and onnxruntime or LiteRT, no TensorFlow.

    from nextword.runtime import Predictor
"""

from nextword.runtime.errors import (CorruptModelError, InputError, MissingMetadataError, ModelFormatError,
                                     NextwordError, UnsafeModelError, UnsupportedVersionError,
                                     VocabularyMismatchError)

__all__ = ["Predictor", "Prediction", "NextwordError", "InputError", "ModelFormatError", "CorruptModelError",
           "MissingMetadataError", "UnsafeModelError", "UnsupportedVersionError", "VocabularyMismatchError"]


def __getattr__(name):
    # Lazy, so that the pure-Python modules (errors, tokenizer) import without numpy or an engine.
    if name in ("Predictor", "Prediction"):
        from nextword.runtime import predictor

        return getattr(predictor, name)
    raise AttributeError(f"module 'nextword.runtime' has no attribute {name!r}")
