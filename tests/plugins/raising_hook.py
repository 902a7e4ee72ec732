"""Registers one backend, then raises: the partial registration must be dropped."""

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend


@hookimpl
def benchsuite_register_backends(register):
    register(FakeBackend("half-registered"))
    raise RuntimeError("registration blew up")
