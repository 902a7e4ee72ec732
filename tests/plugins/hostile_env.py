"""A backend that runs fine but describes itself with values JSON cannot hold (item 7 of
issue 13): NaN, inf, a set, bytes, an object, a tuple key, a NumPy number, a lambda (which
cannot even be pickled back from a worker) and a cycle."""

from __future__ import annotations

import numpy as np

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque thing>"


class HostileEnvironment(FakeBackend):
    def environment(self):
        loop: list = []
        loop.append(loop)
        return {"version": "0.0-fake", "nan": float("nan"), "inf": float("-inf"),
                "set": {3, 1, 2}, "bytes": b"\xff\x00", "object": Opaque(),
                "tuple_key": {(1, 2): "pair"}, "np": np.float32(0.5), "fn": lambda: None,
                "loop": loop}


@hookimpl
def benchsuite_register_backends(register):
    register(HostileEnvironment("hostile-env"))
