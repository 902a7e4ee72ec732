#!/usr/bin/env python3
"""Gate a pull request with ``benchsuite ab`` on one machine: BASE_REF against this checkout.

    python benchmarks/ab_gate.py BASE_REF [--full] [ab options...]

The pull request is the checkout this script is in; run it with the Python whose frameworks
both sides are to use. Comparing two CI runs taken minutes or days apart on different runners
measures the runners as much as the code; here both versions are measured on this machine, in
the same minutes, repeat by repeat (``benchsuite ab``). Steps:

1. BASE_REF is checked out into a temporary git worktree; the pull request side is this
   checkout's working tree as it is (tracked and untracked files that git does not ignore,
   copied, so that building it never writes into the checkout);
2. two environments, ``base`` and ``pr``. By default *thin* ones: ``python -m venv
   --without-pip`` with a ``.pth`` file that puts this Python's site-packages after the venv's
   own (the frameworks are installed once and are the same versions on both sides), and each
   checkout installed into its venv without dependencies (non-editable: each side its own
   copy; checked: ``import benchsuite`` in each venv resolves to the venv's copy).
   ``--full`` installs each side fully from its own checkout, as CI installs it (for pull
   requests that change dependencies or ``constraints/ci.txt``);
3. a probe: one tiny numpy case in both environments, driven by the pull request's
   benchsuite. When the base side cannot run it (its benchsuite predates ``ab``, or the worker
   protocol changed) there is no gate: one line, exit 3;
4. ``benchsuite ab --base-python base/bin/python --python pr/bin/python --quick --markdown
   -o ab-results`` with the ab options given after BASE_REF (``-b``, ``-m``... pick cases;
   ``-o``, ``--repeats``, ``--min-time`` override the script's), the pull request's benchsuite
   driving; its table is printed and appended to ``$GITHUB_STEP_SUMMARY`` when that is set.

The temporary folder and worktree are removed at the end, also on failure, Ctrl-C or SIGTERM.
PYTHONPATH is not passed on (it would put one tree's code in both environments).

Exit status: ab's (0: no case slower or failed; 1: some case slower or failed; 2: bad input),
2 also when the gate cannot be set up (BASE_REF unknown, an install failed), 3: no gate, the
base cannot run the pull request's ab workers (``.github/workflows/benchmarks.yml`` turns that
into a warning). ``-h`` prints this.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_GATE = 3
#: ``--full``: the CI workflow's install command (PyTorch's CPU wheels, the pinned versions).
FULL = ["--extra-index-url", "https://download.pytorch.org/whl/cpu"]
#: The probe: one tiny case, two rounds; it shows whether both sides can serve ab workers.
PROBE = ["-b", "numpy", "-m", "logreg", "--mode", "infer", "--batch-size", "4",
         "--repeats", "2", "--min-time", "0.001", "--threads", "1", "--timeout", "300"]


class Stop(Exception):
    """One line to print and the exit status to leave with."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def environ() -> dict[str, str]:
    """The environment for every command: without PYTHONPATH, which would put one tree's
    code before each venv's own copy."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def stop(proc: subprocess.Popen) -> None:
    """A command this script is interrupted in: Ctrl-C reached it too (give it a moment),
    else SIGTERM (ab keeps what it finished, its workers go with it), then SIGKILL."""
    for send, wait in ((None, 2), (signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        if send is not None:
            proc.send_signal(send)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    with subprocess.Popen(cmd, cwd=cwd, env=environ(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) as proc:
        try:
            out, err = proc.communicate()
        except BaseException:
            stop(proc)
            raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def last_line(proc: subprocess.CompletedProcess) -> str:
    lines = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return lines[-1].strip() if lines else f"exit status {proc.returncode}"


def git(*args: str) -> subprocess.CompletedProcess:
    return run(["git", "-C", str(ROOT), *args])


def resolve(ref: str) -> str:
    """The commit BASE_REF names, or a Stop."""
    found = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if found.returncode or not found.stdout.strip():
        raise Stop(f"BASE_REF {ref!r} is not a commit of {ROOT} "
                   "(a branch not fetched yet? git fetch origin BRANCH)")
    return found.stdout.strip()


def copy_tree(dest: Path) -> None:
    """This checkout's working tree (tracked and untracked files git does not ignore)."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if listed.returncode:
        raise Stop(f"cannot list the files of {ROOT}: {last_line(listed)}")
    for name in dict.fromkeys(filter(None, listed.stdout.split("\0"))):
        src = ROOT / name
        if src.is_file():  # a tracked file deleted in the working tree is not there
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def shared_paths() -> list[str]:
    """This Python's site-packages: where the frameworks both thin environments use are."""
    paths = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        paths.append(site.getusersitepackages())
    return [p for p in dict.fromkeys(paths) if Path(p).is_dir()]


def pip_install(python: Path, src: Path, extra: list[str]) -> subprocess.CompletedProcess:
    """``src`` into the venv of ``python``, by this Python's pip. The build uses the
    setuptools the venv sees when it is recent enough (no download), else an isolated one."""
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", *extra]
    done = run([*cmd, "--no-build-isolation", "--check-build-dependencies", str(src)])
    return done if done.returncode == 0 else run([*cmd, str(src)])


