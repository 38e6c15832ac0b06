//! `domofeed::seed`: the same options give the same rows, the rows hold together, and a second
//! run lands next to the first.

use chrono::{DateTime, TimeZone, Utc};
use domofeed::seed::{self, SeedOptions, SeedReport};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

/// Every table a seed fills, with the order that makes a dump comparable.
const TABLES: [(&str, &str); 16] = [
    ("accounts", "id"),
    ("projects", "id"),
    ("houses", "id"),
    ("sections", "id"),
    ("organizations", "id"),
    ("managers", "id"),
    ("deal_stages", "id"),
    ("unit_params", "id"),
    ("deal_fields", "id"),
    ("units", "id"),
    ("unit_param_values", "unit_id, param_id"),
    ("clients", "id"),
    ("deals", "id"),
    ("deal_participants", "id"),
    ("deal_field_values", "deal_id, field_id"),
    ("payments", "id"),
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 15, 9, 30, 0).unwrap()
}

fn options(seed: u64, accounts: u32, units: u32) -> SeedOptions {
    SeedOptions {
        seed,
        accounts,
        units,
        deals_per_unit: 2.0,
        payments_per_deal: 5.0,
        now: now(),
    }
}

/// Each table as text, row after row.
async fn dump(db: &PgPool) -> Vec<String> {
    let mut out = Vec::new();
    for (table, order) in TABLES {
        let sql = format!(
            "select coalesce(string_agg(t::text, E'\\n' order by {order}), '') from {table} t"
        );
        out.push(sqlx::query_scalar(&sql).fetch_one(db).await.unwrap());
    }
    out
}

fn assert_same(a: &[String], b: &[String]) {
    for ((table, _), (a, b)) in TABLES.iter().zip(a.iter().zip(b)) {
        if let Some((x, y)) = a.lines().zip(b.lines()).find(|(x, y)| x != y) {
            panic!("{table} differs:\n  {x}\n  {y}");
        }
        assert_eq!(a.lines().count(), b.lines().count(), "{table} row count");
    }
}

fn counts(r: &SeedReport) -> [u64; 8] {
    [
        r.units,
        r.deals,
        r.clients,
        r.participants,
        r.field_values,
        r.param_values,
        r.payments,
        r.houses,
    ]
}

