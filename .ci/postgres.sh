#!/usr/bin/env bash
# A throwaway PostgreSQL server for the journal tests (tests/test_journal_postgres.py).
#
# Source it from .ci/run (after the venv is activated, before pytest):
#     source .ci/postgres.sh
# or run it (`bash .ci/postgres.sh`) and eval the line it prints.
#
# What it does, idempotently (a second run reuses the running server):
#   1. installs Debian's `postgresql` package when no PostgreSQL server binaries are found
#      (apt-get update; apt-get install -y postgresql) -- needs root;
#   2. creates a private cluster in $QQGATE_PG_DIR (default /var/tmp/qqgate-pg) owned by the
#      `postgres` user when run as root (initdb refuses root), by the caller otherwise;
#   3. starts it on 127.0.0.1:$QQGATE_PG_PORT (default 55432; the distro cluster is left alone);
#   4. creates the role `qqgate` (password `qqgate`) and the database `qqgate`;
#   5. installs the Python driver (eventsourcing[postgres]: psycopg, psycopg_pool) into the
#      active virtual environment ($VIRTUAL_ENV) when it is missing there;
#   6. exports QQGATE_TEST_POSTGRES_URL=postgresql://qqgate:qqgate@127.0.0.1:PORT/qqgate and
#      prints that export line.
# Any failure prints "postgres.sh: ..." on stderr and returns/exits 1.

_qqgate_pg_setup() {
    local dir="${QQGATE_PG_DIR:-/var/tmp/qqgate-pg}"
    local port="${QQGATE_PG_PORT:-55432}"
    local user="qqgate" password="qqgate" db="qqgate"
    local bindir="" run=() owner

    _qqgate_pg_bindir() {
        local d
        for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
            if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
        done
        if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
            dirname "$(command -v pg_ctl)"; return 0
        fi
        return 1
    }

    bindir="$(_qqgate_pg_bindir || true)"
    if [ -z "$bindir" ]; then
        if [ "$(id -u)" != 0 ]; then
            echo "postgres.sh: PostgreSQL is not installed and this is not root (apt-get needs root)" >&2
            return 1
        fi
        echo "postgres.sh: installing Debian's postgresql package" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || {
            echo "postgres.sh: apt-get update failed" >&2; return 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || {
            echo "postgres.sh: apt-get install postgresql failed" >&2; return 1; }
        bindir="$(_qqgate_pg_bindir || true)"
        if [ -z "$bindir" ]; then
            echo "postgres.sh: postgresql installed but no initdb/pg_ctl found" >&2; return 1
        fi
    fi

    if [ "$(id -u)" = 0 ]; then
        owner=postgres
        if ! id postgres >/dev/null 2>&1; then
            echo "postgres.sh: running as root but there is no 'postgres' user" >&2; return 1
        fi
        run=(runuser -u postgres --)
    else
        owner="$(id -un)"
        run=()
    fi

    mkdir -p "$dir"
    chown "$owner" "$dir" 2>/dev/null || true
    chmod 700 "$dir"
    local data="$dir/data" sock="$dir" log="$dir/server.log"

    if [ ! -s "$data/PG_VERSION" ]; then
        rm -rf "$data"
        "${run[@]}" "$bindir/initdb" -D "$data" -U postgres --auth-local=trust \
            --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || "${run[@]}" "$bindir/initdb" -D "$data" -U postgres --auth-local=trust \
            --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
            echo "postgres.sh: initdb failed (see $dir/initdb.log)" >&2; return 1; }
    fi

    if ! "${run[@]}" "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        "${run[@]}" "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $sock" start >/dev/null || {
            echo "postgres.sh: the server did not start on port $port (see $log)" >&2
            tail -n 20 "$log" >&2 2>/dev/null || true
            return 1; }
    fi

    local psql=("${run[@]}" "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres)
    if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname='$user'")" != 1 ]; then
        "${psql[@]}" -d postgres -c "CREATE ROLE $user LOGIN PASSWORD '$password'" || {
            echo "postgres.sh: cannot create role $user" >&2; return 1; }
    fi
    if [ "$("${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
        "${psql[@]}" -d postgres -c "CREATE DATABASE $db OWNER $user" || {
            echo "postgres.sh: cannot create database $db" >&2; return 1; }
    fi

    # The Python driver, only into an active virtual environment (never the system Python).
    local py
    py="$(command -v python || command -v python3 || true)"
    if [ -n "${VIRTUAL_ENV:-}" ] && [ -n "$py" ] \
            && ! "$py" -c "import psycopg, psycopg_pool" >/dev/null 2>&1; then
        echo "postgres.sh: installing the Python driver into $VIRTUAL_ENV: eventsourcing[postgres]" >&2
        "$py" -m pip install --quiet "eventsourcing[postgres]" || {
            echo "postgres.sh: pip install eventsourcing[postgres] failed" >&2; return 1; }
    fi

    export QQGATE_TEST_POSTGRES_URL="postgresql://$user:$password@127.0.0.1:$port/$db"
    echo "export QQGATE_TEST_POSTGRES_URL=$QQGATE_TEST_POSTGRES_URL"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
    _qqgate_pg_setup || return 1
else
    set -uo pipefail
    _qqgate_pg_setup || exit 1
fi
