#!/bin/sh
# First start in a container: write the settings file from the environment (compose passes
# addresses, the database's host and port, the password file's path, the certificate's), then
# start the hub. Later starts keep the file an admin edited. The database password itself is
# never written here: [database] password_file names the compose secret it is read from.
# No demo region in production unless AICLASS_DEMO=1; without it the first start creates the
# region admin "admin" and prints their initial password once to the log.
set -eu
data="${AICLASS_DATA_DIR:-/srv/aiclass}"
mkdir -p "$data"
if [ ! -f "$data/aiclass.toml" ]; then
    db="postgresql+psycopg2://${AICLASS_DB_USER:-aiclass}@${AICLASS_DB_HOST:-127.0.0.1}:${AICLASS_DB_PORT:-5432}"
    demo=false
    if [ "${AICLASS_DEMO:-0}" = 1 ]; then
        demo=true
    fi
    cat > "$data/aiclass.toml" <<TOML
[hub]
mode = "docker"
ip = "${AICLASS_HUB_IP:-0.0.0.0}"
port = ${AICLASS_HUB_PORT:-8000}
hub_port = ${AICLASS_HUB_API_PORT:-8081}
proxy_api_port = ${AICLASS_PROXY_API_PORT:-8001}

[database]
url = "$db/${AICLASS_DB_NAME:-aiclass}"
hub_url = "$db/${AICLASS_HUB_DB_NAME:-jupyterhub}"
password_file = "${AICLASS_DB_PASSWORD_FILE:-/run/secrets/aiclass-db-password}"

[demo]
seed_on_first_run = $demo

[docker]
network = "${AICLASS_DOCKER_NETWORK:-aiclass-students}"
registry_prefix = "${AICLASS_REGISTRY_PREFIX:-}"
TOML
    if [ -n "${AICLASS_TLS_CERTIFICATE:-}" ]; then
        cat >> "$data/aiclass.toml" <<TOML

[tls]
certificate = "$AICLASS_TLS_CERTIFICATE"
key = "${AICLASS_TLS_KEY:?AICLASS_TLS_KEY goes with AICLASS_TLS_CERTIFICATE}"
TOML
    fi
fi
exec aiclass up --mode docker --data "$data" "$@"
