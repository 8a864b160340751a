#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server.
#
#     tests/pg_harness.sh COMMAND [ARGS...]
#
# Starts a private server (Debian's postgresql 15: initdb and pg_ctl from
# /usr/lib/postgresql/15/bin, or PG_BINDIR) in a new temporary directory, on a
# free loopback port with its Unix socket in that directory, creates database
# "keel" owned by superuser "keel", exports
#     KEEL_TEST_PG_URL=postgresql://keel@127.0.0.1:PORT/keel
# runs the command, then stops the server and removes the directory whatever
# happens (trap). Exits with the command's status, or 3 when the server cannot
# be started.
#
# initdb and pg_ctl refuse to run as root, so as root the server runs as the
# "postgres" user (runuser) on a directory chowned to it; as any other user it
# runs as that user.
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
if [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "pg_harness: no initdb/pg_ctl in $bindir (set PG_BINDIR)" >&2
    exit 3
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/keel-pg.XXXXXX") || exit 3
chmod 755 "$dir"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir" || exit 3
    as_pg=(runuser -u postgres --)
fi

started=0
cleanup() {
    if [ "$started" -eq 1 ]; then
        "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port: ask the kernel for one, then hope nobody takes it in
# the next second (pg_ctl fails clearly if someone does, and we retry).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! "${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U keel -E UTF8 --locale=C \
    >"$dir/initdb.log" 2>&1; then
    echo "pg_harness: initdb failed:" >&2
    cat "$dir/initdb.log" >&2
    exit 3
fi

for attempt in 1 2 3; do
    port=$(free_port) || exit 3
    if "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50" \
        start >/dev/null 2>&1; then
        started=1
        break
    fi
done
if [ "$started" -ne 1 ]; then
    echo "pg_harness: the server did not start:" >&2
    cat "$dir/server.log" >&2
    exit 3
fi

if ! "${as_pg[@]}" "$bindir/createdb" -h "$dir" -p "$port" -U keel keel 2>"$dir/createdb.log"; then
    echo "pg_harness: createdb failed:" >&2
    cat "$dir/createdb.log" >&2
    exit 3
fi

export KEEL_TEST_PG_URL="postgresql://keel@127.0.0.1:$port/keel"
"$@"
status=$?
exit $status
