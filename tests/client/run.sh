#!/usr/bin/env bash
# The typed client: generates TypeScript types from schema.graphql (graphql-codegen's
# client preset), typechecks the frontend's operations against them, and runs them against
# the real server (the debug binary) on a fresh SQLite database with two accounts.
#
#   bash tests/client/run.sh
#
# Installs its packages (package-lock.json) with npm ci.
set -euo pipefail

cd "$(dirname "$0")/../.."
binary=${ECOPLAN_BINARY:-${CARGO_TARGET_DIR:-target}/debug/ecoplan}
[ -x "$binary" ] || { echo "build first: $binary is missing" >&2; exit 1; }

client=tests/client
npm ci --prefix "$client" --no-audit --no-fund --loglevel=error
(cd "$client" && npx graphql-codegen --config codegen.yml --silent && rm -rf dist && npx tsc)

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export DATABASE_URL="sqlite://$work/ecoplan.db?mode=rwc"
export ECOPLAN_STORAGE_DIR="$work/storage" ECOPLAN_LOG=warn
"$binary" seed >/dev/null
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
ECOPLAN_PASSWORD=$password "$binary" user add --username office --role leadership >/dev/null
ECOPLAN_PASSWORD=$password "$binary" user add --username finance-office --role department \
    --department finance >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
done

ECOPLAN_DEPARTMENT_USER=finance-office ECOPLAN_LEADERSHIP_USER=office ECOPLAN_PASSWORD=$password \
    node "$client/dist/run.js" "http://127.0.0.1:$port" || {
    echo "the server's log:" >&2
    cat "$work/server.log" >&2
    exit 1
}
