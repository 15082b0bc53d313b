#!/usr/bin/env bash
# GraphiQL in a real browser, on a network with no way out: starts the server (the debug
# binary) on a fresh SQLite database with one account, and runs graphiql.mjs in headless
# Chromium, which refuses every request not to the server.
#
#   bash tests/browser/graphiql.sh
#
# Installs Debian's `chromium` with apt-get when /usr/bin/chromium is missing, and
# playwright-core (package-lock.json) with npm ci.
set -euo pipefail

cd "$(dirname "$0")/../.."
binary=${ECOPLAN_BINARY:-${CARGO_TARGET_DIR:-target}/debug/ecoplan}
[ -x "$binary" ] || { echo "build first: $binary is missing" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

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
ECOPLAN_PASSWORD=$password "$binary" user add --username office --role leadership \
    --display-name 規劃辦 >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$binary" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.5
done

ECOPLAN_USERNAME=office ECOPLAN_PASSWORD=$password \
    node tests/browser/graphiql.mjs "http://127.0.0.1:$port" || {
    echo "the server's log:" >&2
    cat "$work/server.log" >&2
    exit 1
}
