"""PyTorch backend: eager by default, ``compiled`` = torch.compile; CPU and CUDA.

Float32 throughout: TF32 is switched off for matmul and cuDNN so that every framework computes
at the same precision (and parity holds); cuDNN autotuning (``benchmark``) stays on, as
PyTorch's own performance guide recommends.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version

from benchsuite.backend import Backend, Model
from benchsuite.optim import Optimizer
from benchsuite.spec import ModelSpec


class TorchBackend(Backend):
    name = "torch"
    install_hint = "pip install benchsuite[torch]"
    packages = ("torch",)
    variants = ("eager", "compiled")
    supported_devices = ("cpu", "cuda")

    def is_available(self) -> bool:
        return importlib.util.find_spec("torch") is not None

    def version(self) -> str | None:
        try:
            return version("torch")
        except PackageNotFoundError:
            return None

    def devices(self) -> list[str]:
        import torch

        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]

    def set_threads(self, threads: int) -> dict[str, int]:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only allowed once, before any inter-op work
            pass
        return {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()}

    def environment(self) -> dict[str, object]:
        import torch

        info: dict[str, object] = {
            "version": torch.__version__,
            "mkldnn": torch.backends.mkldnn.is_available(),
            "openmp": torch.backends.openmp.is_available(),
            "cuda_build": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
            "parallel": [line.strip() for line in torch.__config__.parallel_info().splitlines()
                         if "threads" in line.lower() or "backend" in line.lower()],
        }
        if torch.cuda.is_available():
            props = torch.cuda.get_device_properties(0)
            info["gpu"] = {"name": props.name, "memory_gib": round(props.total_memory / 2**30, 2),
                           "capability": f"{props.major}.{props.minor}",
                           "count": torch.cuda.device_count()}
        return info

    def build(self, spec: ModelSpec, device: str, optimizer: Optimizer,
              variant: str | None = None) -> Model:
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = True
        from .model import TorchModel

        return TorchModel(spec, device, optimizer, variant or self.variants[0])

    def matmul(self, device: str, n: int):
        import torch

        a, b = torch.rand(n, n, device=device), torch.rand(n, n, device=device)
        return lambda: a @ b

    def reset_peak_memory(self, device: str) -> None:
        if device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()

    def peak_memory(self, device: str) -> int | None:
        if device != "cuda":
            return None
        import torch

        return int(torch.cuda.max_memory_allocated())

    def synchronize(self, device: str) -> None:
        """CUDA kernels are asynchronous: wait for them. CPU ops complete before returning."""
        if device == "cuda":
            import torch

            torch.cuda.synchronize()
