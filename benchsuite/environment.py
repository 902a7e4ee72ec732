"""The environment fingerprint stored with every run: what machine, what software, what threads."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import benchsuite

THREAD_VARS = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES",
)
PACKAGES = ("numpy", "pandas", "pluggy", "scikit-learn", "threadpoolctl", "torch", "tensorflow",
            "jax", "jaxlib", "optax")


def usable_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8", "neon", "asimd",
              "sve")


def cpu_flags() -> list[str]:
    """The vector-instruction flags that decide which kernels BLAS/oneDNN can use."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                present = set(line.split(":", 1)[1].split())
                return [f for f in SIMD_FLAGS if f in present]
    except OSError:
        pass
    return []


def gpus() -> list[dict[str, object]] | None:
    """NVIDIA GPUs through nvidia-ml-py, when it is installed (None otherwise)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: say so rather than fail the run
        return []
    try:
        driver = pynvml.nvmlSystemGetDriverVersion()
        out = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            out.append({"name": pynvml.nvmlDeviceGetName(h), "driver": driver,
                        "memory_gib": round(pynvml.nvmlDeviceGetMemoryInfo(h).total / 2**30, 2)})
        return out
    finally:
        pynvml.nvmlShutdown()


def gpu_names() -> list[str]:
    """Names of the NVIDIA GPUs on this machine: NVML when nvidia-ml-py is installed, else
    ``nvidia-smi -L``; [] when neither finds one."""
    found = gpus()
    if found is not None:
        return [str(g["name"]) for g in found]
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10,
                             check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    # "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"
    return [line.split(":", 1)[1].split(" (UUID")[0].strip()
            for line in out.splitlines() if line.startswith("GPU ") and ":" in line]


#: Why each framework finds no GPU on a machine that has one, and what to do about it.
BLIND_HINTS = {
    "torch": "a CPU-only build (+cpu wheel) or a driver older than its CUDA runtime; "
             "CUDA builds: pytorch.org",
    "tensorflow": "plain tensorflow finds CUDA only when it is installed system-wide: "
                  "pip install 'benchsuite[gpu]' (tensorflow[and-cuda])",
    "jax": "plain jax has no CUDA plugin: pip install 'benchsuite[gpu]' (jax[cuda12])",
}


def gpu_blind_reason(framework: str, devices_found: list[str] | None, gpus_present: list[str],
                     supported: tuple[str, ...] = ("cpu", "cuda")) -> str | None:
    """One line saying that ``framework`` sees no GPU although the machine has one, and why;
    None when there is nothing to say (no GPU, not probed, found, or no CUDA support)."""
    if not gpus_present or devices_found is None or "cuda" in devices_found \
            or "cuda" not in supported:
        return None
    hint = BLIND_HINTS.get(framework, "its build has no CUDA support or cannot load CUDA")
    return f"{framework} sees no GPU although this machine has {', '.join(gpus_present)}: {hint}"


def git_revision() -> str | None:
    """The commit benchsuite runs from, when it runs from a git checkout."""
    here = Path(benchsuite.__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def package_versions(extra: Iterable[str] = ()) -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` and of ``extra`` (those not installed left out)."""
    found = {}
    for name in dict.fromkeys((*PACKAGES, *extra)):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def fingerprint(packages: Iterable[str] = ()) -> dict[str, object]:
    """Machine and software facts (``packages``: distributions to record besides
    :data:`PACKAGES`, the frameworks of the run's backends); backends add their own under
    ``backends`` at run time."""
    import psutil

    return {
        "hostname": platform.node(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "machine": platform.machine(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "cores_usable": usable_cores(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 2),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "benchsuite_version": benchsuite.__version__,
        "git_revision": git_revision(),
        "packages": package_versions(packages),
        "thread_env": {k: os.environ[k] for k in THREAD_VARS if k in os.environ},
        "gpus": gpus(),
        "backends": {},
    }


def hardware(env: dict) -> str | None:
    """A fingerprint's hardware in one line: CPU model × usable cores, and its GPUs."""
    if not env.get("cpu"):
        return None
    gpus = ", ".join(str(g.get("name")) for g in env.get("gpus") or [])
    return f"{env['cpu']} ×{env.get('cores_usable')}" + (f" + {gpus}" if gpus else "")
