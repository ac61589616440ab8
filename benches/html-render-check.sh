#!/usr/bin/env bash
# Render check of the HTML report (issue 7): runs the demo scenario twice (the second with an injected
# regression), writes the comparison as HTML, and screenshots it with headless Chromium, so a human
# can look at the charts. Not part of CI: Chromium is a large install (Debian: apt-get install chromium).
#
# Usage: benches/html-render-check.sh [OUT_DIR]   (default: a new temp dir; prints the paths)
set -euo pipefail

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [[ -z "$browser" ]]; then
  echo "html-render-check: skipped: no headless Chromium found (Debian: apt-get install -y chromium)" >&2
  exit 0
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
cargo build --quiet --manifest-path "$root/Cargo.toml"
loadgate="$root/target/debug/loadgate"

"$loadgate" run "$root/scenarios/demo.toml" --demo --out "$out/base.json" >/dev/null
"$loadgate" run "$root/scenarios/demo.toml" --demo --slowdown 1.3 --spike-fraction 0.02 \
  --spike-delay 80ms --out "$out/run.json" >/dev/null
"$loadgate" report "$out/run.json" --baseline "$out/base.json" --format html --output "$out/report.html" >/dev/null

profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
  --screenshot="$out/report.png" --window-size=1280,4000 "file://$out/report.html" 2>/dev/null

size=$(wc -c <"$out/report.html")
echo "html-render-check: $out/report.html ($size bytes) -> $out/report.png; open the PNG and check that"
echo "every chart shows, its labels do not overlap and its legend is present."
