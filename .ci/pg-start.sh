#!/usr/bin/env bash
# Starts a throwaway PostgreSQL on a free loopback port and prints its URL (only that, on
# stdout). Installs Debian's postgresql package when no server binaries are present.
# Usage: .ci/pg-start.sh BASE_DIR   (stop with: .ci/pg-stop.sh BASE_DIR)
set -euo pipefail
base=${1:?usage: pg-start.sh BASE_DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing postgresql…" >&2
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
data="$base/pgdata"
mkdir -p "$data"
chown -R postgres:postgres "$base"
as_pg() { runuser -u postgres -- "$@"; }
as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >&2
as_pg "$bin/pg_ctl" -D "$data" -l "$base/postgres.log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2
echo "postgres://postgres@127.0.0.1:$port/postgres"
