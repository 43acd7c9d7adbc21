"""The two inference engines behind one call: ids [batch, context] int32 -> probabilities [batch, vocab] float32,
or, for the sequence kind, a step: (ids [batch, n], state [batch, S]) -> top-k, new state (and probabilities).

Names and shapes are read from the model, never assumed: outputs are told apart by dtype and shape
(the probabilities, and, when the graph has them, the top-k probabilities and ids; see
runtime/contract.py). onnxruntime sessions are safe to share between threads; LiteRT interpreters are
not, so each thread gets its own.
"""

from __future__ import annotations

import threading

import numpy as np
from nextword.runtime.errors import CorruptModelError
from nextword.runtime.signature import Port, read_signature


class OnnxBackend:
    name = "onnx"

    def __init__(self, model_bytes: bytes, *, threads: int = 1):
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Single-request latency: a 2-step LSTM is too small to win anything from parallel operators,
        # and spinning worker threads only steal the core from the app that embeds us.
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: warnings about unused initializers are noise for users
        try:
            # From bytes, so the file we checked is the file that runs (no second read of the path).
            self.session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise CorruptModelError(f"onnxruntime cannot load the model: {first_line(exc)}") from None
        onnx_dtypes = {"tensor(int32)": "int32", "tensor(float)": "float32"}
        try:
            inputs = [Port(i.name, onnx_dtypes.get(i.type, i.type), tuple(i.shape)) for i in self.session.get_inputs()]
            outputs = [
                Port(o.name, onnx_dtypes.get(o.type, o.type), tuple(o.shape)) for o in self.session.get_outputs()
            ]
        except ValueError as exc:  # e.g. a name that is not UTF-8: onnxruntime does not check, Python must decode
            raise CorruptModelError(
                f"onnxruntime cannot read the model's inputs and outputs: {first_line(exc)}"
            ) from None
        self.input_name, self.input_shape, self.roles = read_signature(inputs, outputs)
        self.output_name, self.output_shape = self.roles.probs.name, self.roles.probs.shape
        self._probs_names = [self.output_name]
        self._top_names = [self.roles.top_probs.name, self.roles.top_ids.name] if self.roles.top_k else None
        if self.roles.state is not None:
            self._step_names = [*self._top_names, self.roles.state_out.name]
            self._step_full_names = [*self._step_names, self.output_name]

    def run(self, ids: np.ndarray) -> np.ndarray:
        """ids [batch, context] -> probabilities [batch, vocab]."""
        return self._run(self._probs_names, ids)[0]

    def run_top(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ids -> (top probabilities, top ids), each [batch, top_k], from the graph's own TopK."""
        return tuple(self._run(self._top_names, ids))

    def step(self, ids: np.ndarray, state: np.ndarray, *, full: bool = False) -> tuple:
        """Sequence kind: (ids [batch, n], state [batch, S]) -> (top_probs, top_ids, state_out, probs or None)."""
        try:
            out = self.session.run(
                self._step_full_names if full else self._step_names, {self.input_name: ids, self._state_name: state}
            )
        except Exception as exc:
            raise CorruptModelError(f"onnxruntime cannot run the model: {first_line(exc)}") from None
        return (*out, None) if not full else tuple(out)

    @property
    def _state_name(self) -> str:
        return self.roles.state.name

    def _run(self, names, ids):
        try:
            return self.session.run(names, {self.input_name: ids})
        except Exception as exc:  # a graph onnxruntime loaded can still fail inside an operator
            raise CorruptModelError(f"onnxruntime cannot run the model: {first_line(exc)}") from None


class LiteRTBackend:
    name = "tflite"

    def __init__(self, model_bytes: bytes, *, threads: int = 1):
        # The graph was checked against the allowlist of its kind before this (runtime/model_check.py).
        self._model_bytes = model_bytes
        self._threads = threads
        self._local = threading.local()
        interpreter = self._interpreter()  # load once now, so a bad file fails at load, not at first call

        def ports(details):
            return [
                Port(d["name"], np.dtype(d["dtype"]).name, tuple(int(n) for n in d["shape_signature"])) for d in details
            ]

        try:
            input_details, output_details = interpreter.get_input_details(), interpreter.get_output_details()
        except ValueError as exc:  # e.g. a tensor name that is not UTF-8
            raise CorruptModelError(f"LiteRT cannot read the model's inputs and outputs: {first_line(exc)}") from None
        self.input_name, self.input_shape, self.roles = read_signature(ports(input_details), ports(output_details))
        self.output_name, self.output_shape = self.roles.probs.name, self.roles.probs.shape
        fixed = self.input_shape[0] if self.input_shape else None
        if isinstance(fixed, int) and fixed > 0:  # a fixed-batch file (export --tflite-batch1): LiteRT cannot resize
            self.run, self.run_top, self.step = (_by_rows(fixed, f) for f in (self.run, self.run_top, self.step))
        index = {d["name"]: d["index"] for d in (*input_details, *output_details)}
        if len(index) != len(input_details) + len(output_details):
            raise CorruptModelError("model has two inputs or outputs with the same name")
        self._input_index, self._output_index = index[self.input_name], index[self.output_name]
        if self.roles.top_k:
            self._top_indices = (index[self.roles.top_probs.name], index[self.roles.top_ids.name])
        if self.roles.state is not None:
            self._state_index, self._state_out_index = index[self.roles.state.name], index[self.roles.state_out.name]
            width, steps = self.roles.state.shape[-1], self.input_shape[-1]
            if len(self.input_shape) == 2 and steps > 0 and len(self.roles.state.shape) == 2 and width > 0:
                self.step(np.zeros((1, steps), np.int32), np.zeros((1, width), np.float32), full=True)  # as below
        elif len(self.input_shape) == 2 and self.input_shape[1] > 0:
            # LiteRT prepares some operators only at the first invoke; a graph whose operators cannot
            # run must fail here, as a load error, not in the middle of an app's first prediction.
            self.run(np.zeros((1, self.input_shape[1]), dtype=np.int32))
            if self.roles.top_k:
                self.run_top(np.zeros((1, self.input_shape[1]), dtype=np.int32))

    def _interpreter(self):
        """This thread's interpreter: LiteRT's Interpreter must not be invoked from two threads at once."""
        interpreter = getattr(self._local, "interpreter", None)
        if interpreter is None:
            from ai_edge_litert.interpreter import Interpreter

            try:
                # model_content (not model_path) makes LiteRT run its flatbuffer verifier on the bytes.
                interpreter = Interpreter(model_content=self._model_bytes, num_threads=self._threads)
                interpreter.allocate_tensors()
            except Exception as exc:
                raise CorruptModelError(f"LiteRT cannot load the model: {first_line(exc)}") from None
            self._local.interpreter = interpreter
            self._local.batch = None
        return interpreter

    def run(self, ids: np.ndarray) -> np.ndarray:
        """ids [batch, context] -> probabilities [batch, vocab]."""
        interpreter = self._invoke(ids)
        try:
            return interpreter.get_tensor(self._output_index)
        except ValueError as exc:  # an output LiteRT left unallocated ("Tensor data is null")
            raise CorruptModelError(f"LiteRT cannot run the model: {first_line(exc)}") from None

    def run_top(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """ids -> (top probabilities, top ids), each [batch, top_k], from the graph's own TopK."""
        interpreter = self._invoke(ids)
        try:
            return interpreter.get_tensor(self._top_indices[0]), interpreter.get_tensor(self._top_indices[1])
        except ValueError as exc:
            raise CorruptModelError(f"LiteRT cannot run the model: {first_line(exc)}") from None

    def step(self, ids: np.ndarray, state: np.ndarray, *, full: bool = False) -> tuple:
        """Sequence kind: (ids [batch, n], state [batch, S]) -> (top_probs, top_ids, state_out, probs or None)."""
        interpreter = self._invoke(ids, state)
        try:
            get = interpreter.get_tensor
            probs = get(self._output_index) if full else None
            return get(self._top_indices[0]), get(self._top_indices[1]), get(self._state_out_index), probs
        except ValueError as exc:
            raise CorruptModelError(f"LiteRT cannot run the model: {first_line(exc)}") from None

    def _invoke(self, ids: np.ndarray, state: np.ndarray | None = None):
        interpreter = self._interpreter()
        try:
            if self._local.batch != ids.shape:  # resizing re-plans memory: only when the input shape changes
                interpreter.resize_tensor_input(self._input_index, ids.shape, strict=True)
                if state is not None:
                    interpreter.resize_tensor_input(self._state_index, state.shape, strict=True)
                interpreter.allocate_tensors()
                self._local.batch = ids.shape
            interpreter.set_tensor(self._input_index, ids)
            if state is not None:
                interpreter.set_tensor(self._state_index, state)
            interpreter.invoke()
        except (RuntimeError, ValueError) as exc:  # LiteRT reports failing operators as RuntimeError
            self._local.batch = None  # the plan may be half-made: re-plan on the next call
            raise CorruptModelError(f"LiteRT cannot run the model: {first_line(exc)}") from None
        return interpreter


def _by_rows(batch: int, call):
    """call(ids, *more) on a graph that takes exactly `batch` rows: run larger inputs a slice at a time and
    join the outputs (an array, or a tuple of arrays and Nones), so callers never see the fixed batch."""

    def sliced(ids, *more, **options):
        if len(ids) == batch:
            return call(ids, *more, **options)
        if not len(ids) or len(ids) % batch:
            raise CorruptModelError(f"model takes batches of exactly {batch}; cannot run {len(ids)} rows")
        parts = [
            call(ids[r : r + batch], *(m[r : r + batch] for m in more), **options) for r in range(0, len(ids), batch)
        ]
        if not isinstance(parts[0], tuple):
            return np.concatenate(parts)
        return tuple(None if part is None else np.concatenate([p[i] for p in parts]) for i, part in enumerate(parts[0]))

    return sliced


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


BACKENDS = {"onnx": OnnxBackend, "tflite": LiteRTBackend}
