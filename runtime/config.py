"""The one config object of a trained model: saved as config.json beside the weights,
bundled into every exported file, and rebuilt from there by later stages (never re-derived).

It lives in the runtime because every exported file carries it; the named presets that training
starts from are in nextword.train.presets."""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from dataclasses import dataclass

from nextword.runtime import strict_json
from nextword.runtime.contract import KINDS
from nextword.runtime.errors import InputError, UnsupportedVersionError

CONFIG_VERSION = 1


EARLY_STOPPING_METRICS = ("loss", "accuracy", "top5")  # measured on the held-out tail after every epoch


@dataclass(frozen=True)
class TrainConfig:
    # "window": the lesson's model, a fixed context of seq_len - 1 words -> the next word.
    # "sequence": a stateful language model over the whole text so far; the exported graph carries its state.
    kind: str = "window"
    seq_len: int = 3  # window: words per training window, the first seq_len - 1 predict the last
    embedding_dim: int = 8  # Embedding(vocab_size, embedding_dim), as in the classic lesson
    units: int = 8  # LSTM units (per layer)
    hidden: int = 8  # window: width of the Dense(relu) layer before the softmax
    layers: int = 1  # sequence: stacked LSTM layers
    dropout: float = 0.0  # sequence: dropout between layers and before the softmax (one mask per sequence)
    embedding_dropout: float = 0.0  # sequence: dropout on the embeddings (one mask per sequence)
    weight_drop: float = 0.0  # sequence: DropConnect on each LSTM's hidden-to-hidden weights (one mask per batch)
    # sequence, training only (Merity et al. 2018): activation_reg * mean(h^2) of the last LSTM's output after its
    # dropout (AR) and temporal_reg * mean((h_t - h_{t-1})^2) of the same output before it (TAR), added to the loss
    activation_reg: float = 0.0
    temporal_reg: float = 0.0
    # sequence: the softmax reads the embedding table backwards; with units != embedding_dim a linear projection
    # (units -> embedding_dim) comes first, so the memory can be wider than the word vectors
    tie_embeddings: bool = False
    lr_decay: float = 1.0  # multiply the learning rate by this after an epoch that did not improve the held-out metric
    chunk_len: int = 35  # sequence: words per training chunk (truncated back-propagation through time)
    clipnorm: float | None = None  # clip each update's gradient to this global norm (None: no clipping)
    # The epoch kept is the best on this held-out metric; training stops after `patience` epochs without a
    # better one (0: run every epoch, and still keep the best).
    early_stopping: str = "loss"
    patience: int = 0
    epochs: int = 20
    batch_size: int = 128
    validation_split: float = 0.1  # the last fraction of windows, never shuffled into training
    learning_rate: float = 0.01  # Adam; the lesson's tiny model learns too slowly at Keras' 1e-3
    seed: int = 0  # same seed, same corpus -> same weights
    num_words: int | None = None  # keep only the num_words - 1 most frequent words (None: all); shrinks the softmax
    oov_token: str | None = None  # if set, unknown words map to id 1 instead of being dropped
    # Fit the vocabulary on the training split only, as a real held-out set demands: words seen only in the
    # held-out tail become the OOV id instead of ids the model was trained to never predict. Needs oov_token.
    vocab_from_training_split: bool = False
    # Words seen fewer times than this in the text the vocabulary is fitted on become the OOV id too (needs
    # oov_token): on a small text every word would otherwise get an id, the OOV id would never be a training
    # target, and the model would learn that new words never come. Lowers num_words to the words kept.
    min_count: int = 1
    vocab_size: int = 0  # len(index_word) + 1: id 0 is reserved for padding
    corpus_sha256: str = ""  # which text these weights came from
    corpus_name: str = ""  # a path or the name of the embedded corpus, for people
    preset: str = "default"
    version: int = CONFIG_VERSION

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.early_stopping not in EARLY_STOPPING_METRICS:
            raise InputError(
                f"early_stopping must be one of {', '.join(EARLY_STOPPING_METRICS)}, got {self.early_stopping!r}"
            )
        if self.seq_len < 2:
            raise InputError(f"seq_len must be at least 2 (one context word and one target), got {self.seq_len}")
        for name in ("embedding_dim", "units", "hidden", "epochs", "batch_size", "layers", "chunk_len"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.validation_split < 1.0:
            raise InputError(f"validation_split must be in [0, 1), got {self.validation_split}")
        if self.num_words is not None and (not isinstance(self.num_words, int) or self.num_words < 2):
            raise InputError(f"num_words must be an integer of at least 2, got {self.num_words!r}")
        if not isinstance(self.min_count, int) or self.min_count < 1:
            raise InputError(f"min_count must be a positive integer, got {self.min_count!r}")
        if self.min_count > 1 and self.oov_token is None:
            raise InputError("min_count needs an oov_token for the words it leaves out")
        if self.vocab_from_training_split and self.oov_token is None:
            raise InputError("vocab_from_training_split needs an oov_token for the words only the held-out text has")
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate must be positive, got {self.learning_rate}")
        for name in ("dropout", "embedding_dropout", "weight_drop"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        for name in ("activation_reg", "temporal_reg"):
            if not 0.0 <= getattr(self, name) < float("inf"):
                raise InputError(f"{name} must be a non-negative number, got {getattr(self, name)}")
        if not 0.0 < self.lr_decay <= 1.0:
            raise InputError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.clipnorm is not None and not self.clipnorm > 0:
            raise InputError(f"clipnorm must be positive (or None), got {self.clipnorm}")
        if not isinstance(self.patience, int) or self.patience < 0:
            raise InputError(f"patience must be a non-negative integer, got {self.patience!r}")

    @property
    def context_len(self) -> int:
        """How many ids the window model reads: the window minus the predicted word."""
        return self.seq_len - 1

    @property
    def state_size(self) -> int:
        """Floats of LSTM state per text for the sequence kind: (h, c) of every layer, laid out
        [h_1, c_1, h_2, c_2, ...] (runtime/contract.py); 0 for the stateless window kind."""
        return 2 * self.layers * self.units if self.kind == "sequence" else 0

    @property
    def projects(self) -> bool:
        """Whether a tied sequence model has a projection (train/model.py) between its last LSTM and its softmax."""
        return self.kind == "sequence" and self.tie_embeddings and self.units != self.embedding_dim

    @property
    def lstm_layers(self) -> int:
        """LSTM layers of the network: the window kind always has one (its `layers` is not read)."""
        return self.layers if self.kind == "sequence" else 1

    @property
    def words_per_call(self) -> int:
        """Words one engine call reads per text, so LSTM cells the graph unrolls per layer: the window kind its
        context, the sequence kind's step graph 1 (its TFLite graph takes n = 1; ONNX loops inside the LSTM)."""
        return self.context_len if self.kind == "window" else 1

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, *, required: tuple[str, ...] = ()) -> TrainConfig:
        """`required`: fields that must be present (a missing field otherwise takes its default)."""
        if not isinstance(data, dict):
            raise InputError("config must be a JSON object")
        version = data.get("version")
        if version != CONFIG_VERSION or isinstance(version, bool):
            raise UnsupportedVersionError(
                f"config version {repr(version)[:40]} is not supported; this nextword reads version {CONFIG_VERSION}"
            )
        types = _field_types()
        unknown = sorted(set(data) - set(types))
        if unknown:
            raise InputError(f"config has unknown fields: {', '.join(name[:40] for name in unknown[:5])}")
        missing = [name for name in required if name not in data]
        if missing:
            raise InputError(f"config lacks the field {missing[0]!r}")
        for name, value in data.items():
            allowed = types[name]
            # JSON has one number type: a float field may hold 1, but no int field holds 1.0 and only a bool
            # field holds true (True == 1 in Python, so isinstance alone would let it through).
            if isinstance(value, bool) and bool not in allowed:
                raise InputError(f"config field {name!r} must be {_type_names(allowed)}, not a boolean")
            if not isinstance(value, allowed + ((int,) if float in allowed else ())):
                raise InputError(f"config field {name!r} must be {_type_names(allowed)}, got {str(value)[:40]!r}")
        floats = {name: float(value) for name, value in data.items() if types[name][0] is float and value is not None}
        return cls(**(data | floats))

    @classmethod
    def from_json(cls, text: str, *, required: tuple[str, ...] = ()) -> TrainConfig:
        return cls.from_dict(strict_json.loads(text, "config JSON"), required=required)


# What the runtime reads from a bundled config, and so what a file must state rather than leave to a default
# (a missing seq_len must not quietly become 3). Training-only fields may be missing and take their defaults:
# format version 1 predates the kinds and the sequence kind's fields, and version 2 gains training fields
# (dropouts, schedules) that files written before them lack.
RUNTIME_FIELDS = (
    "seq_len",
    "embedding_dim",
    "units",
    "hidden",
    "validation_split",
    "num_words",
    "oov_token",
    "vocab_size",
    "version",
)


def required_fields(format_version: int) -> tuple[str, ...]:
    if format_version == 1:
        return RUNTIME_FIELDS
    return ("kind", *RUNTIME_FIELDS[:3], "layers", *RUNTIME_FIELDS[3:])  # layers: the sequence kind's state size


@functools.cache
def _field_types() -> dict[str, tuple[type, ...]]:
    hints = typing.get_type_hints(TrainConfig)
    return {name: tuple(typing.get_args(hint)) or (hint,) for name, hint in hints.items()}


def _type_names(types: tuple[type, ...]) -> str:
    return " or ".join("null" if t is type(None) else t.__name__ for t in types)
