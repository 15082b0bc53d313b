#!/usr/bin/env bash
# Starts an S3-protocol server for the object-store tests (moto, installed into
# target/s3-server from tests/s3/requirements.txt on first use) on a free loopback port,
# and prints its endpoint. The server's process id is written to target/s3-server/pid.
set -euo pipefail

cd "$(dirname "$0")/../.."
home=target/s3-server
if [ ! -x "$home/bin/moto_server" ]; then
    python3 -m venv "$home" >&2
    "$home/bin/pip" install --quiet --disable-pip-version-check -r tests/s3/requirements.txt >&2
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$home/bin/moto_server" -H 127.0.0.1 -p "$port" >"$home/server.log" 2>&1 &
echo $! >"$home/pid"
for _ in $(seq 1 60); do
    if curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1; then
        echo "http://127.0.0.1:$port"
        exit 0
    fi
    sleep 0.5
done
echo "the S3-protocol server did not start; see $home/server.log" >&2
exit 1
