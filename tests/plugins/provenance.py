"""A model registered under its own name but built from logreg(), and a backend that names its
framework's distribution (click stands in for one: installed, and not in the core's list)."""

from benchsuite import hookimpl
from tests.plugins.fake_backends import FakeBackend


class FrameworkBackend(FakeBackend):
    packages = ("click",)


@hookimpl
def benchsuite_register_backends(register):
    register(FrameworkBackend("framework-fake"))


@hookimpl
def benchsuite_register_models(register):
    def mine(input_shape=(8, 8, 1), classes=10):
        from benchsuite.spec import logreg

        return logreg(input_shape=input_shape, classes=classes)  # its spec says "logreg"

    register("mine", mine, "a plugin's model that reuses logreg's spec")
