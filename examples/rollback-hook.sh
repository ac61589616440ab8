#!/bin/sh
# A rollback hook for `loadgate gate --rollback-hook examples/rollback-hook.sh`: prints what loadgate
# passes it, then exits 0. Copy it and replace the last part with your rollback (kubectl rollout undo,
# a feature-flag switch, a deploy of the previous tag).
#
# loadgate runs it as an argv (no shell string), in its own process group, and kills the group after
# --hook-timeout (60s by default). Its exit status and last 20 lines of output are reported; a failing
# hook never changes loadgate's exit code, which is the verdict's.
set -eu

echo "loadgate verdict: ${LOADGATE_VERDICT} (loadgate exits ${LOADGATE_EXIT_CODE})"
echo "scenario:         ${LOADGATE_SCENARIO}"
echo "worst:            ${LOADGATE_WORST}"
# Empty when the file was not written: add `--format json --output FILE` and `--out FILE` to gate.
echo "JSON report:      ${LOADGATE_REPORT_JSON:-<not written>}"
echo "full result:      ${LOADGATE_RESULT_JSON:-<not written>}"
echo "arguments:        $*"

# Your rollback goes here, e.g.:
#   kubectl rollout undo "deployment/$1"
