#!/usr/bin/env bash
# Runs the test suite as two pytest processes side by side, so `make test` stays well
# under its 15 minutes on two cores. Why this split: the real-time suites (Chromium,
# sipp, baresip, Kamailio: tests/e2e) spend most of their time waiting on the clock
# and on other processes, the rest spends it on the CPU; run together they fill both
# cores without starving either. Each shard writes its own log, printed when both are
# done; the exit status is non-zero when either shard failed.
# Usage: scripts/test-shards.sh [python]   (extra pytest arguments: PYTEST_ARGS)
set -u
py=${1:-.venv/bin/python}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# shellcheck disable=SC2086
"$py" -m pytest tests/e2e ${PYTEST_ARGS:-} >"$logs/realtime.log" 2>&1 &
realtime=$!
# shellcheck disable=SC2086
"$py" -m pytest tests --ignore=tests/e2e ${PYTEST_ARGS:-} >"$logs/rest.log" 2>&1 &
rest=$!

wait "$realtime"; realtime_rc=$?
wait "$rest"; rest_rc=$?
for shard in realtime rest; do
  echo "=================== shard: $shard ==================="
  cat "$logs/$shard.log"
done
echo "shards: realtime exit $realtime_rc, rest exit $rest_rc"
[ "$realtime_rc" -eq 0 ] && [ "$rest_rc" -eq 0 ]
