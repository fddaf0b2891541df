#!/usr/bin/env bash
# `make serve`: skinapp for a clinic on this machine. N Streamlit replicas on 127.0.0.1 behind
# nginx (TLS with a self-signed certificate, WebSocket upgrade, sticky sessions), sharing one
# PostgreSQL: SKINAPP_DATABASE_URL if set, else a throw-away cluster (as in CI; its data is
# deleted on stop). Runs in the foreground; Ctrl-C (or SIGTERM, or `deploy/serve.sh stop`)
# stops nginx, the replicas and the throw-away database, and removes the run folder.
#
#   REPLICAS=2 SERVE_ADDRESS=127.0.0.1 SERVE_PORT=8443 deploy/serve.sh
#   deploy/serve.sh stop            # stops the one whose run folder is SKINAPP_SERVE_DIR
#
# Environment: SKINAPP_AUTH (default accounts here; none is refused on a network address),
# SKINAPP_SERVE_DIR (run folder: logs, certificate, database_url, ready; default a new
# temporary folder, deleted on stop), PYTHON (default .venv/bin/python), NGINX (nginx).
set -euo pipefail
cd "$(dirname "$0")/.."

REPLICAS="${REPLICAS:-2}"
SERVE_ADDRESS="${SERVE_ADDRESS:-127.0.0.1}"
SERVE_PORT="${SERVE_PORT:-8443}"
PYTHON="${PYTHON:-.venv/bin/python}"
NGINX="${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}"
HEALTH_TIMEOUT="${HEALTH_TIMEOUT:-120}"
export SKINAPP_AUTH="${SKINAPP_AUTH:-accounts}"

log() { echo "serve: $*" >&2; }

if [ "${1:-}" = "stop" ]; then
    pidfile="${SKINAPP_SERVE_DIR:?set SKINAPP_SERVE_DIR to the run folder of the server}/serve.pid"
    [ -f "$pidfile" ] || { log "no server running in $SKINAPP_SERVE_DIR"; exit 1; }
    kill -TERM "$(cat "$pidfile")"
    for _ in $(seq 60); do [ -f "$pidfile" ] || exit 0; sleep 0.5; done
    log "still stopping after 30 s"; exit 1
fi

