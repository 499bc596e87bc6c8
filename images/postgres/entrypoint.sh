#!/bin/sh
# PostgreSQL for the hub: the role POSTGRES_USER owns two databases, POSTGRES_DB (the classroom
# service's) and POSTGRES_HUB_DB (JupyterHub's own). Two databases, not one: both keep their
# schema version in an Alembic table named alembic_version, which one database cannot hold
# twice; one cluster still backs up as one. The password comes from POSTGRES_PASSWORD_FILE (a
# compose secret) or POSTGRES_PASSWORD, and is set again at every start, so changing it is:
# write the new one into the file, then restart (see the README).
set -eu
: "${POSTGRES_USER:=aiclass}"
: "${POSTGRES_DB:=aiclass}"
: "${POSTGRES_HUB_DB:=jupyterhub}"
: "${POSTGRES_LISTEN:=*}"
copy=/var/run/postgresql/password

if [ "$(id -u)" = 0 ]; then
    # A compose secret is a bind mount keeping the host file's owner and mode (root, 0600):
    # hand the server's user a copy of its own, then drop root for good.
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        install -o postgres -g postgres -m 600 "$POSTGRES_PASSWORD_FILE" "$copy"
    fi
    chown postgres:postgres "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
    [ -r "$copy" ] || copy="$POSTGRES_PASSWORD_FILE"
    POSTGRES_PASSWORD=$(cat "$copy")
    if [ "$copy" != "$POSTGRES_PASSWORD_FILE" ]; then
        rm -f "$copy"
    fi
fi
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "POSTGRES_PASSWORD_FILE / POSTGRES_PASSWORD 未设置 / is not set" >&2
    exit 1
fi
pwfile=$(mktemp)
trap 'rm -f "$pwfile"' EXIT
printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
unset POSTGRES_PASSWORD
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 \
        --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
fi

# Every start, on the local socket only: the databases exist (a cluster an older version made
# lacks the hub's) and the role's password is the file's.
pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
psql="psql --quiet --no-psqlrc --username=$POSTGRES_USER --host=/var/run/postgresql --dbname=postgres"
for db in "$POSTGRES_DB" "$POSTGRES_HUB_DB"; do
    if [ -z "$($psql -Atc "select 1 from pg_database where datname = '$db'")" ]; then
        createdb --username="$POSTGRES_USER" --host=/var/run/postgresql "$db"
    fi
done
# the password goes from the file through psql's script, never a command line ps would show
$psql --set=ON_ERROR_STOP=1 >/dev/null <<SQL
\\set pw \`cat $pwfile\`
alter role "$POSTGRES_USER" password :'pw';
SQL
rm -f "$pwfile"
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
exec postgres -D "$PGDATA" -c listen_addresses="$POSTGRES_LISTEN" -p "$PGPORT"
