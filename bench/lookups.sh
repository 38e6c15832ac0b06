#!/usr/bin/env bash
# Why a full deals feed costs PostgreSQL more than the COPY floor: the rows a deals feed needs,
# read the way the feed reads them (binary COPY statements, batch by batch of 1,000 deals)
# against the same tables read in their own order. Prints the CPU seconds of the PostgreSQL
# backend running each set of statements (from /proc, as run.sh measures), median of RUNS.
#
#   bash bench/lookups.sh            # the L dataset (run.sh or feeds.sh seed it), ≈1 min
#   RUNS=5 bash bench/lookups.sh 20000
set -euo pipefail
cd "$(dirname "$0")/.."

db="domofeed_bench_${1:-100000}"
runs=${RUNS:-3}
out=target/bench-lookups
mkdir -p "$out"
export PGSSLMODE=disable
pg() { psql -h 127.0.0.1 -U postgres -X -d "$db" -q "$@"; }
ticks=$(getconf CLK_TCK)

# Backend CPU seconds of running the statements of FILE, their output thrown away.
cpu() {
    {
        echo "\\o $out/cpu0"
        echo "select split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2);"
        echo "\\o /dev/null"
        echo "set max_parallel_workers_per_gather = 0;"
        cat "$1"
        echo "\\o $out/cpu1"
        echo "select split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2);"
    } >"$out/run.sql"
    pg -At -f "$out/run.sql" >/dev/null
    awk -v hz="$ticks" 'FNR == 1 {t[FILENAME] = ($12 + $13) / hz} END {printf "%.2f", t[ARGV[2]] - t[ARGV[1]]}' \
        "$out/cpu0" "$out/cpu1"
}
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
copy() { echo "copy ($1) to stdout (format binary);"; }

unit_columns="u.id, u.sid, u.type, u.number, u.status, u.rooms, u.is_studio, u.area, u.area_living,
  u.area_kitchen, u.floor, u.price, u.metr_price, u.house_id, u.section_id, u.organization_id, u.dt_updated"
client_columns="c.id, c.type, c.name, c.last_name, c.first_name, c.middle_name, c.birth_day, c.phones,
  c.email, c.passport_series, c.passport_number, c.passport_issued_by, c.passport_issue_day,
  c.passport_department_code, c.snils, c.inn, c.kpp, c.ogrn, c.address, c.dt_created"
param_columns="v.unit_id, v.param_id, v.value_string, v.value_number, v.value_date, v.value_bool"

# In table order: each table once, as COPY reads it.
copy "select $unit_columns from units u order by u.id" >"$out/units_seq.sql"
copy "select $param_columns from unit_param_values v order by v.unit_id, v.param_id" >"$out/params_seq.sql"
copy "select $client_columns from clients c order by c.id" >"$out/clients_seq.sql"
# As the feed reads them: per batch of 1,000 deals, the batch's units and their params by the
# list of their ids, and the clients through the batch's participants (load.rs: UNITS,
# UNIT_PARAMS, PARTICIPANTS).
pg -At -c "
    select 'copy (select $unit_columns from units u where u.id = any(''' || ids || '''::int8[])
             order by u.id) to stdout (format binary);'
      from (select id / 1000 as batch, '{' || string_agg(distinct unit_id::text, ',') || '}' as ids
              from deals group by 1) b order by batch" >"$out/units_feed.sql"
pg -At -c "
    select 'copy (select $param_columns from unit_param_values v where v.unit_id = any('''
           || ids || '''::int8[]) order by v.unit_id, v.param_id) to stdout (format binary);'
      from (select id / 1000 as batch, '{' || string_agg(distinct unit_id::text, ',') || '}' as ids
              from deals group by 1) b order by batch" >"$out/params_feed.sql"
pg -At -c "
    select 'copy (select p.deal_id, p.share_num, p.share_den, $client_columns
             from deal_participants p join clients c on c.id = p.client_id
             where p.deal_id between ' || lo || ' and ' || hi || ' order by p.deal_id, p.client_id)
             to stdout (format binary);'
      from (select min(id) lo, max(id) hi from deals group by id / 1000) b order by lo" \
    >"$out/clients_feed.sql"

count() { pg -At -c "select count(*) from ($1) x"; }
echo "PostgreSQL CPU seconds on $db, median of $runs:"
echo
echo "| table | in table order: rows | CPU | as a deals feed reads them: rows | CPU | ratio |"
echo "|---|---|---|---|---|---|"
for what in units params clients; do
    seq=$(for _ in $(seq 1 "$runs"); do cpu "$out/${what}_seq.sql"; echo -n " "; done | median)
    feed=$(for _ in $(seq 1 "$runs"); do cpu "$out/${what}_feed.sql"; echo -n " "; done | median)
    case $what in
        units)
            table=units
            rows=$(count "select 1 from units")
            read_rows=$(count "select distinct id / 1000, unit_id from deals") ;;
        params)
            table=unit_param_values
            rows=$(count "select 1 from unit_param_values")
            read_rows=$(count "select 1 from (select distinct id / 1000, unit_id from deals) b
                                join unit_param_values v using (unit_id)") ;;
        clients)
            table="clients (through deal_participants)"
            rows=$(count "select 1 from clients")
            read_rows=$(count "select 1 from deal_participants") ;;
    esac
    echo "| $table | $rows | $seq s | $read_rows | $feed s | $(awk -v a="$feed" -v b="$seq" 'BEGIN {printf "%.1f", a / b}') |"
done
