//! Incremental sync misses nothing (migration 0005): written to as a CRM would (plain SQL on the
//! project's tables), each table moves exactly the feed items that show it into
//! `dt_updated_last_days=1`, writes that change nothing move nothing, and deletions are listed in
//! `deleted`, within the feed's houses and the request's days.

use std::collections::BTreeMap;

use domofeed::links::FeedKind;
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use sqlx::PgPool;

use crate::common::{load_small_fixture, without_triggers, TestApp};

const OLD: &str = "2020-01-01 00:00:00+00";

/// A server on the small fixture with a deals feed and a units feed over all houses.
struct Feeds {
    app: TestApp,
    deals: String,
    units: String,
}

async fn feeds(pool: PgPool) -> Feeds {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    Feeds { app, deals, units }
}

/// Every stamp in the past and no tombstones: what a write stamps now is all that is "today".
async fn age(pool: &PgPool) {
    without_triggers(
        pool,
        &format!(
            "update deals set dt_updated = '{OLD}';
             update units set dt_updated = '{OLD}', dt_item_updated = '{OLD}';
             delete from tombstones"
        ),
    )
    .await;
}

async fn write(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

impl Feeds {
    /// The ids in `data` and in `deleted` of a feed with `query`.
    async fn window(&self, feed: &str, query: &str) -> (Vec<i64>, Vec<i64>) {
        let body = self.app.query(feed, query).await.json();
        let ids = |key: &str| -> Vec<i64> {
            body[key]
                .as_array()
                .unwrap_or_else(|| panic!("no {key}: {body}"))
                .iter()
                .map(|item| item["id"].as_i64().unwrap())
                .collect()
        };
        (ids("data"), ids("deleted"))
    }

    /// Deals and units in `dt_updated_last_days=1`, each with their `deleted`.
    async fn today(&self) -> [(Vec<i64>, Vec<i64>); 2] {
        [
            self.window(&self.deals, "dt_updated_last_days=1").await,
            self.window(&self.units, "dt_updated_last_days=1").await,
        ]
    }

    /// Ages everything, writes `sql`, and checks which deals and units came into today's window.
    async fn assert_moves(&self, sql: &str, deals: &[i64], units: &[i64]) {
        age(&self.app.pool).await;
        write(&self.app.pool, sql).await;
        let [(deal_ids, _), (unit_ids, _)] = self.today().await;
        assert_eq!(deal_ids, deals, "deals moved by: {sql}");
        assert_eq!(unit_ids, units, "units-feed items moved by: {sql}");
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn each_table_moves_the_items_that_show_it(pool: PgPool) {
    let f = feeds(pool).await;
    // Units 101, 102 (house 1, section 1, organization 1), 103 (house 2, no section and no
    // organization), 104 (house 2, section 2, organization 1). Deals: 1001 (unit 101, failed),
    // 1002 (101, active), 1003 (102, active), 1004 (104, failed). A units-feed item shows its
    // active deal only.
    let cases: &[(&str, &[i64], &[i64])] = &[
        // What a unit shows: every deal of the unit shows it as `flat`.
        ("update units set price = price + 1 where id = 101", &[1001, 1002], &[101]),
        ("update units set number = 'П-13' where id = 103", &[], &[103]),
        ("update projects set title = 'ЖК Южный' where id = 1", &[1001, 1002, 1003, 1004], &[101, 102, 103, 104]),
        ("update houses set address = 'ул. Новая, 1' where id = 2", &[1004], &[103, 104]),
        ("update houses set deadline = '2027-03-31' where id = 1", &[1001, 1002, 1003], &[101, 102]),
        ("update sections set title = 'Секция А' where id = 1", &[1001, 1002, 1003], &[101, 102]),
        ("update organizations set name = 'ООО «СЗ Новый»' where id = 1", &[1001, 1002, 1003, 1004], &[101, 102, 104]),
        ("update unit_params set title = 'Угловая квартира' where id = 4", &[1001, 1002, 1003], &[101, 102]),
        ("update unit_param_values set value_string = 'лес' where unit_id = 101 and param_id = 1", &[1001, 1002], &[101]),
        ("insert into unit_param_values (account_id, unit_id, param_id, type, value_bool) values (1, 104, 4, 'bool', true)", &[1004], &[104]),
        ("delete from unit_param_values where unit_id = 102 and param_id = 4", &[1003], &[102]),
        // What a deal shows; in the units feed, only an active deal is shown.
        ("update deals set sum = sum + 1 where id = 1002", &[1002], &[101]),
        ("update deals set sum = sum + 1 where id = 1004", &[1004], &[]),
        ("update deal_stages set title = 'Бронь (устная)' where id = 11", &[1003], &[102]),
        ("update deal_stages set title = 'Отказ' where id = 13", &[1001, 1004], &[]),
        ("update managers set name = 'Смирнова О. В.' where id = 7", &[1001, 1002, 1004], &[101]),
        ("update clients set phones = '{+74950000000}' where id = 90312", &[1002], &[101]),
        ("update clients set email = 'ivanov@example.ru' where id = 90311", &[1001, 1002, 1003], &[101, 102]),
        ("update deal_participants set share_num = 1, share_den = 3 where id = 1", &[1002], &[101]),
        ("insert into deal_participants (account_id, deal_id, client_id) values (1, 1003, 90312)", &[1003], &[102]),
        ("delete from deal_participants where id = 4", &[1001], &[]),
        ("update deal_fields set title = 'Банк' where id = 3", &[1002, 1003], &[101, 102]),
        ("update deal_field_values set value_string = 'ВТБ' where deal_id = 1003 and field_id = 3", &[1003], &[102]),
        ("insert into deal_field_values (account_id, deal_id, field_id, type, value_bool) values (1, 1001, 5, 'bool', true)", &[1001], &[]),
        ("delete from deal_field_values where deal_id = 1002 and field_id = 6", &[1002], &[101]),
        ("insert into payments (account_id, deal_id, type, day, sum) values (1, 1002, 'fact', '2025-06-16', 100)", &[1002], &[101]),
        ("update payments set comment = 'Ипотека ВТБ' where id = 771203", &[1002], &[101]),
        ("delete from payments where id = 771201", &[1002], &[101]),
        // Which deal a unit shows: a failed deal revived, a deal failed, a new one.
        ("update deals set status_id = 11 where id = 1004", &[1004], &[104]),
        ("update deals set status_id = 13 where id = 1003", &[1003], &[102]),
        ("insert into deals (id, account_id, unit_id, status_id) values (1005, 1, 103, 11)", &[1005], &[103]),
    ];
    for (sql, deals, units) in cases {
        f.assert_moves(sql, deals, units).await;
    }
}

/// The value a write leaves is what counts: setting a column to what it holds moves nothing,
/// on any table, and changes no byte of either full feed.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn writes_that_change_nothing_move_nothing(pool: PgPool) {
    let f = feeds(pool).await;
    age(&f.app.pool).await;
    let before = [
        f.app.get(&f.deals).await.text,
        f.app.get(&f.units).await.text,
    ];
    for sql in [
        "update units set price = price, status = status, dt_updated = now()",
        "update unit_param_values set value_string = value_string, value_bool = value_bool",
        "update unit_params set title = title",
        "update projects set title = title",
        "update houses set title = title, address = address, deadline = deadline",
        "update sections set title = title",
        "update organizations set name = name, inn = inn",
        "update deals set sum = sum, status_id = status_id, dt_updated = now(), dt_status_changed = now()",
        "update deal_stages set title = title, kind = kind",
        "update managers set name = name",
        "update clients set name = name, phones = phones",
        "update deal_participants set share_num = share_num",
        "update deal_fields set title = title",
        "update deal_field_values set value_string = value_string",
        "update payments set sum = sum, comment = comment",
        // An upsert that finds the same row.
        "insert into payments (id, account_id, deal_id, type, day, sum, comment, dt_created)
         select id, account_id, deal_id, type, day, sum, comment, dt_created from payments
         on conflict (id) do update set sum = excluded.sum",
        // A CRM re-saving a unit and its deal as they are.
        "update units u set sid = u.sid, house_id = u.house_id, area = u.area where id = 101;
         update deals set dogovor_number = dogovor_number where unit_id = 101",
    ] {
        write(&f.app.pool, sql).await;
        let [(deals, deleted_deals), (units, deleted_units)] = f.today().await;
        assert!(
            deals.is_empty() && units.is_empty() && deleted_deals.is_empty() && deleted_units.is_empty(),
            "{sql} moved deals {deals:?} units {units:?}"
        );
    }
    let after = [
        f.app.get(&f.deals).await.text,
        f.app.get(&f.units).await.text,
    ];
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(strip_generated_at(before), strip_generated_at(after));
    }
}

fn strip_generated_at(text: &str) -> String {
    crate::deals_feed::stable(text)
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deletions_are_listed_with_their_time(pool: PgPool) {
    let f = feeds(pool).await;
    // A deal: it leaves the deals feed, and its unit's item changes (no deal any more).
    age(&f.app.pool).await;
    write(&f.app.pool, "delete from deals where id = 1003").await;
    let [(deals, deleted_deals), (units, deleted_units)] = f.today().await;
    assert_eq!((deals, deleted_deals), (vec![], vec![1003]));
    assert_eq!((units, deleted_units), (vec![102], vec![]));
    let body = f.app.query(&f.deals, "dt_updated_last_days=1").await.json();
    let dt = body["deleted"][0]["dt_deleted"].as_str().unwrap();
    assert_eq!(dt.len(), 19, "{dt}");
    assert_eq!(
        &dt[..10],
        &body["meta"]["generated_at"].as_str().unwrap()[..10]
    );

    // A unit: its deals go with it (cascade), and both are listed.
    age(&f.app.pool).await;
    write(&f.app.pool, "delete from units where id = 104").await;
    let [(deals, deleted_deals), (units, deleted_units)] = f.today().await;
    assert_eq!((deals, deleted_deals), (vec![], vec![1004]));
    assert_eq!((units, deleted_units), (vec![], vec![104]));

    // Without a dt_updated window, `deleted` is empty.
    let (_, deleted) = f.window(&f.deals, "").await;
    assert!(deleted.is_empty());
    let (_, deleted) = f.window(&f.units, "flat_status=3").await;
    assert!(deleted.is_empty());

    // An id deleted and written again is not deleted.
    write(
        &f.app.pool,
        "insert into deals (id, account_id, unit_id, status_id, dt_created)
         values (1003, 1, 102, 11, '2025-05-30 10:00:00+00')",
    )
    .await;
    let [(deals, deleted_deals), _] = f.today().await;
    assert_eq!((deals, deleted_deals), (vec![1003], vec![1004]));
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deletions_respect_the_feeds_houses(pool: PgPool) {
    let f = feeds(pool).await;
    let house_1 = f.app.feed(1, FeedKind::Units, vec![1]).await;
    let house_2 = f.app.feed(1, FeedKind::Units, vec![2]).await;
    let deals_2 = f.app.feed(1, FeedKind::Deals, vec![2]).await;
    age(&f.app.pool).await;
    write(&f.app.pool, "delete from units where id = 104").await;
    let today = "dt_updated_last_days=1";
    assert_eq!(f.window(&house_1, today).await, (vec![], vec![]));
    assert_eq!(f.window(&house_2, today).await, (vec![], vec![104]));
    assert_eq!(f.window(&deals_2, today).await, (vec![], vec![1004]));

    // A unit moved to house 1 leaves the feeds of house 2 (with its deals) but not the others.
    age(&f.app.pool).await;
    write(&f.app.pool, "update units set house_id = 1 where id = 103").await;
    assert_eq!(f.window(&house_2, today).await, (vec![], vec![103]));
    assert_eq!(f.window(&house_1, today).await, (vec![103], vec![]));
    assert_eq!(f.window(&f.units, today).await, (vec![103], vec![]));
    age(&f.app.pool).await;
    write(&f.app.pool, "update units set house_id = 2 where id = 102").await;
    assert_eq!(f.window(&f.deals, today).await, (vec![1003], vec![]));
    assert_eq!(f.window(&deals_2, today).await, (vec![1003], vec![]));
    assert_eq!(f.window(&house_1, today).await, (vec![], vec![102]));
    assert_eq!(f.window(&house_2, today).await, (vec![102], vec![]));

    // A deal moved to a unit of another house leaves the deals feeds of the old house.
    let deals_1 = f.app.feed(1, FeedKind::Deals, vec![1]).await;
    age(&f.app.pool).await;
    write(
        &f.app.pool,
        "update deals set unit_id = 102 where id = 1001",
    )
    .await;
    assert_eq!(f.window(&deals_1, today).await, (vec![], vec![1001]));
    assert_eq!(f.window(&deals_2, today).await, (vec![1001], vec![]));
    assert_eq!(f.window(&f.deals, today).await, (vec![1001], vec![]));
}

/// `deleted` follows the same day rules as `data`: the account's calendar day, both ends
/// inclusive, in a zone with DST.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deletions_follow_the_accounts_days(pool: PgPool) {
    let f = feeds(pool).await;
    without_triggers(
        &f.app.pool,
        "update accounts set timezone = 'America/New_York' where id = 1;
         insert into tombstones (account_id, kind, id, house_id, dt_deleted) values
             (1, 'deals', 9001, 1, '2024-03-10 04:59:59+00'),  -- 2024-03-09 23:59:59 EST
             (1, 'deals', 9002, 1, '2024-03-10 05:00:00+00'),  -- 2024-03-10 00:00:00 EST
             (1, 'deals', 9003, 1, '2024-03-11 03:59:59+00'),  -- 2024-03-10 23:59:59 EDT
             (1, 'deals', 9004, 1, '2024-03-11 04:00:00+00')   -- 2024-03-11 00:00:00 EDT",
    )
    .await;
    let deleted = |query: &'static str| {
        let f = &f;
        async move { f.window(&f.deals, query).await.1 }
    };
    assert_eq!(
        deleted("dt_updated_from=2024-03-10&dt_updated_to=2024-03-10").await,
        [9002, 9003]
    );
    assert_eq!(deleted("dt_updated_to=2024-03-09").await, [9001]);
    assert_eq!(deleted("dt_updated_from=2024-03-11").await, [9004]);
    let body = f
        .app
        .query(&f.deals, "dt_updated_to=2024-03-10")
        .await
        .json();
    assert_eq!(body["deleted"][2]["dt_deleted"], "2024-03-10 23:59:59");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn old_tombstones_are_pruned(pool: PgPool) {
    load_small_fixture(&pool).await;
    without_triggers(
        &pool,
        "insert into tombstones (account_id, kind, id, house_id, dt_deleted) values
             (1, 'deals', 9001, 1, now() - interval '401 days'),
             (1, 'deals', 9002, 1, now() - interval '399 days')",
    )
    .await;
    assert_eq!(
        domofeed::db::prune::tombstones(&pool, 400).await.unwrap(),
        1
    );
    let left: Vec<i64> = sqlx::query_scalar("select id from tombstones order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, [9002]);
}

/// Random CRM writes, one at a time: after each, the items whose JSON changed (other than their
/// own `dt_updated`s) are exactly the items in today's window, and the items that vanished are
/// exactly `deleted`.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn random_writes_keep_the_window_exact(pool: PgPool) {
    let f = feeds(pool).await;
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let mut moved_rounds = 0;
    for round in 0..100 {
        age(&f.app.pool).await;
        let before = [items(&f, &f.deals).await, items(&f, &f.units).await];
        let sql = random_write(&f.app.pool, &mut rng).await;
        let written = sqlx::raw_sql(&sql).execute(&f.app.pool).await;
        let after = [items(&f, &f.deals).await, items(&f, &f.units).await];
        let windows = f.today().await;
        if windows
            .iter()
            .any(|(data, deleted)| !data.is_empty() || !deleted.is_empty())
        {
            moved_rounds += 1;
        }
        for (kind, ((before, after), (window, deleted))) in ["deals", "units"]
            .iter()
            .zip(before.iter().zip(&after).zip(windows))
        {
            let changed: Vec<i64> = after
                .iter()
                .filter(|(id, item)| before.get(id) != Some(item))
                .map(|(id, _)| *id)
                .collect();
            let vanished: Vec<i64> = before
                .keys()
                .filter(|id| !after.contains_key(id))
                .copied()
                .collect();
            assert_eq!(
                (&changed, &vanished),
                (&window, &deleted),
                "round {round}, {kind}, after {sql} ({:?})",
                written
                    .as_ref()
                    .map(|_| "written")
                    .map_err(|e| e.to_string())
            );
        }
    }
    // Most rounds change something (the rest change nothing, or are refused): the check above
    // compared real changes, not only empty windows.
    assert!(
        moved_rounds >= 50,
        "only {moved_rounds} of 100 rounds changed anything"
    );
}

/// A feed's items by id, without the `dt_updated` of the item and of what it embeds (the
/// stamps are what the window is made of; everything else is what they stand for).
async fn items(f: &Feeds, feed: &str) -> BTreeMap<i64, Value> {
    let body = f.app.get(feed).await.json();
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let mut item = item.clone();
            strip_dt_updated(&mut item);
            (item["id"].as_i64().unwrap(), item)
        })
        .collect()
}

