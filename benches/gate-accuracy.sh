#!/usr/bin/env bash
# Measures the gate's accuracy through the product's own code path (docs/accuracy.md "How far to trust the
# verdict"): real runs of real services, unchanged and with a regression the service itself
# produces, then `examples/gate_accuracy.rs` records baselines from them as `record` does and gates
# candidates with the loop `gate` runs (confirmation and unstable-run rerun included).
#
#   benches/gate-accuracy.sh [SHAPE...]        (default: mix tail lowrate fast demo)
#
# Shapes: benches/shapes/*.toml against benches/shapes/server.py (a Python service: latency modes,
# a heavy tail, a low rate, a sub-millisecond CPU-bound endpoint), and scenarios/demo.toml against
# the built-in demo; `criterion` and `criterion-wall` (not in the default list) are a micro-benchmark
# suite, the criterion fixture crate (benches/shapes/criterion.toml; about 2 s a run).
# Per shape: A_RUNS unchanged runs (default 12), B_RUNS runs with every service
# time ×1.2 (default 6; F20 to change the factor) and C_RUNS ×1.1 (default 6; F10). COLLECT_ONLY=1 records the runs and stops. Each run takes ramp-up + duration (22 s);
# resumable (runs already on disk are kept). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
A_RUNS=${A_RUNS:-12}
B_RUNS=${B_RUNS:-6}
C_RUNS=${C_RUNS:-6}
root=${GATE_ACCURACY_DIR:-target/gate-accuracy}
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(mix tail lowrate fast demo)
# PROFILE=debug reuses a debug build (the verdicts are the same; only the runs of loadgate's own load
# are slower to produce).
profile=release build=(--release)
[ "${PROFILE:-release}" = debug ] && profile=debug build=()
cargo build "${build[@]}" --locked --quiet
bin=target/$profile/loadgate

# run_one SHAPE LABEL FACTOR INDEX: one run into $root/SHAPE/LABEL-INDEX.json, unless it exists.
run_one() {
  local shape=$1 label=$2 factor=$3 dir="$root/$1" out port pid
  out=$(printf '%s/%s-%02d.json' "$dir" "$label" "$4")
  mkdir -p "$dir"
  [ -s "$out" ] && return 0
  if [ "$shape" = criterion ] || [ "$shape" = criterion-wall ]; then
    # The fixture crate's criterion benchmark, its work per iteration ×factor by the code itself,
    # imported by loadgate's own importer. `criterion` times the benchmark thread's CPU, and
    # `criterion-wall` criterion's usual wall clock (the same runs, disturbed by other processes).
    # Absolute: criterion runs the benchmark in the fixture's folder and reads CARGO_TARGET_DIR too.
    local clock=cpu fixture=tests/fixtures/criterion-bench targets
    targets=$(realpath -m "$root/criterion-target")
    [ "$shape" = criterion-wall ] && clock=wall
    if CARGO_TARGET_DIR="$targets" LOADGATE_FIXTURE_FACTOR="$factor" LOADGATE_FIXTURE_CLOCK="$clock" \
      cargo bench --locked --quiet --manifest-path "$fixture/Cargo.toml" --bench work -- \
      --warm-up-time 0.2 --measurement-time 0.5 --sample-size 20 --nresamples 1000 --noplot \
      >/dev/null 2>"${out%.json}.log"; then
      "$bin" import criterion "$targets/criterion" --out "$out" --name shape-criterion \
        >/dev/null 2>>"${out%.json}.log" || true
    fi
    return 0
  fi
  if [ "$shape" = demo ]; then
    "$bin" run scenarios/demo.toml --demo --slowdown "$factor" --out "$out" >/dev/null 2>"${out%.json}.log" || true
    return 0
  fi
  rm -f "$dir/port"
  python3 benches/shapes/server.py --factor "$factor" >"$dir/port" &
  pid=$!
  for _ in $(seq 1 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
  port=$(head -n1 "$dir/port")
  "$bin" run "benches/shapes/$shape.toml" --target "http://127.0.0.1:$port" --out "$out" >/dev/null 2>"${out%.json}.log" || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

[ -n "${COLLECT_ONLY:-}" ] || cargo build "${build[@]}" --locked --quiet --example gate_accuracy
for shape in "${shapes[@]}"; do
  # Every service time ×1.2 / ×1.1 (the server scales all the time it spends on a request); the
  # example prints the change each case really produced, as a client measured it.
  f20=${F20:-1.2} f10=${F10:-1.1}
  # One run of each build in turn, so a slow drift or a busy spell of the machine falls on all
  # three builds alike instead of on one.
  for i in $(seq 1 "$A_RUNS"); do
    run_one "$shape" a 1.0 "$i"
    if [ $((i % 2)) -eq 0 ] && [ $((i / 2)) -le "$B_RUNS" ]; then run_one "$shape" b20 "$f20" $((i / 2)); fi
    if [ $((i % 2)) -eq 1 ] && [ $(((i + 1) / 2)) -le "$C_RUNS" ]; then run_one "$shape" b10 "$f10" $(((i + 1) / 2)); fi
  done
  scenario="benches/shapes/$shape.toml"
  [ "$shape" = demo ] && scenario=scenarios/demo.toml
  [ "$shape" = criterion-wall ] && scenario=benches/shapes/criterion.toml
  [ -n "${COLLECT_ONLY:-}" ] || "./target/$profile/examples/gate_accuracy" "$scenario" "$root/$shape"
done
