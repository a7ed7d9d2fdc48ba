#!/usr/bin/env bash
# Runs the test suite as three pytest slots side by side, so `make test` stays well
# under its 15 minutes on two cores. Why this split: most of the suite waits on the
# clock, not the CPU (two slots used under one core of two on average; three took 10
# minutes where two took 14):
#   e2e:      the real-time suites with other processes (Chromium, sipp, baresip);
#   realtime: the in-process real-time suites (softphones, aiortc peers, the media
#             clock: tests/phone, tests/webrtc, tests/media, media workers included;
#             the phone suite with workers follows the e2e slot instead);
#   rest:     the CPU-bound rest at a lower priority (nice 10), so that it never delays
#             a real-time test's packets; then the e2e cluster suites (several nodes,
#             Kamailio: the longest e2e modules) at the normal priority.
# Each slot writes its own log, printed when all are done; the exit status is non-zero
# when any failed.
# Usage: scripts/test-shards.sh [python]   (extra pytest arguments: PYTEST_ARGS)
set -u
py=${1:-.venv/bin/python}
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

slot() {  # name, niceness, pytest arguments...
  local name=$1 niceness=$2
  shift 2
  # shellcheck disable=SC2086
  nice -n "$niceness" "$py" -m pytest "$@" ${PYTEST_ARGS:-} >"$logs/$name.log" 2>&1
  echo $? >"$logs/$name.rc"
}

realtime="tests/phone tests/webrtc tests/media"
cluster=$(echo tests/e2e/test_cluster*.py)
# The phone suite again with media workers (two more processes per test) follows the
# e2e slot, when the machine is quieter: beside the three slots its callers twice did
# not get in within 10 s in CI (twelfth session; the cause is not known yet, see
# docs/RELIABILITY.md), where it had passed after the e2e suite before.
workers="tests/phone/test_in_media_workers.py"
# shellcheck disable=SC2086
(slot e2e 0 tests/e2e $(printf -- ' --ignore=%s' $cluster)
  slot workers 0 $workers) &
# shellcheck disable=SC2086
slot realtime 0 $realtime --ignore=$workers &
# the rest is done first: the real-time cluster suites (several nodes) follow it
# shellcheck disable=SC2086
(slot rest 10 tests --ignore=tests/e2e $(printf -- ' --ignore=%s' $realtime)
  slot cluster 0 $cluster) &
wait

failed=0
for name in e2e workers realtime rest cluster; do
  echo "=================== shard: $name ==================="
  cat "$logs/$name.log"
  rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
  echo "shard $name: exit $rc"
  [ "$rc" -eq 0 ] || failed=1
done
exit $failed
