"""Which epoch to keep, and the curves that show it.

Every kind is scored on the held-out tail after every epoch (val_loss, val_accuracy, val_top5); the epoch
kept is the best on the config's `early_stopping` metric, its weights are restored at the end, and
training stops after `patience` epochs without a better one (0: run them all).
"""

from __future__ import annotations

from pathlib import Path

import keras

LOWER_IS_BETTER = {"loss": True, "accuracy": False, "top5": False}


class KeepBestEpoch(keras.callbacks.Callback):
    """Keras' EarlyStopping restores the best weights only when it stops early; this one always does."""

    def __init__(self, metric: str, patience: int, *, lr_decay: float = 1.0, optimizer=None):
        super().__init__()
        self.key = "val_" + metric
        self.lower_is_better = LOWER_IS_BETTER[metric]
        self.patience = patience
        # After an epoch without a better score, the learning rate is multiplied by lr_decay (1.0: never).
        self.lr_decay = lr_decay
        self.optimizer = optimizer  # None: the compiled model's own
        self.best_epoch = 0  # 1-based; 0 until an epoch has a held-out score
        self.best_value = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.key)
        if value is None:  # no held-out tail (validation_split 0): keep the last epoch
            return
        if self.best_value is None or (value < self.best_value if self.lower_is_better else value > self.best_value):
            self.best_epoch, self.best_value, self.best_weights = epoch + 1, float(value), self.model.get_weights()
        else:
            if self.lr_decay < 1.0:
                optimizer = self.optimizer or self.model.optimizer
                # convert_to_numpy also reads a tf.distribute MirroredVariable, which float() cannot.
                optimizer.learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate)) * self.lr_decay
            if self.patience and epoch + 1 - self.best_epoch >= self.patience:
                self.model.stop_training = True

    def restore(self) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


def plot_history(curves: dict[str, list[float]], best_epoch: int, metric: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, name in zip(axes, ("loss", "accuracy", "top5")):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = curves.get(prefix + name)
            if values:
                label = ("held-out " if prefix else "train ") + name
                ax.plot(range(1, len(values) + 1), values, style, label=label)
        if best_epoch:
            ax.axvline(
                best_epoch, color="grey", linestyle=":", label=f"kept: epoch {best_epoch} (best held-out {metric})"
            )
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
