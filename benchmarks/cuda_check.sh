#!/usr/bin/env bash
# The CUDA paths of every backend, checked in one pass on a machine with an NVIDIA GPU.
#
#   bash benchmarks/cuda_check.sh [OUT]      (OUT defaults to $OUT, else ./cuda-check)
#
# Run it from the repository root with benchsuite and the frameworks installed (their CUDA
# builds); PYTHON picks the interpreter (default python3). Two phases:
#   1. the functional checks, side by side (a GPU machine has the cores for it): list --probe,
#      the `gpu` tests and verify on cuda;
#   2. then one at a time: check-plugin per backend on cuda, the default run on cuda and its
#      report, and an A/A `ab` (the same Python on both sides) on the convnet.
# Each step has its own time limit so that one hang cannot eat the others; every step runs even
# when another failed, and the summary at the end names each step's exit status and seconds.
# Left in OUT: log.txt (every step's output, in order), results/ (the run's file),
# report.tar.gz (its HTML report), verify.json, ab/ (the A/A file).
set -u
out=${1:-${OUT:-./cuda-check}}
mkdir -p "$out"
py=${PYTHON:-python3}
logs=$(mktemp -d)
export PYTHONUNBUFFERED=1

step() {  # step NAME SECONDS COMMAND...: COMMAND under a time limit into logs/NAME; status kept
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    { echo "=== $name (limit ${limit}s): $*"
      timeout --kill-after=10 "$limit" "$@" 2>&1
      echo "=== $name: exit $? after $((SECONDS - start)) s"; } >"$logs/$name" 2>&1
}

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  $py -c 'import sys; print(sys.version)'; uptime; nproc
  $py - <<'EOF'
from importlib.metadata import PackageNotFoundError, version
for name in ("torch", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "optax",
             "tensorflow", "nvidia-ml-py", "numpy"):
    try:
        print(f"{name} {version(name)}")
    except PackageNotFoundError:
        print(f"{name} (not installed)")
EOF
} >"$logs/0-machine" 2>&1

# The backends that declare cuda and are installed here (TensorFlow may be missing).
names=$($py -c 'import importlib.util as u
print(" ".join(n for n in ("torch", "jax", "tensorflow") if u.find_spec(n)))')
backends=$(for n in $names; do printf -- '-b %s ' "$n"; done)

# Phase 1: functional, side by side.
step 1-list 120 $py -m benchsuite list --probe &
step 2-pytest-gpu 200 $py -m pytest -m gpu -q -p no:cacheprovider tests &
step 3-verify 200 sh -c "$py -m benchsuite verify --device cuda $backends --json \
    >'$out/verify.json'; st=\$?; tail -c 3000 '$out/verify.json'; exit \$st" &
wait

# Phase 2, one at a time: the plugin checks (their synchronize check is timed, and a timing
# taken beside other work is inconclusive), the default run and its report, an A/A ab.
for n in $names; do
    step "4-check-$n" 200 $py -m benchsuite check-plugin "$n" --device cuda
done
step 5-run-cuda 240 $py -m benchsuite run --device cuda $backends -o "$out/results"
step 6-report 60 $py -m benchsuite report "$out/results" -o "$out/report"
tar -czf "$out/report.tar.gz" -C "$out" report 2>/dev/null && rm -rf "$out/report"
step 7-ab-aa 120 $py -m benchsuite ab --device cuda $backends -m convnet --mode train --quick \
    --base-python "$(command -v $py)" --python "$(command -v $py)" -o "$out/ab"

cat "$logs"/* >"$out/log.txt"
echo "=== summary" | tee -a "$out/log.txt"
grep -h '^=== .*: exit' "$logs"/* | tee -a "$out/log.txt"
rm -rf "$logs"
