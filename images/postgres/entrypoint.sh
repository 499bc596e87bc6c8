#!/bin/sh
# Initialise the cluster on first start (user and database from POSTGRES_USER / POSTGRES_DB,
# password from POSTGRES_PASSWORD), then run the server in the foreground on PGPORT.
set -eu
: "${POSTGRES_USER:=aiclass}"
: "${POSTGRES_DB:=aiclass}"
: "${POSTGRES_LISTEN:=*}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD 未设置 / is not set" >&2
    exit 1
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    if [ "$POSTGRES_DB" != "postgres" ]; then
        createdb --username="$POSTGRES_USER" --host=/var/run/postgresql "$POSTGRES_DB"
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses="$POSTGRES_LISTEN" -p "$PGPORT"