def make_env(side: str, src: Path, venv: Path, full: bool) -> Path:
    """The ``side`` environment at ``venv`` with ``src`` installed: its Python."""
    python = venv / "bin" / "python"
    made = run([sys.executable, "-m", "venv", *([] if full else ["--without-pip"]), str(venv)])
    if made.returncode:
        raise Stop(f"cannot create the {side} venv: {last_line(made)}")
    if full:
        constraints = src / "constraints" / "ci.txt"
        extra = [*FULL, *(["-c", str(constraints)] if constraints.is_file() else [])]
        done = run([str(python), "-m", "pip", "install", "-q", *extra, f"{src}[all]"])
    else:
        purelib = run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        if purelib.returncode:
            raise Stop(f"the {side} venv's Python does not run: {last_line(purelib)}")
        # after the venv's own site-packages: its benchsuite comes first, then the frameworks
        (Path(purelib.stdout.strip()) / "ab_gate_shared.pth").write_text(
            "".join(f"{p}\n" for p in shared_paths()))
        # --ignore-installed: this Python's own benchsuite (seen through the .pth) is not ours
        done = pip_install(python, src, ["--no-deps", "--ignore-installed"])
    if done.returncode:
        raise Stop(f"cannot install the {side} checkout into its environment: {last_line(done)}")
    where = run([str(python), "-c", "import benchsuite; print(benchsuite.__file__)"], cwd=venv)
    if where.returncode or not Path(where.stdout.strip()).resolve().is_relative_to(
            venv.resolve()):
        raise Stop(f"the {side} environment imports benchsuite from "
                   f"{where.stdout.strip() or last_line(where)}, not from its own copy")
    return python


def check_base(python: Path, label: str, tmp: Path) -> None:
    """A Stop (exit 3) when the base cannot serve ab workers."""
    serve = run([str(python), "-c", "from benchsuite.execution.worker import serve"], cwd=tmp)
    if serve.returncode:
        raise Stop(f"no gate: the base ({label}) cannot run ab workers: its benchsuite has no "
                   f"worker serve() (it predates ab): {last_line(serve)}", NO_GATE)


def probe(driver: Path, base: Path, pr: Path, label: str, tmp: Path) -> None:
    """One tiny case in both environments: a Stop (exit 3) when the base side cannot run it
    for the pull request's driver; a pull request side that cannot is the gate's to report."""
    out = tmp / "probe"
    done = run([str(driver), "ab", "--base-python", str(base), "--python", str(pr), *PROBE,
                "-o", str(out)], cwd=tmp)
    files = sorted(out.glob("*.json"))
    if done.returncode not in (0, 1) or not files:
        raise Stop(f"the probe run of ab failed: {last_line(done)}")
    verdicts = json.loads(files[0].read_text())["ab"]["verdicts"]
    for v in verdicts:
        if v["verdict"] == "failed" and str(v.get("error")).startswith("base:"):
            first = str(v["error"]).strip().splitlines()[0]
            raise Stop(f"no gate: the base ({label}) cannot run the pull request's ab workers "
                       f"({first})", NO_GATE)


def gate(driver: Path, base: Path, pr: Path, ab_args: list[str]) -> tuple[int, str]:
    """The real ab run, its table streamed to this stdout: its exit status and output."""
    cmd = [str(driver), "ab", "--base-python", str(base), "--python", str(pr), "--quick",
           "--markdown", "-o", "ab-results", *ab_args]
    proc = subprocess.Popen(cmd, env=environ(), stdout=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    lines = []
    try:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
        return proc.wait(), "".join(lines)
    except BaseException:  # Ctrl-C, SIGTERM: ab keeps what it finished, then we clean up
        stop(proc)
        raise


def say(message: str) -> None:
    print(f"ab_gate: {message}", file=sys.stderr, flush=True)


def summary(text: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")


def _terminate(signum, frame):
    """SIGTERM stops the gate like Ctrl-C (as it stops benchsuite): cleaned up, exit 130."""
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    full = "--full" in argv
    args = [a for a in argv if a != "--full"]
    if not args or args[0].startswith("-"):
        raise Stop("usage: python benchmarks/ab_gate.py BASE_REF [--full] [ab options...]")
    ref, *ab_args = args
    sha = resolve(ref)
    label = f"{ref}, {sha[:10]}"
    mode = "full environments" if full else \
        f"thin environments over the site-packages of {sys.executable}"
    say(f"base {label} against this checkout ({ROOT}); {mode}")
    start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="ab-gate-"))
    worktree = tmp / "base-src"
    try:
        added = git("worktree", "add", "--detach", str(worktree), sha)
        if added.returncode:
            raise Stop(f"cannot check {label} out: {last_line(added)}")
        (tmp / "pr-src").mkdir()
        copy_tree(tmp / "pr-src")
        base = make_env("base", worktree, tmp / "base", full)
        check_base(base, label, tmp)
        pr = make_env("pr", tmp / "pr-src", tmp / "pr", full)
        driver = tmp / "pr" / "bin" / "benchsuite"
        say(f"environments ready in {time.monotonic() - start:.0f} s")
        probe(driver, base, pr, label, tmp)
        say(f"the base serves this driver's ab workers; gating ({time.monotonic() - start:.0f} s)")
        code, table = gate(driver, base, pr, ab_args)
        table = table.replace("\nresults: ", "\n\nresults: ")  # else a row of the table
        summary(f"### benchsuite ab: this pull request against {label}\n\n{table}\n"
                f"exit status {code}\n")
        return code
    except Stop as exc:
        if exc.code == NO_GATE:
            summary(f"ab_gate: {exc}\n")
        raise
    finally:  # a second Ctrl-C or SIGTERM does not leave half of it behind
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        git("worktree", "remove", "--force", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)
        git("worktree", "prune")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    try:
        sys.exit(main(sys.argv[1:]))
    except Stop as exc:
        say(f"{'' if exc.code == NO_GATE else 'error: '}{exc}")
        sys.exit(exc.code)
    except KeyboardInterrupt:
        say("interrupted; the temporary worktree and environments are removed")
        sys.exit(130)
