#!/usr/bin/env bash
# A cluster on one machine (issue 16, F-SC2; docs/CLUSTER.md): N `confero serve` nodes on
# one PostgreSQL database and one Redis, behind Kamailio running deploy/kamailio.cfg as
# shipped (its address, port and node list given with -A). For trying the cluster out,
# not for production: every address is 127.0.0.1. Ctrl-C stops everything it started.
#
#   make cluster                      three nodes, Kamailio on 127.0.0.1:5060 (or a free port)
#   CLUSTER_NODES=2 make cluster
#   CONFERO_REDIS_URL= make cluster   plain nodes without Redis (dispatching needs none)
#
# Node i: CONFERO_NODE_ID=node<i>, HTTP 8080+i, SIP 5070+i; logs in var/cluster/node<i>.log.
# Files and recordings live in var/cluster/data, shared by the nodes (on several machines
# that is shared storage). The secret the nodes share is generated once, var/cluster/secret.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PY="${PY:-$ROOT/.venv/bin/python}"
KAMAILIO="${KAMAILIO:-$(command -v kamailio || echo /usr/sbin/kamailio)}"
NODES="${CLUSTER_NODES:-3}"
VAR="$ROOT/var/cluster"
DB_URL="${CLUSTER_DATABASE_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/confero_cluster}"
# unset: the local Redis; set but empty: no Redis
REDIS_URL="${CONFERO_REDIS_URL-redis://127.0.0.1:6379/0}"

pids=()
stop_all() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "cluster stopped"
}
trap stop_all INT TERM EXIT

mkdir -p "$VAR/data" "$VAR/kamailio/run"

if [ ! -s "$VAR/secret" ]; then
    (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))' >"$VAR/secret")
fi

# The database, created if missing (the URL names it; the server `postgres` is asked).
"$PY" - "$DB_URL" <<'EOF'
import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.engine import make_url

from confero.store.database import create_engine


async def main(url: str) -> None:
    target = make_url(url)
    server = target.set(database="postgres").render_as_string(hide_password=False)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            if (await conn.execute(query, {"name": target.database})).scalar() is None:
                await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
                print(f"created database {target.database}")
    finally:
        await admin.dispose()


asyncio.run(main(sys.argv[1]))
EOF

export CONFERO_DATABASE_URL="$DB_URL"
export CONFERO_REDIS_URL="$REDIS_URL"
CONFERO_CLUSTER_SECRET="$(cat "$VAR/secret")"
export CONFERO_CLUSTER_SECRET
export CONFERO_DATA_DIR="$VAR/data"
# Behind the front every call comes from its address: trust it, and do not limit it as
# one caller (the front limits each phone's address itself, deploy/kamailio.cfg).
export CONFERO_TRUSTED_PROXIES="${CONFERO_TRUSTED_PROXIES:-127.0.0.1}"
export CONFERO_SIP_MAX_CALLS_PER_SOURCE="${CONFERO_SIP_MAX_CALLS_PER_SOURCE:-0}"
export CONFERO_SIP_INVITE_RATE="${CONFERO_SIP_INVITE_RATE:-0}"

"$PY" -m confero.cli db upgrade

port_free() {  # UDP and TCP on 127.0.0.1
    "$PY" -c '
import socket, sys
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", int(sys.argv[1])))
        except OSError:
            sys.exit(1)' "$1"
}

wait_health() {  # until node $1 answers /api/health, or its process died
    local port=$1 pid=$2
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then return 1; fi
        if "$PY" -c "import httpx, sys; sys.exit(httpx.get('http://127.0.0.1:$port/api/health', timeout=1).status_code != 200)" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

: >"$VAR/kamailio/dispatcher.list"
for i in $(seq 1 "$NODES"); do
    http=$((8080 + i)) sip=$((5070 + i))
    for port in "$http" "$sip"; do
        port_free "$port" || { echo "port $port is taken (node$i)"; exit 1; }
    done
    CONFERO_NODE_ID="node$i" CONFERO_HTTP_PORT="$http" CONFERO_SIP_PORT="$sip" \
        CONFERO_NODE_URL="http://127.0.0.1:$http" CONFERO_PUBLIC_URL="http://127.0.0.1:$http" \
        "$PY" -m confero.cli serve >>"$VAR/node$i.log" 2>&1 &
    pids+=("$!")
    # one at a time: the first start on an empty database creates the admin
    wait_health "$http" "$!" || { echo "node$i did not start:"; tail -20 "$VAR/node$i.log"; exit 1; }
    echo "1 sip:127.0.0.1:$sip" >>"$VAR/kamailio/dispatcher.list"
done

SIP_PORT="${CLUSTER_SIP_PORT:-5060}"
if ! port_free "$SIP_PORT"; then
    SIP_PORT="$("$PY" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
fi
"$KAMAILIO" -f "$ROOT/deploy/kamailio.cfg" -DD -E -m 64 -M 8 \
    -A SIP_ADDR=127.0.0.1 -A "SIP_PORT=$SIP_PORT" -A 'SIP_DOMAIN="sip.confero.local"' \
    -A "DISPATCHER_LIST=\"$VAR/kamailio/dispatcher.list\"" -A CHILDREN=2 \
    -w "$VAR/kamailio" -Y "$VAR/kamailio/run" -P "$VAR/kamailio/run/kamailio.pid" \
    >>"$VAR/kamailio.log" 2>&1 &
pids+=("$!")
sleep 1
kill -0 "${pids[-1]}" 2>/dev/null || { echo "kamailio did not start:"; tail -20 "$VAR/kamailio.log"; exit 1; }

echo
echo "Confero cluster: $NODES nodes on $DB_URL${REDIS_URL:+ and $REDIS_URL}"
for i in $(seq 1 "$NODES"); do
    echo "  node$i  http://127.0.0.1:$((8080 + i))   SIP 127.0.0.1:$((5070 + i))   log var/cluster/node$i.log"
done
echo "  SIP address (Kamailio): sip:<number>@127.0.0.1:$SIP_PORT   log var/cluster/kamailio.log"
echo "  first start's admin password: in var/cluster/node1.log"
echo "Ctrl-C stops them all."
wait