fn strip_dt_updated(value: &mut Value) {
    if let Value::Object(map) = value {
        map.remove("dt_updated");
        for child in map.values_mut() {
            strip_dt_updated(child);
        }
    }
}

/// One write a CRM might make, on rows that exist now; some change nothing, some are refused
/// by a constraint (then nothing may change either).
pub(crate) async fn random_write(pool: &PgPool, rng: &mut ChaCha8Rng) -> String {
    // Rows are picked by the seeded generator (not by the database's random()), so that a
    // failing sequence can be replayed.
    let mut existing = BTreeMap::new();
    for table in ["units", "deals", "payments"] {
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "select id from {table} where account_id = 1 order by id"
        ))
        .fetch_all(pool)
        .await
        .unwrap();
        existing.insert(table, ids);
    }
    let one = |table: &str, rng: &mut ChaCha8Rng| existing[table].choose(rng).copied().unwrap_or(0);
    let word = ["А", "Б", "парк", "лес", "ООО «Ромашка»"]
        .choose(rng)
        .unwrap();
    let same = rng.gen_bool(0.25);
    let value = |column: &str| {
        if same {
            column.to_owned()
        } else {
            format!("'{word}'")
        }
    };
    match rng.gen_range(0..20) {
        0 => {
            let unit = one("units", rng);
            let change = if same {
                "price"
            } else {
                "coalesce(price, 0) + 1"
            };
            format!("update units set price = {change} where id = {unit}")
        }
        1 => {
            let unit = one("units", rng);
            let house = rng.gen_range(1..=2);
            format!("update units set house_id = {house} where id = {unit}")
        }
        2 => format!(
            "update projects set title = {} where id = 1",
            value("title")
        ),
        3 => format!(
            "update houses set address = {} where id = {}",
            value("address"),
            rng.gen_range(1..=2)
        ),
        4 => format!(
            "update sections set title = {} where id = {}",
            value("title"),
            rng.gen_range(1..=2)
        ),
        5 => format!(
            "update organizations set address = {} where id = 1",
            value("address")
        ),
        6 => format!(
            "update unit_params set title = {} where id = {}",
            value("title"),
            rng.gen_range(1..=4)
        ),
        7 => {
            let unit = one("units", rng);
            if rng.gen_bool(0.5) {
                format!("delete from unit_param_values where unit_id = {unit} and param_id = 1")
            } else {
                format!(
                    "insert into unit_param_values (account_id, unit_id, param_id, type, value_string)
                     values (1, {unit}, 1, 'string', {})
                     on conflict (unit_id, param_id) do update set value_string = excluded.value_string",
                    value("'парк'")
                )
            }
        }
        8 => format!(
            "update deal_stages set title = {} where id = {}",
            value("title"),
            rng.gen_range(11..=13)
        ),
        9 => format!("update managers set name = {} where id = 7", value("name")),
        10 => format!(
            "update clients set address = {} where id = {}",
            value("address"),
            [90311, 90312].choose(rng).unwrap()
        ),
        11 => {
            let deal = one("deals", rng);
            let change = if same { "sum" } else { "coalesce(sum, 0) + 1" };
            format!("update deals set sum = {change} where id = {deal}")
        }
        12 => {
            let deal = one("deals", rng);
            format!(
                "update deals set status_id = {} where id = {deal}",
                rng.gen_range(11..=13)
            )
        }
        13 => {
            let deal = one("deals", rng);
            format!(
                "insert into payments (account_id, deal_id, type, day, sum) values (1, {deal}, 'plan', '2026-01-01', 10)"
            )
        }
        14 => {
            let payment = one("payments", rng);
            if rng.gen_bool(0.5) {
                format!("delete from payments where id = {payment}")
            } else {
                format!(
                    "update payments set comment = {} where id = {payment}",
                    value("comment")
                )
            }
        }
        15 => {
            let deal = one("deals", rng);
            let client = [90311, 90312].choose(rng).unwrap();
            if rng.gen_bool(0.5) {
                format!(
                    "delete from deal_participants where deal_id = {deal} and client_id = {client}"
                )
            } else {
                format!(
                    "insert into deal_participants (account_id, deal_id, client_id) values (1, {deal}, {client})
                     on conflict (deal_id, client_id) do nothing"
                )
            }
        }
        16 => format!(
            "update deal_fields set title = {} where id = {}",
            value("title"),
            rng.gen_range(3..=6)
        ),
        17 => {
            let deal = one("deals", rng);
            if rng.gen_bool(0.3) {
                format!("delete from deals where id = {deal}")
            } else {
                format!(
                    "update deals set dogovor_number = {} where id = {deal}",
                    value("dogovor_number")
                )
            }
        }
        18 => {
            let unit = one("units", rng);
            format!(
                "insert into deals (account_id, unit_id, status_id) values (1, {unit}, {})",
                rng.gen_range(11..=13)
            )
        }
        _ => {
            if rng.gen_bool(0.3) {
                let unit = one("units", rng);
                format!("delete from units where id = {unit}")
            } else {
                let n: u32 = rng.gen_range(1000..1_000_000);
                format!(
                    "insert into units (account_id, sid, house_id, type, number, area, floor)
                     values (1, 'random{n}', {}, 0, '{n}', 50, 3)",
                    rng.gen_range(1..=2)
                )
            }
        }
    }
}

