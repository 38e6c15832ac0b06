#!/usr/bin/env bash
# Load: 32 clients for 60 s mixing full and small feed requests on the M dataset (20,000 units),
# twice; fails on any error or when the second pass needs more memory than the first reached.
#
#   bash bench/load.sh [UNITS] [SECONDS] [CLIENTS]     (defaults: 20000 60 32)
set -euo pipefail
cd "$(dirname "$0")/.."

units=${1:-20000}
seconds=${2:-60}
clients=${3:-32}
port=${PORT:-18282}
db="domofeed_bench_${units}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/${db}"
export DOMOFEED_BIND="127.0.0.1:${port}"
export DOMOFEED_SECRET_KEY_FILE="target/bench-secret.key"
# Sized for the load: a build slot and a connection for every client, no per-feed limit.
export DOMOFEED_MAX_FEED_BUILDS=$clients DOMOFEED_POOL_SIZE=$((clients + 8))
export DOMOFEED_FEED_RATE_PER_MINUTE=1000000 RUST_LOG=warn

cargo build --release --quiet --bin domofeed --example load
bin=${BIN:-target/release/domofeed}  # BIN: another build of the server, to compare
if [ "$(psql -h 127.0.0.1 -U postgres -Atc "select count(*) from pg_database where datname = '${db}'")" = 0 ] \
    || [ "$(psql -h 127.0.0.1 -U postgres -d "$db" -Atc 'select count(*) from units' 2>/dev/null || echo 0)" = 0 ]; then
    "$bin" seed --units "$units" --seed 1 --now "$(date -u +%Y-%m-%dT%H:00:00Z)" >/dev/null
    psql -h 127.0.0.1 -U postgres -d "$db" -qc "vacuum analyze"
fi

# One feed per client, half deals, half units, as separate 1C servers would have.
urls=()
for i in $(seq 1 "$clients"); do
    kind=$([ $((i % 2)) = 0 ] && echo deals || echo units)
    urls+=("$("$bin" feed create --account 1 --kind "$kind" --name "load $i" 2>/dev/null)")
done

"$bin" serve &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    psql -h 127.0.0.1 -U postgres -d "$db" -qc "delete from feeds where name like 'load %'" || true
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:${port}/readyz" >/dev/null && break; sleep 0.2; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$server/status"; }
echo "server RSS at start: $(rss) KiB"
first=$(target/release/examples/load "$clients" "$seconds" 0.05 "${urls[@]}")
rss_first=$(rss)
hwm_first=$(hwm)
echo "pass 1: $first; server RSS $rss_first KiB, peak $hwm_first KiB"
second=$(target/release/examples/load "$clients" "$seconds" 0.05 "${urls[@]}")
rss_second=$(rss)
hwm_second=$(hwm)
echo "pass 2: $second; server RSS $rss_second KiB, peak $hwm_second KiB"

errors=$(( $(echo "$first" | sed 's/.*"errors":\([0-9]*\).*/\1/') + $(echo "$second" | sed 's/.*"errors":\([0-9]*\).*/\1/') ))
if [ "$errors" != 0 ]; then echo "FAIL: $errors errors"; exit 1; fi
# "No growth after the first pass": the second pass never needs more memory than the first one
# reached (its peak), give or take 15% (at least 8 MB): allocator fragmentation and the
# statement caches of connections first used late. RSS at a pass's end depends on which bodies
# happen to be in flight; the peak does not. A leak proportional to traffic (GBs per pass)
# would be far past this.
limit=$(( hwm_first + (hwm_first * 15 / 100 > 8192 ? hwm_first * 15 / 100 : 8192) ))
for now in "$rss_second" "$hwm_second"; do
    if [ "$now" -gt "$limit" ]; then
        echo "FAIL: server memory grew past the first pass: peak $hwm_first KiB, now $now KiB"
        exit 1
    fi
done
echo "load: 0 errors, memory flat"
