#!/bin/sh
# Prints the cumulative request and error counts of the load balancer as one JSON object, for
# `loadgate watch` (examples/watch/command.toml). Here from AWS CloudWatch: the sums since the
# deploy began ($WATCH_SINCE, ISO 8601), which only grow, as counters do.
set -eu
since=${WATCH_SINCE:?set WATCH_SINCE to the deploy time, e.g. $(date -u +%FT%TZ)}
now=$(date -u +%FT%TZ)
sum() {
  aws cloudwatch get-metric-statistics --namespace AWS/ApplicationELB --metric-name "$1" \
    --dimensions "Name=LoadBalancer,Value=${LOAD_BALANCER:?set LOAD_BALANCER}" \
    --start-time "$since" --end-time "$now" --period 86400 --statistics Sum \
    --query 'sum(Datapoints[].Sum)' --output text
}
printf '{"requests": %s, "errors": %s}\n' "$(sum RequestCount)" "$(sum HTTPCode_Target_5XX_Count)"
