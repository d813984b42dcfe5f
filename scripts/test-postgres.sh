# Sourced by scripts/test.sh: a throwaway PostgreSQL server for the tests that run on it.
#   start_test_postgres   install Debian's postgresql if missing, start a cluster in a temp folder
#                         (unix socket only, no port to collide on), export RSCLIP_TEST_POSTGRES_URL
#   stop_test_postgres    stop it and delete the folder (test.sh calls it from an EXIT trap)
# A server the caller already gives (RSCLIP_TEST_POSTGRES_URL set) is used as it is.

RSCLIP_PG_DIR=""

_pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

start_test_postgres() {
  if [ -n "${RSCLIP_TEST_POSTGRES_URL:-}" ]; then
    echo "PostgreSQL tests use the server at RSCLIP_TEST_POSTGRES_URL"
    return 0
  fi
  if [ -z "$(_pg_bin)" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql for the catalog tests"
    { _as_root apt-get update -qq \
      && _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; } \
      || echo "warning: could not install postgresql"
  fi
  local bin
  bin=$(_pg_bin)
  if [ -z "$bin" ]; then
    echo "warning: no PostgreSQL server; its tests will be skipped (and fail under CI=true)"
    return 0
  fi
  RSCLIP_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rsclip-pg.XXXXXX")
  local run=()
  if [ "$(id -u)" -eq 0 ]; then  # the server refuses to run as root: run it as Debian's postgres user
    chown postgres "$RSCLIP_PG_DIR"
    run=(runuser -u postgres --)
  fi
  # No fsync and no durability settings: the cluster is thrown away after the run.
  "${run[@]}" "$bin/initdb" -D "$RSCLIP_PG_DIR/data" -U rsclip -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  "${run[@]}" "$bin/pg_ctl" -D "$RSCLIP_PG_DIR/data" -l "$RSCLIP_PG_DIR/server.log" -w -t 60 \
    -o "-c listen_addresses='' -k $RSCLIP_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  "$bin/createdb" -h "$RSCLIP_PG_DIR" -U rsclip rsclip_test
  export RSCLIP_TEST_POSTGRES_URL="postgresql+psycopg://rsclip@/rsclip_test?host=$RSCLIP_PG_DIR"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') for the tests: $RSCLIP_TEST_POSTGRES_URL"
}

stop_test_postgres() {
  if [ -n "$RSCLIP_PG_DIR" ] && [ -d "$RSCLIP_PG_DIR/data" ]; then
    local run=()
    if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
    "${run[@]}" "$(_pg_bin)/pg_ctl" -D "$RSCLIP_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$RSCLIP_PG_DIR"
  fi
}
