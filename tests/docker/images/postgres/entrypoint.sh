#!/bin/sh
# The official postgres image's entrypoint contract, written for this stand-in.
set -eu
if [ "${1:-}" != "postgres" ]; then
  exec "$@"
fi
shift
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  chmod 0700 "$PGDATA"
  user="${POSTGRES_USER:-postgres}"
  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the image
  initdb --username="$user" --pwfile="${POSTGRES_PASSWORD_FILE:?}" ${POSTGRES_INITDB_ARGS:-} >&2
  # Temporary server: the same settings, but no TCP listener (socket only).
  pg_ctl -D "$PGDATA" -w -o "$* -c listen_addresses=''" start >&2
  if [ "${POSTGRES_DB:-$user}" != "postgres" ]; then
    PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" psql -v ON_ERROR_STOP=1 -h /var/run/postgresql \
      --username "$user" --dbname postgres -c "CREATE DATABASE \"${POSTGRES_DB:-$user}\"" >&2
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
fi
exec postgres "$@"