/// No trigger function joins the two transition tables of a statement to each other. They have
/// no index, and PostgreSQL planned `old_rows × new_rows` with an estimate of one row each as a
/// nested loop: renaming an organization with 20,000 units behind it took 96 s
/// (bench/README.md; migration 0010). A transition table is joined to the table itself instead,
/// by its primary key.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn no_trigger_joins_two_transition_tables(pool: PgPool) {
    let sources: Vec<(String, String)> = sqlx::query_as(
        "select p.proname::text, p.prosrc from pg_proc p
          where p.pronamespace = 'public'::regnamespace and p.prorettype = 'trigger'::regtype",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        sources.iter().any(|(name, _)| name == "units_after_update"),
        "the triggers of 0005 are there"
    );
    // `old_rows o join new_rows n` and the like, whatever the spacing.
    let transition = |word: &str| word == "old_rows" || word == "new_rows";
    let joins_two = |source: &str| {
        let words: Vec<&str> = source.split_whitespace().collect();
        words
            .windows(4)
            .any(|w| transition(w[0]) && w[2] == "join" && transition(w[3]))
    };
    let offenders: Vec<&str> = sources
        .iter()
        .filter(|(_, source)| joins_two(source))
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(
        offenders.is_empty(),
        "transition tables joined: {offenders:?}"
    );
}
