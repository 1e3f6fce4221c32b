#!/usr/bin/env bash
# Regenerates fixtures/sample-erp/dump.sql, the dump `npm run demo` masks: starts a
# throwaway PostgreSQL cluster, loads fixtures/sample-erp/schema-and-data.sql, dumps
# it with pg_dump (plain format), stops the cluster and removes it.
#
#   scripts/make-sample-dump.sh            # uses /usr/lib/postgresql/15/bin
#   PG_BIN=/path/to/bin scripts/make-sample-dump.sh
#
# The psql \restrict key is fixed so that regenerating gives the same bytes.
# As root the server runs as the `postgres` OS user (PostgreSQL refuses root).

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
source_sql="$root/fixtures/sample-erp/schema-and-data.sql"
dump="$root/fixtures/sample-erp/dump.sql"
bin="${PG_BIN:-${PGCLOAK_PG_BIN:-/usr/lib/postgresql/15/bin}}"

if [[ ! -x "$bin/initdb" ]]; then
  echo "make-sample-dump: no initdb in $bin (set PG_BIN)" >&2
  exit 1
fi

# Client and server must not pick up the caller's connection settings.
unset PGHOST PGPORT PGUSER PGDATABASE PGSERVICE PGPASSWORD PGOPTIONS
export PGTZ=UTC LC_ALL=C

work="$(mktemp -d "${TMPDIR:-/tmp}/pgcloak-sample-XXXXXX")"
if [[ "$(id -u)" == 0 ]]; then
  chown postgres: "$work"
  as_server() { runuser -u postgres -- "$@"; }
else
  as_server() { "$@"; }
fi

started=0
cleanup() {
  if [[ "$started" == 1 ]]; then
    as_server "$bin/pg_ctl" -D "$work/data" -m fast -w stop >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

as_server mkdir "$work/sock"
as_server "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 \
  --locale=C.UTF-8 --no-sync >/dev/null 2>&1 \
  || as_server "$bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 \
       --locale=C --no-sync >/dev/null
# No TCP listener: the Unix socket in $work/sock is all we need, so no port can clash.
as_server "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w \
  -o "-p 5432 -k $work/sock -c listen_addresses='' -c fsync=off" start >/dev/null
started=1

conn=(-h "$work/sock" -p 5432 -U postgres)
"$bin/createdb" "${conn[@]}" openerp61_sample
"$bin/psql" -X -q -v ON_ERROR_STOP=1 "${conn[@]}" -d openerp61_sample -f "$source_sql" >/dev/null
restrict=()
# pg_dump 15.14+ writes a random \restrict key unless given one.
if [[ "$("$bin/pg_dump" --help)" == *--restrict-key* ]]; then restrict=(--restrict-key=pgcloakSampleErpDump); fi
"$bin/pg_dump" "${conn[@]}" "${restrict[@]}" -f "$dump.tmp" openerp61_sample
mv "$dump.tmp" "$dump"

echo "make-sample-dump: wrote $dump ($(wc -c <"$dump") bytes) with $("$bin/pg_dump" --version)" >&2
