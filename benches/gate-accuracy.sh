#!/usr/bin/env bash
# Measures the gate's accuracy (DESIGN.md §12 item 10): A/A false-critical rate and detection rates
# for injected regressions, on real recorded runs of the demo scenario altered directly.
#
#   benches/gate-accuracy.sh [RUNS] [SCENARIO]
#
# Records RUNS (default 35) independent runs of SCENARIO (default scenarios/demo.toml) against the
# built-in demo service, then `examples/gate_accuracy.rs` calibrates τ on the first 10 runs and judges
# every pair of the rest (25 runs → 300 A/A pairs), unaltered and with each injected regression.
# Takes RUNS × (ramp-up + duration) of wall time; loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-35}
scenario=${2:-scenarios/demo.toml}
dir=target/gate-accuracy
mkdir -p "$dir"
cargo build --release --locked --quiet --example gate_accuracy
cargo build --release --locked --quiet
for i in $(seq -w 1 "$runs"); do
  out="$dir/run-$i.json"
  [ -s "$out" ] && continue   # resumable
  ./target/release/loadgate run "$scenario" --demo --out "$out" >/dev/null
done
./target/release/examples/gate_accuracy "$scenario" "$dir"
