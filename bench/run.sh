#!/usr/bin/env bash
# The benchmark of issue 6, in one command: both feeds against the COPY floor and a PostgREST-style
# json_agg baseline, memory at L and XL, small requests on S and L, four clients at once. Prints
# a table of ratios against the targets and writes it into bench/README.md.
#
#   bash bench/run.sh                  # ≈12 min on 2 cores once the datasets exist
#   RUNS=3 SMALL_SECONDS=5 bash bench/run.sh   # a quicker look (fewer runs than the README's)
#
# Datasets S/M/L/XL (1k/20k/100k/200k units) live in domofeed_bench_<units>, seeded when missing
# and reused afterwards (the same databases as feeds.sh). Every comparison at one size is
# interleaved (one run of each contender per round, after a warm-up round) and quoted as a median.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}            # measured rounds at every size (after one warm-up round)
agg_runs=${AGG_RUNS:-3}    # the json_agg baseline runs ≈70 s: only in the first rounds at L
xl_runs=${XL_RUNS:-2}      # XL only answers "does memory stay flat": fewer pulls
small_seconds=${SMALL_SECONDS:-8}
clients=16
out=target/bench-run
mkdir -p "$out"
rm -f "$out"/*.tsv "$out/four.txt"
# PostgreSQL on the same machine, over loopback without TLS, for psql and the server alike (TLS
# would cost both sides CPU that a local deployment does not pay).
export PGSSLMODE=disable
pg() { psql -h 127.0.0.1 -U postgres -X "$@"; }
export DOMOFEED_SECRET_KEY_FILE="target/bench-secret.key" RUST_LOG=warn
# Capacity, not the limiter: a build slot and a connection for every wrk client.
export DOMOFEED_MAX_FEED_BUILDS=32 DOMOFEED_POOL_SIZE=48 DOMOFEED_FEED_RATE_PER_MINUTE=1000000

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
cargo build --release --quiet --bin domofeed
bin=target/release/domofeed
started=$(date +%s)

# --- datasets ------------------------------------------------------------------------------
db_of() { echo "domofeed_bench_$1"; }
seed() { # UNITS
    local db; db=$(db_of "$1")
    if [ "$(pg -d "$db" -Atc 'select count(*) from units' 2>/dev/null || echo 0)" = 0 ]; then
        echo "seeding $1 units into $db…"
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" "$bin" seed --units "$1" --seed 1 \
            --now "$(date -u +%Y-%m-%dT%H:00:00Z)" >/dev/null
        pg -d "$db" -qc "vacuum analyze"
    fi
    # `dt_updated_last_days=1` should match ≈100 deals at every size and on any day: change the
    # missing ones with a real change (since migration 0005 a write that changes nothing moves
    # nothing): their sum grows by a kopeck. Deals beyond 100 (an earlier experiment's writes)
    # go back three days, as a bulk load that brings its own timestamps does.
    pg -d "$db" -qAt -c "set domofeed.keep_timestamps = 'on'" -c "
        update deals set dt_updated = dt_updated - interval '3 days'
         where id in (select id from deals
                       where dt_updated > now() - interval '2 days'
                       order by id
                       offset 100)" >/dev/null
    pg -d "$db" -qAtc "
        update deals set sum = coalesce(sum, 0) + 0.01
         where id in (select id from deals
                       where dt_updated < now() - interval '2 days'
                       order by id % 997, id
                       limit greatest(0, 100 - (select count(*) from deals
                                                 where dt_updated > now() - interval '1 day')))" \
        >/dev/null
}
for units in 1000 20000 100000 200000; do seed "$units"; done

# --- servers -------------------------------------------------------------------------------
declare -A port server deals_url units_url
start_server() { # NAME UNITS PORT
    local name=$1 db; db=$(db_of "$2")
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
    export DOMOFEED_BIND="127.0.0.1:$3" # also the host of the links that `feed create` prints
    pg -d "$db" -qc "delete from feeds where name = 'bench run'"
    deals_url[$name]=$("$bin" feed create --account 1 --kind deals --name "bench run" 2>/dev/null)
    units_url[$name]=$("$bin" feed create --account 1 --kind units --name "bench run" 2>/dev/null)
    "$bin" serve &
    server[$name]=$!
    port[$name]=$3
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$3/readyz" >/dev/null && return; sleep 0.1; done
    echo "server $name did not start" >&2
    exit 1
}
stop_servers() { for pid in "${server[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_servers EXIT

ticks=$(getconf CLK_TCK)
cpu_of() { # PID…: user+system CPU seconds of these processes (0 for one that is gone)
    local total=0 pid
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        total=$(awk -v t="$total" -v hz="$ticks" '{sub(/.*\) /, ""); print t + ($12 + $13) / hz}' "/proc/$pid/stat")
    done
    echo "$total"
}
backends() { # DB: the PostgreSQL backends serving domofeed on this database
    pg -Atc "select pid from pg_stat_activity where datname = '$1' and application_name = 'domofeed'"
}
hwm_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/${server[$1]}/status"; }
now() { date +%s.%N; }

# One measurement: appends "WHAT SIZE first_byte total bytes server_cpu pg_cpu" to results.tsv.
pull() { # WHAT SIZE URL [curl args…]
    local what=$1 size=$2 url=$3; shift 3
    local db; db=$(db_of "${units_of[$size]}")
    local pids cpu0 pg0 line
    pids=$(backends "$db")
    cpu0=$(cpu_of "${server[$size]}"); pg0=$(cpu_of $pids)
    line=$(curl -s -o /dev/null "$@" -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}' "$url")
    [ "${line%% *}" = 200 ] || { echo "$what at $size: HTTP ${line%% *}" >&2; exit 1; }
    pids=$(backends "$db") # a connection opened during the pull counts from 0
    echo "$what $size ${line#* } $(awk -v a="$(cpu_of "${server[$size]}")" -v b="$cpu0" 'BEGIN {print a - b}') \
$(awk -v a="$(cpu_of $pids)" -v b="$pg0" 'BEGIN {print a - b}')" >>"$sink"
}
psql_timed() { # WHAT SIZE psql args…: wall time of one psql session writing to /dev/null, and
    # the CPU of its PostgreSQL backend (the server side, as for a feed: neither client is counted),
    # which the backend reads from its own /proc entry as the session's last statement.
    local what=$1 size=$2 t0 cpu_file=$out/backend_cpu; shift 2
    t0=$(now)
    pg -d "$(db_of "${units_of[$size]}")" -Atq "$@" -c "\o $cpu_file" \
        -c "select split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2)" >/dev/null
    echo "$what $size 0 $(awk -v a="$(now)" -v b="$t0" 'BEGIN {print a - b}') 0 0 \
$(awk -v hz="$ticks" '{print ($12 + $13) / hz}' "$cpu_file")" >>"$sink"
}
# Every table the deals and units feeds read, as text COPY: what any reader must at least pay.
copy_args=()
for table in accounts projects houses sections organizations units unit_params unit_param_values \
    managers deal_stages deals clients deal_participants deal_fields deal_field_values payments; do
    copy_args+=(-c "copy $table to stdout")
done
sink=$out/results.tsv
round() { # SIZE results|warmup: one interleaved round of everything compared at this size
    local size=$1
    sink=$out/$2.tsv
    touch "$sink"
    psql_timed copy "$size" "${copy_args[@]}"
    # The baseline takes ≈5× the feed: measured rounds only (COPY warms the same tables), and
    # only the first AGG_RUNS of them, or the run would not fit in 15 minutes.
    if [ "$size" = L ] && [ "$2" = results ] && [ "$(grep -c '^json_agg' "$sink" 2>/dev/null)" -lt "$agg_runs" ]; then
        psql_timed json_agg "$size" -v account=1 -f bench/deals_json_agg.sql
    fi
    pull deals "$size" "${deals_url[$size]}"
    pull deals_gzip "$size" "${deals_url[$size]}" -H 'Accept-Encoding: gzip'
    pull units "$size" "${units_url[$size]}"
    pull units_gzip "$size" "${units_url[$size]}" -H 'Accept-Encoding: gzip'
    sink=$out/results.tsv
}
median() { # WHAT SIZE COLUMN (3 first byte, 4 total, 5 bytes, 6 server cpu, 7 pg cpu)
    awk -v w="$1" -v s="$2" -v c="$3" '$1 == w && $2 == s {print $c}' "$out/results.tsv" | sort -g \
        | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'
}

declare -A units_of=([S]=1000 [M]=20000 [L]=100000 [XL]=200000)

# --- full feeds: S and M, then L (with the json_agg baseline), then XL alone ------------------
start_server S 1000 18301
start_server M 20000 18302
for size in S M; do
    round "$size" warmup
    for _ in $(seq 1 "$runs"); do round "$size" results; done
done
start_server L 100000 18303
round L warmup
for i in $(seq 1 "$runs"); do echo "L round $i/$runs…"; round L results; done
hwm_l=$(hwm_mb L)

# --- small requests at 16 clients, S and L interleaved --------------------------------------
small() { # NAME SIZE QUERY
    local url="${deals_url[$2]}?$3" report
    report=$(wrk -t2 -c"$clients" -d"${small_seconds}s" --latency "$url")
    if grep -q "Non-2xx" <<<"$report"; then echo "small $1 at $2: errors" >&2; echo "$report" >&2; exit 1; fi
    # wrk prints latencies as 812.00us / 1.20ms / 1.05s: milliseconds here.
    awk -v name="$1" -v size="$2" '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }
        /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)} /^Requests\/sec/ {rps = $2}
        END {print name, size, p50, p99, rps}' <<<"$report" >>"$out/small.tsv"
}
s_unit=$(pg -d "$(db_of 1000)" -Atc "select unit_id from deals order by id offset 500 limit 1")
l_unit=$(pg -d "$(db_of 100000)" -Atc "select unit_id from deals order by id offset 100000 limit 1")
s_deal=$(pg -d "$(db_of 1000)" -Atc "select id from deals order by id offset 500 limit 1")
l_deal=$(pg -d "$(db_of 100000)" -Atc "select id from deals order by id offset 100000 limit 1")
for size in S L; do # warm-up
    wrk -t2 -c"$clients" -d2s "${deals_url[$size]}?dt_updated_last_days=1" >/dev/null
done
for kind in last_days deal_ids flat_ids; do
    for size in S L; do
        unit=$([ $size = S ] && echo "$s_unit" || echo "$l_unit")
        deal=$([ $size = S ] && echo "$s_deal" || echo "$l_deal")
        case $kind in
            last_days) small "$kind" $size "dt_updated_last_days=1" ;;
            deal_ids) small "$kind" $size "deal_ids=$deal" ;;
            flat_ids) small "$kind" $size "flat_ids=$unit" ;;
        esac
    done
done
matched_s=$(curl -s "${deals_url[S]}?dt_updated_last_days=1" | jq '.meta.count')
matched_l=$(curl -s "${deals_url[L]}?dt_updated_last_days=1" | jq '.meta.count')

# --- four clients pulling the full L deals feed at once -------------------------------------
t0=$(now)
four=()
for _ in 1 2 3 4; do curl -s -o /dev/null -w '%{time_total}\n' "${deals_url[L]}" >>"$out/four.txt" & four+=($!); done
wait "${four[@]}"
four_wall=$(awk -v a="$(now)" -v b="$t0" 'BEGIN {printf "%.2f", a - b}')
hwm_l4=$(hwm_mb L)
kill "${server[S]}" "${server[M]}" "${server[L]}"

# --- XL: the floor, and memory with twice L's data ------------------------------------------
start_server XL 200000 18304
for _ in $(seq 1 "$xl_runs"); do
    psql_timed copy XL "${copy_args[@]}"
    pull deals XL "${deals_url[XL]}"
    pull units XL "${units_url[XL]}"
done
hwm_xl=$(hwm_mb XL)
stop_servers
for size in S M L XL; do pg -d "$(db_of "${units_of[$size]}")" -qc "delete from feeds where name = 'bench run'"; done

# --- the table -------------------------------------------------------------------------------
m() { median "$@"; }
f() { printf '%.2f' "$1"; }
r() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
ok() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t ? "met" : "**not met**")}'; }
copy_l=$(m copy L 4); agg_l=$(m json_agg L 4); deals_l=$(m deals L 4); deals_gz=$(m deals_gzip L 4)
units_l=$(m units L 4); units_gz=$(m units_gzip L 4); first_l=$(m deals L 3)
copy_xl=$(m copy XL 4); deals_xl=$(m deals XL 4); units_xl=$(m units XL 4)
# CPU of a pull: the server and its PostgreSQL backends; of COPY: its backend.
copy_cpu_l=$(m copy L 7)
deals_cpu_l=$(awk -v a="$(m deals L 6)" -v b="$(m deals L 7)" 'BEGIN {print a + b}')
units_cpu_l=$(awk -v a="$(m units L 6)" -v b="$(m units L 7)" 'BEGIN {print a + b}')
small_ratio() { # KIND COLUMN
    awk -v k="$1" -v c="$2" '$1 == k {v[$2] = $c} END {printf "%.2f", v["L"] / v["S"]}' "$out/small.tsv"
}
{
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' + uncommitted src'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(pg -Atc 'show server_version' | cut -d' ' -f1) on the same machine (shared: timings are noisy)."
    echo "Command: \`RUNS=$runs AGG_RUNS=$agg_runs XL_RUNS=$xl_runs SMALL_SECONDS=$small_seconds bash bench/run.sh\` ($(( ($(date +%s) - started) / 60 )) min, datasets present). Medians of $runs interleaved rounds after a warm-up ($agg_runs for json_agg, $xl_runs at XL)."
    echo
    echo "| target | measured | ratio | goal | |"
    echo "|---|---|---|---|---|"
    echo "| deals feed at L / COPY floor | $(f "$deals_l") s / $(f "$copy_l") s | $(r "$deals_l" "$copy_l") | ≤ 1.5 | $(ok "$(r "$deals_l" "$copy_l")" 1.5) |"
    echo "| units feed at L / COPY floor | $(f "$units_l") s / $(f "$copy_l") s | $(r "$units_l" "$copy_l") | ≤ 1.5 | $(ok "$(r "$units_l" "$copy_l")" 1.5) |"
    echo "| deals feed at XL / COPY floor | $(f "$deals_xl") s / $(f "$copy_xl") s | $(r "$deals_xl" "$copy_xl") | ≤ 1.5 | $(ok "$(r "$deals_xl" "$copy_xl")" 1.5) |"
    echo "| units feed at XL / COPY floor | $(f "$units_xl") s / $(f "$copy_xl") s | $(r "$units_xl" "$copy_xl") | ≤ 1.5 | $(ok "$(r "$units_xl" "$copy_xl")" 1.5) |"
    echo "| CPU of a deals pull at L / of COPY (server + PG) | $(f "$deals_cpu_l") s / $(f "$copy_cpu_l") s | $(r "$deals_cpu_l" "$copy_cpu_l") | ≤ 2 | $(ok "$(r "$deals_cpu_l" "$copy_cpu_l")" 2) |"
    echo "| CPU of a units pull at L / of COPY (server + PG) | $(f "$units_cpu_l") s / $(f "$copy_cpu_l") s | $(r "$units_cpu_l" "$copy_cpu_l") | | |"
    echo "| four concurrent L deals pulls / one alone | $four_wall s / $(f "$deals_l") s | $(r "$four_wall" "$deals_l") | ≤ 2.2 | $(ok "$(r "$four_wall" "$deals_l")" 2.2) |"
    echo "| deals feed at L / json_agg baseline | $(f "$deals_l") s / $(f "$agg_l") s | $(r "$deals_l" "$agg_l") | ≤ 0.4 | $(ok "$(r "$deals_l" "$agg_l")" 0.4) |"
    echo "| first byte / json_agg total | $(printf '%.3f' "$first_l") s / $(f "$agg_l") s | $(awk -v a="$first_l" -v b="$agg_l" 'BEGIN {printf "%.4f", a / b}') | ≤ 0.02 | $(ok "$(r "$first_l" "$agg_l")" 0.02) |"
    echo "| server peak RSS at L | $hwm_l MB | | ≤ 50 MB | $(ok "$hwm_l" 50) |"
    echo "| server peak RSS at XL / at L | $hwm_xl MB / $hwm_l MB | $(r "$hwm_xl" "$hwm_l") | ≤ 50 MB, ≤ 1.10 | $(ok "$(awk -v x="$hwm_xl" -v r="$(r "$hwm_xl" "$hwm_l")" 'BEGIN {print (x <= 50 && r <= 1.10) ? 0 : 2}')" 1) |"
    echo "| deals gzip / plain at L | $(f "$deals_gz") s / $(f "$deals_l") s | $(r "$deals_gz" "$deals_l") | ≤ 1.15 | $(ok "$(r "$deals_gz" "$deals_l")" 1.15) |"
    echo "| units gzip / plain at L | $(f "$units_gz") s / $(f "$units_l") s | $(r "$units_gz" "$units_l") | ≤ 1.15 | $(ok "$(r "$units_gz" "$units_l")" 1.15) |"
    for kind in last_days deal_ids flat_ids; do
        echo "| small \`$kind\` p50 at L / at S (p99 ratio $(small_ratio $kind 4)) | $(awk -v k=$kind '$1 == k && $2 == "L" {printf "%.1f ms / ", $3} $1 == k && $2 == "S" {s = $3} END {printf "%.1f ms", s}' "$out/small.tsv") | $(small_ratio $kind 3) | ≤ 1.5 | $(ok "$(small_ratio $kind 3)" 1.5) |"
    done
    echo
    echo "Full feeds (curl to /dev/null; CPU seconds per pull: the server process, and the PostgreSQL backends serving it; for psql, its backend):"
    echo
    echo "| size | what | first byte | total | MB | server CPU | PG CPU |"
    echo "|---|---|---|---|---|---|---|"
    for size in S M L XL; do
        for what in copy json_agg deals deals_gzip units units_gzip; do
            [ "$(m $what $size 4)" != nan ] || continue
            awk -v s=$size -v w=$what -v f="$(m $what $size 3)" -v t="$(m $what $size 4)" -v b="$(m $what $size 5)" \
                -v c="$(m $what $size 6)" -v p="$(m $what $size 7)" 'BEGIN {
                    if (w == "copy" || w == "json_agg") printf "| %s | %s (psql) | | %.3f s | | | %.2f s |\n", s, w, t, p
                    else printf "| %s | %s | %.3f s | %.3f s | %.1f | %.2f s | %.2f s |\n", s, w, f, t, b / 1e6, c, p }'
        done
    done
    echo
    echo "Small requests, $clients clients for ${small_seconds} s each (wrk); \`dt_updated_last_days=1\` matches $matched_s deals at S and $matched_l at L:"
    echo
    echo "| request | size | p50 | p99 | req/s |"
    echo "|---|---|---|---|---|"
    awk '{printf "| %s | %s | %.2f ms | %.2f ms | %.0f |\n", $1, $2, $3, $4, $5}' "$out/small.tsv"
    echo
    echo "Four clients pulling the full L deals feed at once: all done in $four_wall s (each: $(sort -g "$out/four.txt" | xargs printf '%.1f ' )s; one alone: $(f "$deals_l") s); server peak RSS then $hwm_l4 MB."
} >"$out/table.md"
rm -f "$out/four.txt" "$out/backend_cpu"
cat "$out/table.md"

# Into the README, between the markers (the section is replaced whole).
awk -v table="$out/table.md" '
    /<!-- run.sh:begin -->/ {print; while ((getline line < table) > 0) print line; skip = 1; next}
    /<!-- run.sh:end -->/ {skip = 0}
    !skip' bench/README.md >"$out/README.md" && mv "$out/README.md" bench/README.md
