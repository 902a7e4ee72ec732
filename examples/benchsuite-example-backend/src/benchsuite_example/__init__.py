"""benchsuite plugin: registers the ``example`` backend. Nothing heavy is imported here, so
``benchsuite list`` stays instant."""

from benchsuite import hookimpl


@hookimpl
def benchsuite_register_backends(register):
    from benchsuite_example.backend import ExampleBackend

    register(ExampleBackend())
