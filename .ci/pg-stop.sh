#!/usr/bin/env bash
# Stops the PostgreSQL started by pg-start.sh with the same BASE_DIR.
set -euo pipefail
base=${1:?usage: pg-stop.sh BASE_DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
runuser -u postgres -- "$bin/pg_ctl" -D "$base/pgdata" -m fast -w stop >&2 || true
