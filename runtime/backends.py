"""The two inference engines behind one call: ids [batch, context] int32 -> probabilities [batch, vocab] float32.

Names and shapes are read from the model, never assumed (an exported file is the contract). onnxruntime
sessions are safe to share between threads; LiteRT interpreters are not, so each thread gets its own.
"""

from __future__ import annotations

import threading

import numpy as np

from nextword.runtime.errors import CorruptModelError


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
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise CorruptModelError(f"model has {len(inputs)} inputs and {len(outputs)} outputs; expected 1 and 1")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name
        self.input_shape, self.output_shape = tuple(inputs[0].shape), tuple(outputs[0].shape)
        if inputs[0].type != "tensor(int32)" or outputs[0].type != "tensor(float)":
            raise CorruptModelError(f"model maps {inputs[0].type} -> {outputs[0].type}; expected int32 ids -> float probabilities")
        self._output_names = [self.output_name]

    def run(self, ids: np.ndarray) -> np.ndarray:
        try:
            return self.session.run(self._output_names, {self.input_name: ids})[0]
        except Exception as exc:  # a graph onnxruntime loaded can still fail inside an operator
            raise CorruptModelError(f"onnxruntime cannot run the model: {first_line(exc)}") from None


class LiteRTBackend:
    name = "tflite"

    def __init__(self, model_bytes: bytes, *, threads: int = 1):
        from nextword.runtime.tflite_graph import check_graph

        check_graph(model_bytes)  # wiring some LiteRT kernels would crash on, refused before LiteRT parses it
        self._model_bytes = model_bytes
        self._threads = threads
        self._local = threading.local()
        interpreter = self._interpreter()  # load once now, so a bad file fails at load, not at first call
        inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise CorruptModelError(f"model has {len(inputs)} inputs and {len(outputs)} outputs; expected 1 and 1")
        if inputs[0]["dtype"] != np.int32 or outputs[0]["dtype"] != np.float32:
            raise CorruptModelError(f"model maps {inputs[0]['dtype'].__name__} -> {outputs[0]['dtype'].__name__}; expected int32 ids -> float32 probabilities")
        self.input_name, self.output_name = signature_names(interpreter, inputs[0]["name"], outputs[0]["name"])
        self.input_shape = tuple(int(d) for d in inputs[0]["shape_signature"])
        self.output_shape = tuple(int(d) for d in outputs[0]["shape_signature"])
        self._input_index, self._output_index = inputs[0]["index"], outputs[0]["index"]
        if len(self.input_shape) == 2 and self.input_shape[1] > 0:
            # LiteRT prepares some operators only at the first invoke; a graph whose operators cannot
            # run must fail here, as a load error, not in the middle of an app's first prediction.
            self.run(np.zeros((1, self.input_shape[1]), dtype=np.int32))

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
        interpreter = self._interpreter()
        try:
            if self._local.batch != ids.shape[0]:  # resizing re-plans memory: only when the batch size changes
                interpreter.resize_tensor_input(self._input_index, ids.shape, strict=True)
                interpreter.allocate_tensors()
                self._local.batch = ids.shape[0]
            interpreter.set_tensor(self._input_index, ids)
            interpreter.invoke()
        except (RuntimeError, ValueError) as exc:  # LiteRT reports failing operators as RuntimeError
            self._local.batch = None  # the plan may be half-made: re-plan on the next call
            raise CorruptModelError(f"LiteRT cannot run the model: {first_line(exc)}") from None
        return interpreter.get_tensor(self._output_index)


def signature_names(interpreter, input_tensor: str, output_tensor: str) -> tuple[str, str]:
    """The converter names tensors after TF internals; the signature keeps the names the exporter chose."""
    signatures = interpreter.get_signature_list()
    if len(signatures) == 1:
        (signature,) = signatures.values()
        if len(signature["inputs"]) == 1 and len(signature["outputs"]) == 1:
            return signature["inputs"][0], signature["outputs"][0]
    return input_tensor, output_tensor


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


BACKENDS = {"onnx": OnnxBackend, "tflite": LiteRTBackend}