[ -x "$NGINX" ] || { log "nginx not found (apt-get install nginx)"; exit 1; }
command -v openssl >/dev/null || { log "openssl not found (apt-get install openssl)"; exit 1; }
[[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || { log "REPLICAS must be 1-99, got $REPLICAS"; exit 1; }
# The one decision on serving without a login (refuses SKINAPP_AUTH=none on a network address).
"$PYTHON" -m skinapp.auth check --address "$SERVE_ADDRESS" >/dev/null

if [ -n "${SKINAPP_SERVE_DIR:-}" ]; then
    RUN="$SKINAPP_SERVE_DIR"; OWN_RUN=0; mkdir -p "$RUN"
else
    RUN="$(mktemp -d -t skinapp-serve.XXXXXX)"; OWN_RUN=1
fi
RUN="$(cd "$RUN" && pwd)"
chmod 711 "$RUN"  # nginx workers (another user when started as root) reach tmp/ only
rm -f "$RUN/ready"
mkdir -p "$RUN/tmp" "$RUN/tls"
echo $$ > "$RUN/serve.pid"

PIDS=()
PORTS=()
NGINX_PID=""
OWN_PG=0
STOPPING=0

cleanup() {
    STOPPING=1
    trap - INT TERM EXIT
    log "stopping"
    if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}" $NGINX_PID; do
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [ "$OWN_PG" = 1 ]; then stop_test_postgres; fi
    rm -f "$RUN/serve.pid" "$RUN/ready"
    if [ "$OWN_RUN" = 1 ]; then rm -rf "$RUN"; fi
    log "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$1/_stcore/health" >/dev/null 2>&1; }

# --- PostgreSQL -------------------------------------------------------------------------
if [ -z "${SKINAPP_DATABASE_URL:-}" ]; then
    # shellcheck source=../.ci/postgres.sh
    source .ci/postgres.sh
    start_test_postgres >&2
    OWN_PG=1
    export SKINAPP_DATABASE_URL="$SKINAPP_TEST_POSTGRES_URL"
    log "throw-away PostgreSQL (deleted on stop)"
fi
(umask 077 && echo "$SKINAPP_DATABASE_URL" > "$RUN/database_url")
# Create or upgrade the schema once, before the replicas start.
"$PYTHON" -c 'from skinapp.store import open_store; open_store().dispose()'

# --- TLS certificate (self-signed, for this machine) -------------------------------------
if [ ! -s "$RUN/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=skinapp" \
        -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:$SERVE_ADDRESS" \
        -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" 2>/dev/null \
        || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=skinapp" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -keyout "$RUN/tls/key.pem" -out "$RUN/tls/cert.pem" 2>/dev/null
    chmod 600 "$RUN/tls/key.pem"
fi

# --- Replicas ----------------------------------------------------------------------------
start_replica() {  # index port
    SKINAPP_REPLICA="$1" SKINAPP_PROXY_ADDRESSES="${SKINAPP_PROXY_ADDRESSES:-127.0.0.1}" \
        "$PYTHON" -m streamlit run app.py \
        --server.address 127.0.0.1 --server.port "$2" --server.headless true \
        --browser.gatherUsageStats false --server.fileWatcherType none \
        >>"$RUN/replica-$1.log" 2>&1 &
    PIDS[$1 - 1]=$!
}

UPSTREAMS=""
for i in $(seq 1 "$REPLICAS"); do
    port="$(free_port)"
    PORTS[i - 1]="$port"
    start_replica "$i" "$port"
    UPSTREAMS+="        server 127.0.0.1:$port max_fails=3 fail_timeout=10s;"$'\n'
done
printf '%s\n' "${PORTS[@]}" > "$RUN/replica_ports"
deadline=$((SECONDS + HEALTH_TIMEOUT))
for i in $(seq 1 "$REPLICAS"); do
    until healthy "${PORTS[i - 1]}"; do
        if ! kill -0 "${PIDS[i - 1]}" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            log "replica $i did not become healthy; its log:"; tail -n 40 "$RUN/replica-$i.log" >&2
            exit 1
        fi
        sleep 0.5
    done
    log "replica $i healthy on 127.0.0.1:${PORTS[i - 1]}"
done

# --- nginx -------------------------------------------------------------------------------
"$PYTHON" - "$RUN" "$SERVE_ADDRESS" "$SERVE_PORT" "$UPSTREAMS" <<'PY'
import sys
from pathlib import Path

run, address, port, upstreams = sys.argv[1:]
text = Path("deploy/nginx.conf.template").read_text()
for key, value in {"@RUN@": run, "@ADDRESS@": address, "@PORT@": port}.items():
    text = text.replace(key, value)
Path(run, "nginx.conf").write_text(text.replace("@UPSTREAMS@\n", upstreams))
PY
"$NGINX" -t -q -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf"
"$NGINX" -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf" -g "daemon off;" &
NGINX_PID=$!
URL="https://$SERVE_ADDRESS:$SERVE_PORT"
until curl -fsSk --max-time 2 "$URL/_stcore/health" >/dev/null 2>&1; do
    if ! kill -0 "$NGINX_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        log "nginx did not start; its log:"; tail -n 20 "$RUN/nginx-error.log" >&2; exit 1
    fi
    sleep 0.3
done
echo "$URL" > "$RUN/ready"
cat >&2 <<MSG
serve: skinapp is served at $URL/ ($REPLICAS replicas, SKINAPP_AUTH=$SKINAPP_AUTH)
serve:   self-signed certificate: the browser warns once; accept it for this machine only
serve:   accounts: SKINAPP_DATABASE_URL=\$(cat $RUN/database_url) python -m skinapp.users add NAME
serve:   run folder (logs): $RUN
serve: Ctrl-C stops it.
MSG

# --- Health checks: restart a replica that died or stopped answering ---------------------
declare -A FAILS
while [ "$STOPPING" = 0 ]; do
    sleep 5 & wait $! || true
    for i in $(seq 1 "$REPLICAS"); do
        if healthy "${PORTS[i - 1]}"; then FAILS[$i]=0; continue; fi
        FAILS[$i]=$(( ${FAILS[$i]:-0} + 1 ))
        if ! kill -0 "${PIDS[i - 1]}" 2>/dev/null || [ "${FAILS[$i]}" -ge 3 ]; then
            log "replica $i is unhealthy: restarting it"
            kill -KILL "${PIDS[i - 1]}" 2>/dev/null || true
            start_replica "$i" "${PORTS[i - 1]}"
            FAILS[$i]=0
        fi
    done
done
