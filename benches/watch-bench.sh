#!/usr/bin/env bash
# The `loadgate watch` benchmark (docs/watch.md "Measured"): false rollbacks of an unchanged service
# over simulated windows with their 95% bound, the smallest error-rate rise caught at a given traffic,
# and the time from a certain breach to the rollback hook with the real binary on loopback.
#
#   benches/watch-bench.sh [--quick]        (full: ~3 minutes; --quick: ~30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
cargo run --release --locked --quiet --example watch_bench -- target/release/loadgate "$@"
