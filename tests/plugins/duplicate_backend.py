"""Claims the name of the built-in NumPy backend."""

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend


@hookimpl
def benchsuite_register_backends(register):
    register(FakeBackend("numpy"))
