"""Named training configurations: `nextword train --preset NAME` starts from one of these."""

from __future__ import annotations

import dataclasses

from nextword.runtime.config import TrainConfig

# Named configurations. "default" is the classic lesson's model; "small" is the one we recommend
# for devices (see the README's evaluation table for how it was chosen).
PRESETS = {
    "default": TrainConfig(),
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
