# Throw-away PostgreSQL for the store tests; sourced by .ci/run (bash).
#   start_test_postgres  -> exports SKINAPP_TEST_POSTGRES_URL, registers nothing
#   stop_test_postgres   -> stops the server and deletes its folder (idempotent)
# Installs Debian's `postgresql` when no server binaries are found. As root (CI), the
# cluster runs as the `postgres` user, since initdb refuses to run as root.

_pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_test_postgres() {
    local bindir
    bindir="$(_pg_bindir)"
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        if command -v apt-get >/dev/null 2>&1; then
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
            bindir="$(_pg_bindir)"
        fi
    fi
    if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
        echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        return 1
    fi
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
    fi
    TEST_PG_DIR="$(mktemp -d -t skinapp-pg.XXXXXX)"
    TEST_PG_PORT="$(_pg_free_port)"
    TEST_PG_BINDIR="$bindir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$TEST_PG_DIR"
    _pg_as_owner "$bindir/initdb" -D "$TEST_PG_DIR/data" -U postgres -A trust \
        --encoding UTF8 --no-sync >"$TEST_PG_DIR/initdb.log" 2>&1 || {
        cat "$TEST_PG_DIR/initdb.log" >&2
        return 1
    }
    # Listen on 127.0.0.1 only, socket in the throw-away folder; fsync off (data is disposable).
    _pg_as_owner "$bindir/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $TEST_PG_PORT -k $TEST_PG_DIR -c fsync=off" \
        start >/dev/null || {
        cat "$TEST_PG_DIR/server.log" >&2
        return 1
    }
    export SKINAPP_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$TEST_PG_PORT/postgres"
    echo "Throw-away PostgreSQL ($("$bindir/postgres" --version)) at $SKINAPP_TEST_POSTGRES_URL"
}

stop_test_postgres() {
    if [ -n "${TEST_PG_DIR:-}" ] && [ -d "$TEST_PG_DIR/data" ]; then
        _pg_as_owner "$TEST_PG_BINDIR/pg_ctl" -D "$TEST_PG_DIR/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
    [ -n "${TEST_PG_DIR:-}" ] && rm -rf "$TEST_PG_DIR"
    TEST_PG_DIR=""
}
