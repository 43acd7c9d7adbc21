"""Named training configurations: `nextword train --preset NAME` starts from one of these."""

from __future__ import annotations

import dataclasses

from nextword.runtime.config import TrainConfig

# Named configurations. "default" is the classic lesson's model; "small" is the one we recommend
# for devices (see the README's evaluation table for how it was chosen).
PRESETS = {
    # The lesson's model, with the lesson's whole-text vocabulary: words seen only in the held-out tail have ids
    # the model learns never to predict, so the held-out loss rises from epoch 2 on while held-out accuracy
    # keeps improving for many more epochs. Keeping the best held-out top-1 epoch suits this preset.
    "default": TrainConfig(early_stopping="accuracy"),
    "small": dataclasses.replace(
        TrainConfig(),
        seq_len=4,
        embedding_dim=32,
        units=64,
        hidden=32,
        epochs=4,
        batch_size=512,
        learning_rate=0.01,
        num_words=3000,
        oov_token="<unk>",
        vocab_from_training_split=True,
        preset="small",
    ),
}

# The recommended model: a stateful LSTM language model over the whole text so far (see the README's
# quality table for how it was chosen). Placeholder sizes until the tuning runs land.
PRESETS["sequence"] = dataclasses.replace(
    TrainConfig(),
    kind="sequence",
    embedding_dim=256,
    units=256,
    layers=1,
    dropout=0.3,
    chunk_len=35,
    clipnorm=1.0,
    epochs=12,
    batch_size=32,
    learning_rate=0.002,
    num_words=5000,
    oov_token="<unk>",
    vocab_from_training_split=True,
    early_stopping="loss",
    patience=2,
    preset="sequence",
)
