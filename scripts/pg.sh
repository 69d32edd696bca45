#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests: installs Debian's `postgresql` if it is missing,
# creates a cluster in a temp directory, starts it on a free port on 127.0.0.1 only (its
# unix socket in that directory too), runs the given command with FIRMO_TEST_POSTGRES set
# to its URL, and removes everything when the command ends, however it ends.
#
#   scripts/pg.sh cargo test -p firmo-store     # the store conformance suite on both backends
#   scripts/pg.sh                               # just print the URL and wait (Ctrl-C ends it)
#
# FIRMO_PG_FSYNC=on keeps fsync on (for measuring); the default is off, as the cluster is
# thrown away and the tests do not measure the disk.
set -euo pipefail

log() { printf 'pg.sh: %s\n' "$*" >&2; }

find_bin() {
  # The newest installed major version that has the server (a client-only one has no initdb).
  local dir found=""
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$dir/initdb" ] && found="$dir"
  done
  echo "$found"
}

bin="$(find_bin)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and this is not root: apt-get install postgresql"
    exit 1
  fi
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin="$(find_bin)"
fi

# initdb and postgres refuse to run as root: as root, run them as the package's user.
if [ "$(id -u)" -eq 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
else
  as_pg() { "$@"; }
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/firmo-pg.XXXXXX")"
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"

started=""
cleanup() {
  if [ -n "$started" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_pg "$bin/initdb" -D "$dir/data" -U firmo -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fsync="${FIRMO_PG_FSYNC:-off}"
# A port that is free now may be taken before the server binds it: try a few.
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 40000))
  port_free "$port" || continue
  if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=$fsync -c max_connections=200" \
    >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [ -z "$started" ]; then
  log "the server did not start; its log:"
  cat "$dir/server.log" >&2 || true
  exit 1
fi

as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U firmo firmo
export FIRMO_TEST_POSTGRES="postgres://firmo@127.0.0.1:$port/firmo"
log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $FIRMO_TEST_POSTGRES (fsync=$fsync)"

if [ "$#" -eq 0 ]; then
  echo "$FIRMO_TEST_POSTGRES"
  log "waiting; Ctrl-C stops and removes it"
  # Blocks until a signal arrives; the trap then tears the cluster down.
  tail -f /dev/null &
  wait $!
else
  "$@"
fi
