"""TensorFlow backend: a ``tf.function`` train step by default, ``xla`` = ``jit_compile=True``,
``eager`` = no tf.function (for comparison only); CPU and GPU.

TF32 is switched off so every framework computes in float32. GPU memory grows on demand
instead of TensorFlow's default of reserving the whole card.
"""

from __future__ import annotations

import importlib.util
import os
from importlib.metadata import PackageNotFoundError, version

from benchsuite.backend import Backend, Model
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec

DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tf-nightly")


def import_tf():
    """TensorFlow, imported quietly and with Keras on its TensorFlow backend."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    return tf


def _tf_device(device: str) -> str:
    return "/GPU:0" if device == "cuda" else "/CPU:0"


class TensorFlowBackend(Backend):
    name = "tensorflow"
    install_hint = "pip install benchsuite[tensorflow]"
    packages = ("tensorflow",)
    variants = ("function", "xla", "eager")
    supported_devices = ("cpu", "cuda")

    def __init__(self) -> None:
        self._configured = False

    def is_available(self) -> bool:
        return importlib.util.find_spec("tensorflow") is not None

    def version(self) -> str | None:
        for dist in DISTRIBUTIONS:
            try:
                return version(dist)
            except PackageNotFoundError:
                continue
        return None

    def devices(self) -> list[str]:
        tf = import_tf()
        return ["cpu", "cuda"] if tf.config.list_physical_devices("GPU") else ["cpu"]

    def set_threads(self, threads: int) -> dict[str, int]:
        tf = import_tf()
        try:  # only possible before the TensorFlow runtime has started
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:
            pass
        return {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}

    def _configure(self):
        tf = import_tf()
        if not self._configured:
            tf.config.experimental.enable_tensor_float_32_execution(False)
            for gpu in tf.config.list_physical_devices("GPU"):
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # already initialised
                    pass
            self._configured = True
        return tf

    def environment(self) -> dict[str, object]:
        tf = self._configure()
        import keras

        build = dict(tf.sysconfig.get_build_info())
        info: dict[str, object] = {
            "version": tf.__version__, "keras": keras.__version__,
            "built_with_cuda": tf.test.is_built_with_cuda(),
            "cuda_build": build.get("cuda_version"), "cudnn_build": build.get("cudnn_version"),
            "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
        }
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            info["gpu"] = {"name": details.get("device_name"), "count": len(gpus),
                           "capability": details.get("compute_capability")}
        return info

    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        self._configure()
        from .model import TensorFlowModel

        return TensorFlowModel(spec, device, optimizer, variant or self.variants[0])

    def matmul(self, device: str, n: int):
        tf = self._configure()
        with tf.device(_tf_device(device)):
            a, b = tf.random.uniform((n, n)), tf.random.uniform((n, n))

        def run():
            with tf.device(_tf_device(device)):
                return tf.matmul(a, b)

        return run

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda":
            import_tf().config.experimental.reset_memory_stats("GPU:0")

    def peak_memory(self, device: str) -> int | None:
        if device != "cuda":
            return None
        return int(import_tf().config.experimental.get_memory_info("GPU:0")["peak"])

    def synchronize(self, device: str) -> None:
        """Wait for every queued op on every device (GPU kernels run asynchronously)."""
        tf = import_tf()
        tf.test.experimental.sync_devices()
