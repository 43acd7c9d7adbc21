"""One room per model kind (runtime/config.py KINDS), each behind the interface of kinds/base.py; the JS
runtime's runtime/js/src/kinds/ has the same rooms. This factory is the one place that picks the kind."""

from __future__ import annotations

from nextword.runtime.kinds.sequence import SequenceModel
from nextword.runtime.kinds.window import WindowModel

KINDS = {WindowModel.name: WindowModel, SequenceModel.name: SequenceModel}


def open_model(engine, bundle, source: str):
    """The kind the bundled config names, over an engine (its signature is checked by check_signature())."""
    return KINDS[bundle.config.kind](engine, bundle, source)
