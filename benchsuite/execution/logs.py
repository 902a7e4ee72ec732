"""A worker's output: its log file (framework chatter goes there, its tail is quoted when the
worker dies) and the frameworks' own loggers quieted where a framework loads into the CLI's
process (``--in-process``)."""

from __future__ import annotations

import os
import re
import time

#: What quiets the frameworks' own loggers (TensorFlow/XLA's C++ log, gRPC, glog) in the
#: CLI's process, where a framework is only imported with ``--in-process``; in a worker their
#: chatter goes to its log instead, where a crash's tail can quote it.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "GLOG_minloglevel": "3"}
QUIET_LOGGERS = ("tensorflow", "absl", "jax", "jax._src.xla_bridge")


def quiet_frameworks() -> None:
    """Before a framework is imported into the CLI's own process: its C++ logs below errors
    off (unless the user set them), its Python loggers at ERROR."""
    import logging

    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def redirect_output(log_path: str) -> None:
    """In a worker: stdout and stderr to ``log_path``, so framework chatter goes to the log,
    not over the parent's table (its tail is quoted when the worker dies)."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)


def log_name(backend: str) -> str:
    """A file name for ``backend``'s log that stays inside the log folder, whatever the name."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", backend).lstrip(".")[:40] or "backend"
    return f"{safe}-{time.monotonic_ns()}.log"
