"""Streaming training, in one process or synchronously across workers (tf.distribute.MultiWorkerMirroredStrategy).

A custom loop (strategy.run + GradientTape) instead of model.fit: Keras 3.15's fit fails under the strategy
(keras-team/keras#20585 in _maybe_symbolic_build, then reduce_per_replica on scalar metrics), and a loop needs
no patch of Keras internals that a Keras upgrade could silently break.

Sharding: every worker reads the same stream (same files, same seed, same shuffle) and trains on its slice of
each global batch (stream.local_slice). Gradient sums are all-reduced and divided by the global batch's row
count, and the optimizer (clipping included) runs once on that sum, so an update is the one a single process
makes on the whole batch: `--batch-size` is the global batch, every worker runs the same number of steps
(no uneven shards), and the result matches one process up to summation order. The cost is that each worker
tokenizes the whole corpus, which the input pipeline does far faster than training consumes it.

The held-out tail is scored by every worker on its own copy of the (identical) weights, so early stopping
decides the same everywhere without a message. Resume is per epoch: each worker backs up its own state
(weights, optimizer, curves, best epoch) after every epoch into its own folder; after a crash, all workers
are relaunched, agree on the newest epoch they all have, and continue from there.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nextword.runtime.bundle import vocab_size_of
from nextword.runtime.config import TrainConfig
from nextword.runtime.errors import InputError
from nextword.runtime.files import check_output_dir
from nextword.train import stream
from nextword.train.fit import pipeline, warn_if_small
from nextword.train.folder import TRAINING_OUTPUT, check_out_apart, write_training_dir
from nextword.train.held_out import held_out_scorer

KEEP_BACKUPS = 2  # workers differ by at most one epoch after a crash, so two always hold a common one
FAULT_ENV = "NEXTWORD_FAULT"  # tests: "worker:epoch:step" SIGKILLs that worker there, in the first launch only
ATTEMPT_ENV = "NEXTWORD_LAUNCH_ATTEMPT"


@dataclass(frozen=True)
class Cluster:
    n_workers: int
    worker: int  # 0 .. n_workers - 1; 0 is the chief
    is_chief: bool


def cluster_from_tf_config(environ=os.environ) -> Cluster:
    """This process's place in TF_CONFIG. A "chief" task, if any, is worker 0; else worker 0 is the chief."""
    raw = environ.get("TF_CONFIG")
    if not raw:
        raise InputError("--distributed needs TF_CONFIG (the cluster and this worker's task); see the README")
    try:
        spec = json.loads(raw)
        cluster, task = spec["cluster"], spec["task"]
        chiefs, workers = list(cluster.get("chief", [])), list(cluster.get("worker", []))
        kind, index = task["type"], int(task["index"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError("TF_CONFIG must be JSON with cluster.worker and task.type/index") from None
    if kind not in ("chief", "worker") or set(cluster) - {"chief", "worker"} or len(chiefs) > 1:
        raise InputError("TF_CONFIG: only worker tasks (and at most one chief) are supported")
    position = index if kind == "chief" else len(chiefs) + index
    n_workers = len(chiefs) + len(workers)
    if not 0 <= position < n_workers:
        raise InputError(f"TF_CONFIG: task {kind} {index} is not in the cluster")
    return Cluster(n_workers, position, position == 0)


def train_stream(
    paths: list,
    config: TrainConfig,
    out: str | Path,
    *,
    force: bool = False,
    verbose: int = 1,
    distributed: bool = False,
    backup_dir: str | Path | None = None,
) -> Path:
    """Train on the streamed corpus `paths` (files or directories of shards) and, on the chief, write the
    training folder `out` atomically. With `distributed`, TF_CONFIG names the cluster."""
    check_out_apart(out, stream.corpus_name(paths))  # before the counting pass and the epochs, not after
    check_output_dir(out, force=force, kind=TRAINING_OUTPUT)
    cluster = cluster_from_tf_config() if distributed else Cluster(1, 0, True)
    import tensorflow as tf

    # The strategy must exist before any other TensorFlow op runs in this process.
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if distributed else tf.distribute.get_strategy()
    plan = stream.count_vocabulary(paths, config)
    if verbose and cluster.worker == 0:
        warn_if_small(config, plan.train_end)
    config = dataclasses.replace(
        config,
        num_words=plan.tokenizer.num_words,  # min_count may have lowered it
        vocab_size=vocab_size_of(plan.tokenizer),
        corpus_sha256=plan.sha256,
        corpus_name=stream.corpus_name(paths),
    )
    backups = Backups(Path(backup_dir or default_backup_dir(out)), cluster.worker)
    run = Run(config, plan, cluster, strategy, verbose=verbose)
    run.resume(backups)
    run.fit(backups)
    run.keep_best.restore()
    if verbose:
        print(f"worker {cluster.worker}: weights sha256 {weights_digest(run.model)}", flush=True)
    if cluster.is_chief:
        write_training_dir(out, run.model, plan.tokenizer, config, run.curves, run.keep_best.best_epoch, force=force)
    run.barrier()  # the backups go only once the folder is in place: a crash before this resumes from them
    backups.remove()
    return Path(out)


def default_backup_dir(out: str | Path) -> Path:
    out = Path(out)
    return out.parent / f".{out.name}.backup"


class Run:
    """The model, its optimizer, the loop and the early-stopping state of one training run."""

    def __init__(self, config: TrainConfig, plan: stream.StreamPlan, cluster: Cluster, strategy, *, verbose: int):
        import keras
        import tensorflow as tf
        from nextword.train.history import KeepBestEpoch
        from nextword.train.model import build_model

        self.config, self.plan, self.cluster, self.strategy, self.verbose = config, plan, cluster, strategy, verbose
        keras.utils.set_random_seed(config.seed)
        tf.config.experimental.enable_op_determinism()
        with strategy.scope():
            self.model = build_model(config)
            self.optimizer = keras.optimizers.Adam(config.learning_rate, clipnorm=config.clipnorm)
            self.optimizer.build(self.model.trainable_variables)
        self.keep_best = KeepBestEpoch(
            config.early_stopping, config.patience, lr_decay=config.lr_decay, optimizer=self.optimizer
        )
        self.keep_best.set_model(self.model)
        self.curves: dict[str, list[float]] = {}
        self.epoch = 0  # epochs done
        self.stopped = False
        self.train_step = self._make_train_step()
        self.score_held_out = held_out_scorer(self.model, config)

    # --- the loop ------------------------------------------------------------------------------------

    def fit(self, backups: Backups) -> None:
        config, cluster = self.config, self.cluster
        steps = stream.steps_per_epoch(self.plan, config)
        fault = fault_point(cluster.worker)
        while self.epoch < config.epochs and not self.stopped:
            sums = np.zeros(4)  # loss, top-1 hits, top-5 hits, targets
            for step, rows in enumerate(self._batches(self.epoch)):
                if fault == (self.epoch, step):
                    os.kill(os.getpid(), signal.SIGKILL)
                n_global, local = rows
                out = self.train_step(local, np.float32(n_global * self.positions))
                sums += [float(v) for v in out] + [n_global * self.positions]
            if step + 1 != steps:
                raise RuntimeError(f"epoch had {step + 1} steps, expected {steps}")
            logs = {"loss": sums[0] / sums[3], "accuracy": sums[1] / sums[3], "top5": sums[2] / sums[3]}
            logs |= self.held_out_scores()
            self.keep_best.on_epoch_end(self.epoch, logs)
            self.stopped = bool(getattr(self.model, "stop_training", False))
            for key, value in logs.items():
                self.curves.setdefault(key, []).append(float(value))
            self.epoch += 1
            backups.save(self)
            if self.verbose and cluster.is_chief:
                shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
                print(f"epoch {self.epoch}/{config.epochs}: {shown}", flush=True)
        if self.verbose and cluster.is_chief and self.keep_best.best_epoch:
            print(f"kept epoch {self.keep_best.best_epoch} of {self.epoch} (best held-out {config.early_stopping})")

    @property
    def positions(self) -> int:
        """Targets per row: one per window, chunk_len per chunk."""
        return self.config.chunk_len if self.config.kind == "sequence" else 1

    def _batches(self, epoch: int):
        """(global rows, this worker's rows) per step, prefetched by tf.data in a background thread."""
        import tensorflow as tf

        cluster, config = self.cluster, self.config
        width = 2 * config.chunk_len if config.kind == "sequence" else config.seq_len

        def local():
            for batch in stream.training_batches(self.plan, config, epoch):
                yield len(batch), batch[stream.local_slice(len(batch), cluster.n_workers, cluster.worker)]

        signature = (tf.TensorSpec([], tf.int64), tf.TensorSpec([None, width], tf.int32))
        dataset = pipeline(local, signature, prefetch=8)
        for n_global, rows in dataset:
            yield int(n_global), rows

    def _split(self, rows):
        if self.config.kind == "sequence":
            return rows[:, : self.config.chunk_len], rows[:, self.config.chunk_len :]
        return rows[:, :-1], rows[:, -1]

    def _make_train_step(self):
        import keras
        import tensorflow as tf

        model, optimizer, strategy = self.model, self.optimizer, self.strategy
        width = 2 * self.config.chunk_len if self.config.kind == "sequence" else self.config.seq_len

        def replica_step(rows):
            x, y = self._split(rows)
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                loss_sum = tf.reduce_sum(keras.losses.sparse_categorical_crossentropy(y, probs))
                if model.losses:  # AR/TAR (train/model.py ActivationPenalty): a mean over this replica's rows,
                    # weighted by its targets, so the sum over replicas is one process's mean times all targets
                    loss_sum += tf.cast(tf.size(y), loss_sum.dtype) * tf.add_n(model.losses)
            grads = tape.gradient(loss_sum, model.trainable_variables)
            grads = [tf.convert_to_tensor(g) for g in grads]  # the embedding's IndexedSlices, made dense
            top1, top5 = hits(probs, y)
            return tf.distribute.get_replica_context().all_reduce("SUM", [loss_sum, top1, top5, *grads])

        @tf.function(input_signature=[tf.TensorSpec([None, width], tf.int32), tf.TensorSpec([], tf.float32)])
        def train_step(rows, n_targets):
            summed = strategy.run(replica_step, args=(rows,))
            summed = [strategy.experimental_local_results(value)[0] for value in summed]
            # Outside the replica: the optimizer (and its clipping) sees the whole batch's mean gradient once.
            optimizer.apply([g / n_targets for g in summed[3:]], model.trainable_variables)
            return summed[:3]

        return train_step

    def held_out_scores(self) -> dict[str, float]:
        """val_loss / val_accuracy / val_top5 over the held-out tail, computed alike on every worker."""
        return self.score_held_out(stream.id_blocks(self.plan, self.plan.held_start))

    # --- agreement and resume -------------------------------------------------------------------------

    def _gather(self, value: int) -> list[int]:
        """Every worker's `value` (a collective: all workers call it together)."""
        import tensorflow as tf

        if self.cluster.n_workers == 1:
            return [value]

        @tf.function
        def gather(v):
            # An all-reduce of one-hot rows: all_gather of a host tensor fails ("destinations can not be empty").
            return self.strategy.run(lambda v: tf.distribute.get_replica_context().all_reduce("SUM", v * 1), args=(v,))

        row = np.zeros(self.cluster.n_workers, np.int64)
        row[self.cluster.worker] = value
        result = gather(tf.constant(row))
        return [int(v) for v in self.strategy.experimental_local_results(result)[0].numpy()]

    def barrier(self) -> None:
        self._gather(0)

    def resume(self, backups: Backups) -> None:
        """Continue from the newest epoch every worker has backed up (0: from the start)."""
        epoch = min(self._gather(backups.latest()))
        if epoch:
            backups.load(self, epoch)
            if self.verbose and self.cluster.is_chief:
                print(f"resuming after epoch {epoch} (backups in {backups.root.parent})", flush=True)


def hits(probs, y):
    """Top-1 and top-5 hit counts of a training batch, as the in-memory path's Keras metrics count them: a
    target's rank is how many words are strictly likelier (ties count for the target). The held-out scores
    are the runtime's (train/held_out.py)."""
    import tensorflow as tf

    target = tf.gather(probs, tf.cast(y, tf.int32), batch_dims=len(y.shape))
    rank = tf.reduce_sum(tf.cast(probs > target[..., None], tf.int32), axis=-1)
    return tf.reduce_sum(tf.cast(rank < 1, tf.float32)), tf.reduce_sum(tf.cast(rank < 5, tf.float32))


def fault_point(worker: int) -> tuple[int, int] | None:
    """The (epoch, step) at which a test asks this worker to be SIGKILLed (first launch only)."""
    spec = os.environ.get(FAULT_ENV, "")
    if not spec or os.environ.get(ATTEMPT_ENV, "0") != "0":
        return None
    who, epoch, step = (int(part) for part in spec.split(":"))
    return (epoch, step) if who == worker else None


def weights_digest(model) -> str:
    return hashlib.sha256(b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())).hexdigest()


class Backups:
    """One worker's per-epoch backups, in its own folder (no worker ever writes another's): epoch-N.npz holds
    the weights, the optimizer's variables, the best epoch's weights and the curves. Each file is written
    under a temporary name and renamed, so a kill leaves the previous epoch's file intact."""

    def __init__(self, root: Path, worker: int):
        self.root = root / f"worker-{worker}"

    def _epochs(self) -> list[int]:
        if not self.root.is_dir():
            return []
        names = (p.name for p in self.root.glob("epoch-*.npz"))
        return sorted(int(n[6:-4]) for n in names if n[6:-4].isdigit())

    def latest(self) -> int:
        epochs = self._epochs()
        return epochs[-1] if epochs else 0

    def save(self, run: Run) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        keep = run.keep_best
        meta = {
            "epoch": run.epoch,
            "stopped": run.stopped,
            "curves": run.curves,
            "best_epoch": keep.best_epoch,
            "best_value": keep.best_value,
            "config": run.config.to_json(),
        }
        arrays = {"meta": np.frombuffer(json.dumps(meta).encode(), np.uint8)}
        arrays |= {f"w{i}": w for i, w in enumerate(run.model.get_weights())}
        arrays |= {f"o{i}": np.asarray(v) for i, v in enumerate(run.optimizer.variables)}
        arrays |= {f"b{i}": w for i, w in enumerate(keep.best_weights or [])}
        final = self.root / f"epoch-{run.epoch}.npz"
        staging = self.root / f".epoch-{run.epoch}.{os.getpid()}.tmp.npz"
        with open(staging, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, final)
        for old in self._epochs()[:-KEEP_BACKUPS]:
            (self.root / f"epoch-{old}.npz").unlink(missing_ok=True)

    def load(self, run: Run, epoch: int) -> None:
        with np.load(self.root / f"epoch-{epoch}.npz") as data:
            meta = json.loads(data["meta"].tobytes())
            if meta["config"] != run.config.to_json():
                raise InputError(
                    f"the backups in {self.root.parent} are of another training run (config differs); "
                    "delete that folder to start afresh"
                )
            run.model.set_weights(numbered(data, "w"))
            for variable, value in zip(run.optimizer.variables, numbered(data, "o"), strict=True):
                variable.assign(value)
            best = numbered(data, "b")
        run.keep_best.best_weights = best or None
        run.keep_best.best_epoch, run.keep_best.best_value = meta["best_epoch"], meta["best_value"]
        run.curves, run.epoch, run.stopped = meta["curves"], meta["epoch"], meta["stopped"]

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        try:
            self.root.parent.rmdir()  # the last worker out removes the shared parent
        except OSError:
            pass


def numbered(data, prefix: str) -> list[np.ndarray]:
    """The arrays saved as prefix0, prefix1, ... in order."""
    keys = [k for k in data.files if k.startswith(prefix) and k[len(prefix) :].isdigit()]
    return [data[k] for k in sorted(keys, key=lambda k: int(k[len(prefix) :]))]


def main(argv: list[str] | None = None) -> int:
    """A launched worker: `python -m nextword.train.distributed SPEC.json` (written by nextword.train.launch)."""
    from nextword.runtime.cli import EXIT_BAD_INPUT
    from nextword.runtime.errors import NextwordError

    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text(encoding="utf-8"))
    try:
        train_stream(
            spec["corpus"],
            TrainConfig.from_dict(spec["config"]),
            spec["out"],
            force=spec["force"],
            verbose=spec["verbose"],
            distributed=True,
            backup_dir=spec["backup_dir"],
        )
    except NextwordError as exc:
        print(f"nextword train: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
