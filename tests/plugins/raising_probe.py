"""Backends whose cheap questions raise: ``is_available()`` or ``version()``."""

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend


class RaisingAvailable(FakeBackend):
    def is_available(self):
        raise RuntimeError("is_available exploded")


class RaisingVersion(FakeBackend):
    def version(self):
        raise RuntimeError("version exploded")


@hookimpl
def benchsuite_register_backends(register):
    register(RaisingAvailable("raise-available"))
    register(RaisingVersion("raise-version"))
