"""What the contract checks share: the result row, a planned check, and the context the checks
of one backend run in (the backend, its variant, the oracle). See :mod:`benchsuite.conformance`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from benchsuite import parity
from benchsuite.backend import Backend
from benchsuite.spec import ModelSpec


class CheckFailed(Exception):
    """A contract violation; the message is the reason shown in the table."""


class CheckSkipped(Exception):
    """The check cannot apply here (e.g. the device is not present)."""


@dataclass(frozen=True)
class CheckResult:
    """One row of the conformance table: ``status`` is ``pass``, ``fail`` or ``skip``."""

    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Planned:
    """A check to run: ``kind`` names the function, the rest are its arguments."""

    name: str
    kind: str
    device: str | None = None
    specs: tuple[ModelSpec, ...] = ()
    optimizer: str = "sgd+momentum"
    skip: str | None = None


@dataclass
class Context:
    """What the checks of one backend share: the backend, its variant, the oracle."""

    backend: Backend
    variant: str | None = None
    oracle: Backend | None = None
    registered_by: str | None = None
    _devices: list[str] | None = None
    _reference: parity.Reference | None = field(default=None, repr=False)

    def devices(self) -> list[str]:
        if self._devices is None:
            self._devices = list(self.backend.devices())
        return self._devices

    def reference(self) -> parity.Reference:
        if self.oracle is None:
            raise CheckSkipped(f"the {parity.ORACLE!r} oracle backend is not installed")
        if self._reference is None:
            self._reference = parity.Reference(self.oracle)
        return self._reference
