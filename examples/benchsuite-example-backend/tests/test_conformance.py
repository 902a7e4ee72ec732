"""The example backend honours the benchsuite contract (the same checks as check-plugin)."""

from benchsuite.testing import assert_backend_conforms


def test_example_backend_conforms():
    results = assert_backend_conforms("example")
    skipped = {r.name: r.detail for r in results if r.status == "skip"}
    assert "does not support layer(s): Conv2D, MaxPool2D" in skipped["parity model convnet (adam)"]
