#!/usr/bin/env bash
# Installs the Debian packages a profile needs, only those that are missing.
#   base: what `make run` needs (a Python with venv)
#   test: what the test suite's real peers need
#   bench: what `make bench` compares against and loads with (Janus, wrk)
set -euo pipefail
profile=${1:-base}

need=()
case "$profile" in
  base)
    python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
    ;;
  test)
    command -v pg_isready >/dev/null || need+=(postgresql-client)
    # sipp is the real SIP peer of the phone tests; its RFC 2833 captures come with it
    command -v sipp >/dev/null || need+=(sip-tester)
    # kamailio: the registrar and digest-challenging trunk of the dial-out tests (tests/e2e/kamailio.py)
    [ -x /usr/sbin/kamailio ] || need+=(kamailio)
    # baresip, the second independent SIP phone of the interop matrix (tests/e2e/baresip.py)
    command -v baresip >/dev/null || need+=(baresip-core)
    # the browser tests drive Debian's Chromium with Playwright (never a downloaded one)
    [ -x /usr/bin/chromium ] || need+=(chromium)
    command -v chromedriver >/dev/null || need+=(chromium-driver)
    fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
    ;;
  bench)
    # Janus AudioBridge: the reference mixer of bench/side_by_side.py (bench/janus.py)
    [ -x /usr/bin/janus ] || need+=(janus)
    # wrk: the HTTP load of bench/web_api.py (issue 17)
    command -v wrk >/dev/null || need+=(wrk)
    ;;
  *) echo "unknown profile $profile" >&2; exit 2 ;;
esac

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing Debian packages: ${need[*]}"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO=sudo; else
    echo "need root to install: ${need[*]}" >&2; exit 1
  fi
else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
