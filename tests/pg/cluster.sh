#!/usr/bin/env bash
# Throw-away PostgreSQL cluster for tests (CI and developers).
#
#   cluster.sh start DIR    install PostgreSQL if needed (root + apt-get only), create DIR/data
#                           once, start it, print the URL (the only line on stdout)
#   cluster.sh stop DIR     stop it (also `pause`); fine when it is not running
#   cluster.sh resume DIR   start it again, same data and port; `restart` = stop + resume
#   cluster.sh url DIR      print the URL again
#
# The URL is postgres://selfheal:selfheal-test-secret@127.0.0.1:PORT/selfheal: role `selfheal`
# is the cluster's superuser and has a password so redaction can be tested, but every local and
# loopback connection is trusted. PORT is picked free once and kept in DIR/port; the Unix socket
# lives in DIR itself. Everything but the URL goes to stderr.
#
# Why an unprivileged user: initdb, pg_ctl and postgres refuse to run as root, and CI runs as
# root. Then the cluster belongs to the system user `selfheal-pg` (created if missing), DIR is
# chowned to it, and every PostgreSQL command runs through runuser (setpriv or su as fallbacks).
set -euo pipefail

PG_USER=selfheal-pg
SECRET=selfheal-test-secret

die() { echo "cluster.sh: $*" >&2; exit 1; }

# Directory holding initdb, pg_ctl and postgres: PATH first, then the highest Debian version.
find_bin() {
    local d
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(readlink -f "$(command -v initdb)")"
        return
    fi
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return; }
    done
    return 1
}

ensure_bin() {
    BIN=$(find_bin) && return
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null \
        || die "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL"
    echo "cluster.sh: installing PostgreSQL with apt-get" >&2
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
    "${apt[@]}" install -y --no-install-recommends postgresql >&2 \
        || { "${apt[@]}" update >&2 && "${apt[@]}" install -y --no-install-recommends postgresql >&2; } \
        || die "apt-get install postgresql failed"
    BIN=$(find_bin) || die "PostgreSQL was installed but initdb/pg_ctl are still not found"
}

# Run a command as the cluster's owner: ourselves, or $PG_USER when we are root.
as_pg() {
    if [[ $(id -u) -ne 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null; then
        runuser -u "$PG_USER" -- "$@"
    elif command -v setpriv >/dev/null; then
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- "$@"
    else
        su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
    fi
}

ensure_user() {
    [[ $(id -u) -eq 0 ]] || return 0
    # Parallel starts must not run useradd at once: it can lose one of the two entries.
    (
        flock 9 2>/dev/null || true
        id -u "$PG_USER" >/dev/null 2>&1 \
            || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
                --user-group "$PG_USER" >&2
    ) 9>/tmp/.selfheal-pg-useradd.lock || die "could not create system user $PG_USER"
    chown "$PG_USER:" "$DIR"
    local d=$DIR
    while [[ $d != / ]]; do  # every parent must let $PG_USER through
        d=$(dirname "$d")
        as_pg test -x "$d" || die "$PG_USER cannot enter $d (parent of $DIR); chmod o+x it or pick another DIR"
    done
    as_pg test -w "$DIR" -a -x "$DIR" || die "$PG_USER cannot write $DIR"
}

running() { [[ -d $DIR/data ]] && as_pg "$BIN/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start the existing cluster on DIR/port (picking and keeping a free port the first time).
launch() {
    running && return 0
    local port try fresh=
    for try in 1 2 3; do
        if [[ -s $DIR/port ]]; then port=$(<"$DIR/port"); else port=$(free_port); fresh=1; fi
        if as_pg "$BIN/pg_ctl" start -D "$DIR/data" -l "$DIR/log" -w -t 60 -o \
            "-k '$DIR' -p $port -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
        then
            echo "$port" >"$DIR/port"
            return 0
        fi
        [[ -n $fresh ]] || break  # a kept port must stay: only retry freshly picked ones
    done
    echo "cluster.sh: PostgreSQL did not start; tail of $DIR/log:" >&2
    tail -n 30 "$DIR/log" >&2 2>/dev/null || true
    exit 1
}

init_cluster() {
    [[ -f $DIR/data/PG_VERSION ]] && return 0
    rm -rf "$DIR/data"
    # initdb creates the superuser `selfheal` with the password; the pwfile must be readable by it.
    printf '%s\n' "$SECRET" >"$DIR/pwfile"
    [[ $(id -u) -ne 0 ]] || chown "$PG_USER:" "$DIR/pwfile"
    as_pg "$BIN/initdb" -D "$DIR/data" -U selfheal --pwfile="$DIR/pwfile" --auth=trust \
        -E UTF8 --locale=C --no-sync >&2 || { rm -f "$DIR/pwfile"; die "initdb failed"; }
    rm -f "$DIR/pwfile"
    # Single-user mode: no client binaries needed, and nothing listens yet.
    echo "CREATE DATABASE selfheal OWNER selfheal;" \
        | as_pg "$BIN/postgres" --single -D "$DIR/data" template1 >&2 \
        || die "could not create database selfheal"
}

print_url() {
    [[ -s $DIR/port ]] || die "no cluster started in $DIR"
    echo "postgres://selfheal:$SECRET@127.0.0.1:$(<"$DIR/port")/selfheal"
}

cmd=${1:-}
[[ $# -eq 2 ]] || die "usage: cluster.sh start|stop|restart|pause|resume|url DIR"
DIR=$2
[[ $DIR == /* ]] || DIR=$PWD/$DIR
[[ -d $DIR ]] && DIR=$(cd "$DIR" && pwd)
# The socket is DIR/.s.PGSQL.PORT and a Unix socket path must fit in 107 bytes.
[[ ${#DIR} -le 90 ]] || die "DIR is ${#DIR} characters long; the socket path DIR/.s.PGSQL.PORT needs DIR to be at most 90"
if [[ $cmd == start && ! -d $DIR ]]; then mkdir -p "$DIR" && DIR=$(cd "$DIR" && pwd); fi
cd "$DIR" 2>/dev/null || cd /  # a working directory the cluster's owner can enter

stop_cluster() {
    [[ -d $DIR/data ]] || return 0
    ensure_bin
    if running; then as_pg "$BIN/pg_ctl" stop -D "$DIR/data" -m fast -w >&2; fi
}

resume_cluster() {
    [[ -f $DIR/data/PG_VERSION ]] || die "no cluster in $DIR (run start first)"
    ensure_bin; ensure_user; launch
}

case $cmd in
    start) ensure_bin; ensure_user; init_cluster; launch; print_url ;;
    stop | pause) stop_cluster ;;
    resume) resume_cluster ;;
    restart) stop_cluster; resume_cluster ;;
    url) print_url ;;
    *) die "unknown command '$cmd'; usage: cluster.sh start|stop|restart|pause|resume|url DIR" ;;
esac
