"""A backend that talks like a framework: on start (``set_threads``, where frameworks are
imported) and when probed for devices it writes to stderr from Python and from C (fd 2) and
logs a warning, as TensorFlow's cuInit probe and retracing warnings do."""

from __future__ import annotations

import logging
import os
import sys

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend

NOISE = "failed call to cuInit: INTERNAL: CUDA error (fake)"


def make_noise(where: str) -> None:
    print(f"python stderr: {NOISE} in {where}", file=sys.stderr, flush=True)
    os.write(2, f"E0000 cuda_platform.cc:52] {NOISE} in {where}\n".encode())
    logging.getLogger("tensorflow").warning("5 out of the last 5 calls triggered tf.function "
                                            "retracing (fake) in %s", where)


class NoisyBackend(FakeBackend):
    def set_threads(self, threads):
        make_noise("set_threads")
        return super().set_threads(threads)

    def devices(self):
        make_noise("devices")
        return super().devices()


@hookimpl
def benchsuite_register_backends(register):
    register(NoisyBackend("fake-noisy"))
