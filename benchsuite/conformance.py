"""The backend contract as executable checks (``benchsuite check-plugin``, ``benchsuite.testing``).

:func:`plan` turns a backend into a list of named checks, deciding up front (without importing
any framework) which ones cannot apply — a layer the backend does not declare, a model that
needs one — so those become ``skip`` rows with the reason. :func:`run_check` runs one check
(the functions are in :mod:`benchsuite.checks`, :mod:`benchsuite.synccheck` and
:mod:`benchsuite.conventions`) and always returns a :class:`CheckResult`:
whatever the backend raises becomes a ``fail`` row.
"""

from __future__ import annotations

import time

from benchsuite import checks as _checks
from benchsuite import conventions, synccheck
from benchsuite.backend import Backend
from benchsuite.checks import L2_OPTIMIZER, OPTIMIZERS, layer_probes
from benchsuite.checkspec import CheckFailed, CheckResult, CheckSkipped, Context, Planned
from benchsuite.spec import ModelSpec

__all__ = ["CHECKS", "CheckResult", "Context", "Planned", "plan", "run_check"]

CHECKS = {"registration": _checks.check_registration,
          "capabilities": _checks.check_capabilities, "weights": _checks.check_weights,
          "steps": _checks.check_steps, "determinism": _checks.check_determinism,
          "parity": _checks.check_parity, "gradients": _checks.check_gradients,
          "synchronize": synccheck.check_synchronize, "stage": conventions.check_stage,
          "resets": conventions.check_resets, "relu": conventions.check_relu,
          "maxpool": conventions.check_maxpool, "epoch": conventions.check_epoch}
#: Kinds that compare computed numbers: skipped for a backend declaring ``computes=False``.
COMPUTING = ("parity", "determinism", "gradients", "resets", "relu", "maxpool")


# -- the plan --------------------------------------------------------------------------------

def plan(backend: Backend, models: dict[str, ModelSpec | str],
         devices: list[str]) -> list[Planned]:
    """Every check for ``backend`` on ``devices``; ``models`` are the registered models built at
    the check input shape (or why one cannot be). Needs no framework import."""
    def skip(spec: ModelSpec | str) -> str | None:
        return spec if isinstance(spec, str) else backend.unsupported_reason(spec)

    built = {n: s for n, s in models.items() if isinstance(s, ModelSpec)}
    supported = {n: s for n, s in built.items() if skip(s) is None}
    checks = [Planned("registration", "registration"),
              Planned("capabilities", "capabilities", specs=tuple(built.values()))]
    for dev in devices:
        at = f" [{dev}]" if len(devices) > 1 else ""
        if dev not in backend.supported_devices:
            checks.append(Planned(f"device {dev}", "none", skip=f"{backend.name} does not "
                                  f"declare {dev} (supported_devices)"))
            continue
        specs = tuple(supported.values())
        none = None if specs else "no registered model uses only layers this backend declares"
        probes = tuple(p for p in layer_probes().values()
                       if backend.unsupported_reason(p) is None)
        checks += [Planned(f"weights round-trip{at}", "weights", dev, specs, skip=none),
                   Planned(f"train_step/predict shapes{at}", "steps", dev, specs, skip=none),
                   Planned(f"determinism{at}", "determinism", dev, specs, skip=none),
                   Planned(f"gradients{at}", "gradients", dev, probes + specs, skip=none),
                   Planned(f"synchronize blocks{at}", "synchronize", dev, specs[-1:],
                           skip=none),
                   Planned(f"stage returns a pair{at}", "stage", dev, specs, skip=none),
                   Planned(f"set_weights resets optimizer{at}", "resets", dev, specs[:1],
                           skip=none),
                   _probed(backend, f"relu'(0) = 0{at}", "relu", dev,
                           tuple(conventions.relu_probes().values())),
                   _probed(backend, f"max-pool ties{at}", "maxpool", dev,
                           (conventions.pool_probe(),)),
                   Planned(f"training epoch{at}", "epoch", dev, specs[-1:], skip=none)]
        for label, probe in layer_probes().items():
            checks.append(Planned(f"parity layer {label}{at}", "parity", dev, (probe,),
                                  skip=backend.unsupported_reason(probe)))
        first = next(iter(models), None)
        for name, spec in models.items():
            specs = (spec,) if isinstance(spec, ModelSpec) else ()
            for opt in [*OPTIMIZERS, *(L2_OPTIMIZER if name == first else ())]:
                checks.append(Planned(f"parity model {name} ({opt}){at}", "parity", dev,
                                      specs, opt, skip=skip(spec)))
    return checks


def _probed(backend: Backend, name: str, kind: str, device: str,
            probes: tuple[ModelSpec, ...]) -> Planned:
    """A check on the probes ``backend`` declares the layers of; skipped, with the first
    probe's reason, when it declares none of them."""
    specs = tuple(p for p in probes if backend.unsupported_reason(p) is None)
    return Planned(name, kind, device, specs,
                   skip=None if specs else backend.unsupported_reason(probes[0]))


def run_check(ctx: Context, check: Planned) -> CheckResult:
    """Run one planned check; every exception from the backend becomes a ``fail`` row."""
    if check.skip:
        return CheckResult(check.name, "skip", check.skip)
    t0 = time.perf_counter()
    try:
        if check.device is not None and check.device not in ctx.devices():
            raise CheckSkipped(f"no {check.device} device here (devices(): {ctx.devices()})")
        if not ctx.backend.computes and check.kind in COMPUTING:
            raise CheckSkipped(f"{ctx.backend.name} declares computes=False")
        status, detail = "pass", CHECKS[check.kind](ctx, check)
    except CheckSkipped as exc:
        status, detail = "skip", str(exc)
    except CheckFailed as exc:
        status, detail = "fail", str(exc)
    except Exception as exc:
        status, detail = "fail", f"raised {type(exc).__name__}: {exc}"
    return CheckResult(check.name, status, detail, time.perf_counter() - t0)


# -- the checks --------------------------------------------------------------------------------