/// Seeds a database of its own twice: with `same` (after which it is dumped), then, emptied, with
/// `other`.
async fn seed_twin(
    db: &PgPool,
    name: &str,
    same: &SeedOptions,
    other: &SeedOptions,
) -> (Vec<String>, Vec<String>) {
    let options = (*db.connect_options()).clone().database(name);
    let twin = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    domofeed::db::MIGRATOR.run(&twin).await.unwrap();
    seed::run(&twin, same).await.unwrap();
    let same_dump = dump(&twin).await;
    let tables: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
    sqlx::query(&format!(
        "truncate {} restart identity cascade",
        tables.join(", ")
    ))
    .execute(&twin)
    .await
    .unwrap();
    seed::run(&twin, other).await.unwrap();
    let other_dump = dump(&twin).await;
    twin.close().await;
    (same_dump, other_dump)
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn same_options_give_the_same_rows(db: PgPool) {
    let same = options(7, 2, 120);
    let report = seed::run(&db, &same).await.unwrap();
    assert_eq!(report.account_ids, vec![1, 2]);
    let first = dump(&db).await;
    assert!(first.iter().all(|t| !t.is_empty()), "every table gets rows");

    let name = format!(
        "domofeed_seed_twin_{}_{}",
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    );
    sqlx::query(&format!("create database {name}"))
        .execute(&db)
        .await
        .unwrap();
    let twin = tokio::spawn({
        let (db, name, same) = (db.clone(), name.clone(), same.clone());
        async move { seed_twin(&db, &name, &same, &options(8, 2, 120)).await }
    })
    .await;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&db)
        .await
        .unwrap();
    let (second, other) = twin.unwrap();

    assert_same(&first, &second);
    for (i, (table, _)) in TABLES.iter().enumerate() {
        let fixed = ["deal_stages", "unit_params", "deal_fields"].contains(table);
        assert_eq!(
            first[i] == other[i],
            fixed,
            "{table}: another seed, other rows"
        );
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn seeding_twice_adds_a_second_batch(db: PgPool) {
    let options = options(11, 1, 80);
    let one = seed::run(&db, &options).await.unwrap();
    let max_deal: i64 = sqlx::query_scalar("select max(id) from deals")
        .fetch_one(&db)
        .await
        .unwrap();
    let two = seed::run(&db, &options).await.unwrap();
    assert_eq!(one.account_ids, vec![1]);
    assert_eq!(two.account_ids, vec![2]);
    assert_eq!(
        counts(&one),
        counts(&two),
        "the same seed makes the same amount"
    );

    let deals: i64 = sqlx::query_scalar("select count(*) from deals")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(deals as u64, one.deals * 2);
    let first_of_second: i64 = sqlx::query_scalar("select min(id) from deals where account_id = 2")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(first_of_second, max_deal + 1);
    // The second batch equals the first but for ids.
    let differ: i64 = sqlx::query_scalar(
        "select count(*) from units a join units b on b.account_id = 2 and b.id = a.id + $1
          where a.account_id = 1 and (a.sid, a.number, a.area, a.price, a.dt_updated)
                                  is distinct from (b.sid, b.number, b.area, b.price, b.dt_updated)",
    )
    .bind(one.units as i64)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(differ, 0);

    // Plain inserts get the next ids, and the triggers work again.
    let (unit, open, failed): (i64, i64, i64) = sqlx::query_as(
        "select (select min(u.id) from units u where u.account_id = 2
                  and not exists (select 1 from deals d where d.unit_id = u.id and d.is_active)),
                (select id from deal_stages where account_id = 2 and title = 'Бронь'),
                (select id from deal_stages where account_id = 2 and title = 'Отказ клиента')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    let max_before: i64 = sqlx::query_scalar("select max(id) from deals")
        .fetch_one(&db)
        .await
        .unwrap();
    let (id, active): (i64, bool) = sqlx::query_as(
        "insert into deals (account_id, unit_id, status_id, is_active) values (2, $1, $2, true)
         returning id, is_active",
    )
    .bind(unit)
    .bind(failed)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(id, max_before + 1);
    assert!(
        !active,
        "deals_before_write derives is_active from the stage again"
    );
    let (id, active): (i64, bool) = sqlx::query_as(
        "insert into deals (account_id, unit_id, status_id) values (2, $1, $2) returning id, is_active",
    )
    .bind(unit)
    .bind(open)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!((id, active), (max_before + 2, true));
    for table in [
        "accounts",
        "units",
        "clients",
        "payments",
        "deal_participants",
    ] {
        let max: i64 = sqlx::query_scalar(&format!("select max(id) from {table}"))
            .fetch_one(&db)
            .await
            .unwrap();
        let next: i64 = sqlx::query_scalar(&format!(
            "select nextval(pg_get_serial_sequence('{table}', 'id'))"
        ))
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(next, max + 1, "{table}");
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn bad_options_are_refused(db: PgPool) {
    let mut bad = options(1, 1, 10);
    bad.deals_per_unit = f64::NAN;
    assert!(seed::run(&db, &bad).await.is_err());
    let accounts: i64 = sqlx::query_scalar("select count(*) from accounts")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(accounts, 0);
}

mod holds_together {
    use super::*;

    fn digits(s: &str) -> Option<Vec<u32>> {
        s.chars().map(|c| c.to_digit(10)).collect()
    }

    fn weighted(d: &[u32], weights: &[u32]) -> u32 {
        weights.iter().zip(d).map(|(w, x)| w * x).sum::<u32>() % 11 % 10
    }

    /// ИНН: 10 digits for an organization, 12 for a person.
    fn inn_ok(s: &str) -> bool {
        match digits(s) {
            Some(d) if d.len() == 10 => weighted(&d, &[2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[9],
            Some(d) if d.len() == 12 => {
                weighted(&d, &[7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[10]
                    && weighted(&d, &[3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]) == d[11]
            }
            _ => false,
        }
    }

    fn ogrn_ok(s: &str) -> bool {
        s.len() == 13
            && digits(s).is_some()
            && s[..12].parse::<u64>().map(|n| n % 11 % 10) == s[12..].parse::<u64>()
    }

    fn kpp_ok(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 9
            && b[..4].iter().all(u8::is_ascii_digit)
            && b[4..6]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && b[6..].iter().all(u8::is_ascii_digit)
    }

    /// СНИЛС written as "112-233-445 95".
    fn snils_ok(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() != 14 || b[3] != b'-' || b[7] != b'-' || b[11] != b' ' {
            return false;
        }
        let Some(d) = digits(&s.replace(['-', ' '], "")) else {
            return false;
        };
        let number = d[..9].iter().fold(0u64, |n, x| n * 10 + u64::from(*x));
        let sum: u32 = d[..9]
            .iter()
            .enumerate()
            .map(|(i, x)| x * (9 - i as u32))
            .sum();
        let check = match sum {
            s if s < 100 => s,
            100 | 101 => 0,
            s if s % 101 == 100 => 0,
            s => s % 101,
        };
        number > 1_001_998 && check == d[9] * 10 + d[10]
    }

    fn gcd(a: i64, b: i64) -> i64 {
        if b == 0 {
            a.abs()
        } else {
            gcd(b, a % b)
        }
    }

    async fn zero(db: &PgPool, what: &str, sql: &str) {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(db).await.unwrap();
        assert_eq!(n, 0, "{what}: {n} rows");
    }

    async fn scalar<T>(db: &PgPool, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
    {
        sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
    }

    #[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
    async fn seeded_data_holds_together(db: PgPool) {
        let report = seed::run(&db, &options(3, 2, 200)).await.unwrap();
        assert_eq!(report.units, 400);
        let per_unit = report.deals as f64 / report.units as f64;
        assert!((1.7..=2.3).contains(&per_unit), "deals per unit {per_unit}");

        let zones: Vec<String> = sqlx::query_scalar("select timezone from accounts order by id")
            .fetch_all(&db)
            .await
            .unwrap();
        assert_eq!(zones, ["Europe/Moscow", "Asia/Yekaterinburg"]);

        // Deals, units and stages.
        zero(&db, "deal without participants", "select count(*) from deals d where not exists (select 1 from deal_participants p where p.deal_id = d.id)").await;
        zero(&db, "deal of another account's unit", "select count(*) from deals d join units u on u.id = d.unit_id where u.account_id <> d.account_id").await;
        zero(&db, "unit with two active deals", "select count(*) from (select unit_id from deals where is_active group by 1 having count(*) > 1) x").await;
        zero(&db, "is_active disagrees with the stage", "select count(*) from deals d join deal_stages s on s.id = d.status_id where d.is_active <> (s.kind <> 'failed')").await;
        zero(
            &db,
            "unit status disagrees with its active deal",
            "select count(*) from units u
               left join deals d on d.unit_id = u.id and d.is_active
               left join deal_stages s on s.id = d.status_id
              where u.status <> case when d.id is null then 0
                                     when s.kind = 'success' then 3
                                     when s.title in ('Новая заявка', 'Бронь') then 1
                                     else 2 end",
        )
        .await;
        zero(&db, "unused stage", "select count(*) from deal_stages s where not exists (select 1 from deals d where d.status_id = s.id)").await;
        zero(
            &db,
            "unit type missing",
            "select 4 * 2 - count(distinct (account_id, type)) from units",
        )
        .await;
        zero(
            &db,
            "contract dates out of order or missing",
            "select count(*) from deals d join deal_stages s on s.id = d.status_id
              where d.dogovor_day > d.day_reg_start or d.day_reg_start > d.day_reg_end
                 or (s.kind = 'success' and (d.dogovor_day is null or d.day_reg_start is null
                                             or d.day_reg_end is null or d.dogovor_number is null))
                 or (s.kind <> 'success' and d.day_reg_end is not null)",
        )
        .await;
        zero(&db, "repeated contract number", "select count(*) from (select 1 from deals where dogovor_number is not null group by account_id, dogovor_number having count(*) > 1) x").await;

        // Units look like what they are.
        zero(
            &db,
            "implausible unit",
            "select count(*) from units where sid !~ '^[A-Za-z0-9]{11}$'
                or case type
                     when 0 then not (area between 25 and 120 and rooms between 1 and 4 and area_living > 0
                                      and area_living + coalesce(area_kitchen, 0) < area
                                      and number ~ '^[0-9]+$' and (not is_studio or rooms = 1))
                     when 1 then not (area between 13 and 18 and number ~ '^П-[0-9]+$')
                     when 2 then not (area between 3 and 8 and number ~ '^К-[0-9]+$')
                     else not (number ~ '^Н-[0-9]+$')
                   end
                or (type <> 0 and (rooms is not null or area_living is not null or area_kitchen is not null or is_studio))
                or metr_price <> round(price / area, 2) or (price is null) <> (metr_price is null)",
        )
        .await;
        zero(
            &db,
            "flat price per m² outside 80k–450k",
            "select count(*) from units where type = 0 and metr_price not between 80000 and 450000",
        )
        .await;

        // Buyers and their shares.
        let shares: Vec<(i64, Option<i32>, Option<i32>)> = sqlx::query_as(
            "select deal_id, share_num, share_den from deal_participants order by deal_id, id",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        let mut sums = std::collections::BTreeMap::<i64, (i64, i64)>::new();
        for (deal, num, den) in &shares {
            let (num, den) = (
                i64::from(num.expect("a share")),
                i64::from(den.expect("a share")),
            );
            let (n, d) = sums.entry(*deal).or_insert((0, 1));
            let (sn, sd) = (*n * den + num * *d, *d * den);
            let g = gcd(sn, sd);
            (*n, *d) = (sn / g, sd / g);
        }
        assert_eq!(sums.len() as u64, report.deals);
        for (deal, sum) in &sums {
            assert_eq!(*sum, (1, 1), "shares of deal {deal}");
        }
        let per_deal = shares.len() as f64 / report.deals as f64;
        assert!(per_deal >= 1.5, "participants per deal {per_deal}");
        let max_per_deal: i64 = scalar(
            &db,
            "select max(n) from (select count(*) n from deal_participants group by deal_id) x",
        )
        .await;
        assert!(max_per_deal <= 3);
        let reused: i64 = scalar(&db, "select count(*) from (select client_id from deal_participants group by 1 having count(*) > 1) x").await;
        assert!(reused > 0, "some clients buy again");
        zero(&db, "client without deals", "select count(*) from clients c where not exists (select 1 from deal_participants p where p.client_id = c.id)").await;
        zero(
            &db,
            "person or company with the other kind's fields",
            "select count(*) from clients
              where case type
                      when 'person' then last_name is null or first_name is null or middle_name is null
                        or name <> last_name || ' ' || first_name || ' ' || middle_name or birth_day is null
                        or passport_series !~ '^[0-9]{4}$' or passport_number !~ '^[0-9]{6}$'
                        or passport_issued_by is null or passport_issue_day <= birth_day
                        or passport_department_code !~ '^[0-9]{3}-[0-9]{3}$'
                        or kpp is not null or ogrn is not null or length(inn) <> 12
                        or cardinality(phones) not between 1 and 2 or phones[1] !~ '^\\+79[0-9]{9}$'
                      else name !~ '^(ООО|АО) «.+»$' or last_name is not null or first_name is not null
                        or middle_name is not null or birth_day is not null or passport_series is not null
                        or passport_number is not null or passport_issued_by is not null
                        or passport_issue_day is not null or passport_department_code is not null
                        or snils is not null or length(inn) <> 10 or kpp is null or ogrn is null
                    end",
        )
        .await;
        zero(
            &db,
            "surname in the other gender's form",
            "select count(*) from clients where type = 'person' and (
                (middle_name ~ 'на$' and last_name ~ '(ов|ев|ёв|ин|ский|цкий)$')
                or (middle_name ~ 'ич$' and last_name ~ '(ова|ева|ёва|ина|ская|цкая|ая)$'))",
        )
        .await;

        // Registration numbers, checked digit by digit.
        let orgs: Vec<(String, String, String)> =
            sqlx::query_as("select inn, kpp, ogrn from organizations")
                .fetch_all(&db)
                .await
                .unwrap();
        assert!(!orgs.is_empty());
        for (inn, kpp, ogrn) in &orgs {
            assert!(inn.len() == 10 && inn_ok(inn), "organization ИНН {inn}");
            assert!(kpp_ok(kpp), "КПП {kpp}");
            assert!(ogrn_ok(ogrn), "ОГРН {ogrn}");
        }
        type Numbers = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let clients: Vec<Numbers> =
            sqlx::query_as("select type, inn, kpp, ogrn, snils from clients")
                .fetch_all(&db)
                .await
                .unwrap();
        let (mut inns, mut snilses) = (0, 0);
        for (kind, inn, kpp, ogrn, snils) in &clients {
            if let Some(inn) = inn {
                assert!(inn_ok(inn), "{kind} ИНН {inn}");
                inns += 1;
            }
            if let Some(snils) = snils {
                assert!(snils_ok(snils), "СНИЛС {snils}");
                snilses += 1;
            }
            if kind == "company" {
                assert!(kpp.as_deref().is_some_and(kpp_ok), "КПП {kpp:?}");
                assert!(ogrn.as_deref().is_some_and(ogrn_ok), "ОГРН {ogrn:?}");
            }
        }
        assert!(inns > clients.len() / 2 && snilses > clients.len() / 2);

        // Payments.
        zero(
            &db,
            "plan that does not add up to the deal's sum",
            "select count(*) from deals d
              where d.sum is distinct from (select sum(p.sum) from payments p where p.deal_id = d.id and p.type = 'plan')",
        )
        .await;
        zero(
            &db,
            "facts above the sum, or short of it in a won deal",
            "select count(*) from deals d join deal_stages s on s.id = d.status_id
               cross join lateral (select coalesce(sum(p.sum), 0) paid from payments p
                                    where p.deal_id = d.id and p.type = 'fact') f
              where f.paid > d.sum or (s.kind = 'success' and f.paid <> d.sum)",
        )
        .await;
        zero(
            &db,
            "non-positive payment",
            "select count(*) from payments where sum <= 0",
        )
        .await;
        let payments = report.payments as f64 / report.deals as f64;
        assert!(
            (4.0..=6.0).contains(&payments),
            "payments per deal {payments}"
        );

        // Custom fields and params: every type, values in their type's column.
        for table in [
            "deal_fields",
            "unit_params",
            "deal_field_values",
            "unit_param_values",
        ] {
            let types: Vec<String> =
                sqlx::query_scalar(&format!("select distinct type from {table} order by 1"))
                    .fetch_all(&db)
                    .await
                    .unwrap();
            assert_eq!(types, ["bool", "date", "number", "string"], "{table}");
        }
        let fields = report.field_values as f64 / report.deals as f64;
        assert!(fields >= 5.0, "field values per deal {fields}");
        assert!(report.param_values >= report.units * 2);

        // Time: everything in order and in the past, a little of it recent.
        let now = now();
        let sql = "select count(*) from deals where not (dt_created <= dt_status_changed
                     and dt_status_changed <= dt_updated and dt_updated <= $1)";
        let n: i64 = sqlx::query_scalar(sql)
            .bind(now)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(n, 0, "deal timestamps");
        let sql =
            "select count(*) from units where not (dt_created <= dt_updated and dt_updated <= $1)";
        let n: i64 = sqlx::query_scalar(sql)
            .bind(now)
            .fetch_one(&db)
            .await
            .unwrap();
        assert_eq!(n, 0, "unit timestamps");
        // The item times of migration 0005: a deal is never older than its unit; a units-feed
        // item is as new as its unit or its active deal, whichever changed last.
        zero(
            &db,
            "deal older than its unit",
            "select count(*) from deals d join units u on u.id = d.unit_id where d.dt_updated < u.dt_updated",
        )
        .await;
        zero(
            &db,
            "units-feed item time other than the later of the unit and its active deal",
            "select count(*) from units u
              where u.dt_item_updated is distinct from greatest(u.dt_updated,
                    (select max(d.dt_updated) from deals d where d.unit_id = u.id and d.is_active))",
        )
        .await;
        zero(
            &db,
            "participant, client or payment outside its deal's time",
            "select (select count(*) from deal_participants p join deals d on d.id = p.deal_id
                       join clients c on c.id = p.client_id
                      where p.dt_created not between d.dt_created and d.dt_updated or c.dt_created > p.dt_created)
                  + (select count(*) from payments p join deals d on d.id = p.deal_id
                      where p.dt_created not between d.dt_created and d.dt_updated)",
        )
        .await;
        let recent: f64 = scalar(
            &db,
            "select avg((dt_updated > timestamptz '2026-03-08')::int)::float8 from deals",
        )
        .await;
        assert!(
            recent < 0.05,
            "share of deals updated in the last week {recent}"
        );
        let old: Option<DateTime<Utc>> = scalar(&db, "select min(dt_created) from deals").await;
        assert!(
            old.is_some_and(|t| t < now - chrono::Duration::days(120)),
            "history reaches back {old:?}"
        );

        // The triggers are back.
        let states: Vec<String> = sqlx::query_scalar(
            "select tgenabled::text from pg_trigger t join pg_class c on c.oid = t.tgrelid
              where not t.tgisinternal and c.relnamespace = to_regnamespace(current_schema())",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        assert!(states.len() >= 16, "{states:?}");
        assert!(states.iter().all(|s| s == "O"), "{states:?}");
        let role: String = scalar(&db, "select current_setting('session_replication_role')").await;
        assert_eq!(role, "origin");
    }
}
