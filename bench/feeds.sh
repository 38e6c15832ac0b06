#!/usr/bin/env bash
# Full-feed figures for one dataset: size, time to first byte, total time, server peak RSS.
#
#   bench/feeds.sh [UNITS]        (default 100000)
#
# Seeds `domofeed_bench_<UNITS>` once (reused afterwards), starts a release server, pulls the
# full deals and units feeds with curl RUNS times each, plain and gzip, br, zstd (median
# reported), and reads the server's peak RSS (VmHWM in /proc/PID/status) at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

units=${1:-100000}
runs=${RUNS:-5}
port=${PORT:-18181}
db="domofeed_bench_${units}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${db}"
export DOMOFEED_BIND="127.0.0.1:${port}"
export DOMOFEED_SECRET_KEY_FILE="target/bench-secret.key"
export RUST_LOG=warn

cargo build --release --quiet
bin=target/release/domofeed

if [ "$(psql -h 127.0.0.1 -U postgres -Atc "select count(*) from pg_database where datname = '${db}'")" = 0 ] \
    || [ "$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc 'select count(*) from units' 2>/dev/null || echo 0)" = 0 ]; then
    echo "seeding ${units} units into ${db}…"
    /usr/bin/time -f "seed: %e s wall, %M KiB peak RSS" "$bin" seed --units "$units" --seed 1 \
        --now "$(date -u +%Y-%m-%dT%H:00:00Z)"
    psql -h 127.0.0.1 -U postgres -d "$db" -Atc "vacuum analyze" >/dev/null
fi
psql -h 127.0.0.1 -U postgres -d "$db" -Atc \
    "select 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"

deals_url=$("$bin" feed create --account 1 --kind deals --name bench 2>/dev/null)
units_url=$("$bin" feed create --account 1 --kind units --name bench 2>/dev/null)

"$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:${port}/readyz" >/dev/null && break; sleep 0.2; done

measure() { # NAME URL [curl args…]
    local name=$1 url=$2; shift 2
    local results=()
    curl -s -o /dev/null "$@" "$url" # warm-up
    for _ in $(seq 1 "$runs"); do
        results+=("$(curl -s -o /dev/null "$@" -w '%{time_starttransfer} %{time_total} %{size_download}' "$url")")
    done
    printf '%s\n' "${results[@]}" | sort -k2 -n | awk -v name="$name" -v n="$runs" \
        'NR == int((n + 1) / 2) { printf "%-18s first byte %.3f s, total %.2f s, %.1f MB (median of %d)\n", name, $1, $2, $3 / 1e6, n }'
}

for feed in deals units; do
    url=$([ "$feed" = deals ] && echo "$deals_url" || echo "$units_url")
    measure "$feed" "$url"
    for encoding in gzip br zstd; do
        measure "$feed $encoding" "$url" -H "Accept-Encoding: $encoding"
    done
done
echo "server peak RSS (VmHWM): $(grep VmHWM /proc/$server/status | awk '{print $2 / 1024 " MB"}')"

for url in "$deals_url" "$units_url"; do
    id=${url##*/feeds/}; id=${id%%-*}
    "$bin" feed revoke "$id" 2>/dev/null
done
