#!/bin/sh
# First start in a container: write the settings file from the environment (compose passes the
# database URL and addresses), then start the hub. Later starts keep the file an admin edited.
set -eu
data="${AICLASS_DATA_DIR:-/srv/aiclass}"
mkdir -p "$data"
if [ ! -f "$data/aiclass.toml" ]; then
    cat > "$data/aiclass.toml" <<TOML
[hub]
mode = "docker"
ip = "${AICLASS_HUB_IP:-0.0.0.0}"
port = ${AICLASS_HUB_PORT:-8000}
hub_port = ${AICLASS_HUB_API_PORT:-8081}
proxy_api_port = ${AICLASS_PROXY_API_PORT:-8001}

[database]
url = "${AICLASS_DATABASE_URL:-}"

[docker]
network = "${AICLASS_DOCKER_NETWORK:-aiclass-students}"
registry_prefix = "${AICLASS_REGISTRY_PREFIX:-}"
TOML
fi
exec aiclass up --mode docker --data "$data" "$@"
