//! Whole feeds over seeded demo data: what a 1C loader needs of them, and what a client sees
//! when the database fails in the middle of a body.

use std::collections::BTreeSet;

use domofeed::links::FeedKind;
use futures::StreamExt;
use serde_json::Value;
use sqlx::PgPool;

use crate::common::{read_until_end_or_cut, seed_units, TestApp};

async fn seeded_app(pool: PgPool, units: u32) -> TestApp {
    seed_units(&pool, units).await;
    TestApp::spawn(pool).await
}

const DEAL_KEYS: &[&str] = &[
    "id",
    "status_id",
    "status_title",
    "is_active",
    "dogovor_number",
    "dogovor_day",
    "day_reg_start",
    "day_reg_end",
    "sum",
    "manager",
    "dt_created",
    "dt_updated",
    "dt_status_changed",
    "participants",
    "fields",
    "payments",
];
const UNIT_KEYS: &[&str] = &[
    "id",
    "sid",
    "type",
    "number",
    "status",
    "rooms",
    "is_studio",
    "area",
    "area_living",
    "area_kitchen",
    "floor",
    "price",
    "metr_price",
    "project",
    "house",
    "section",
    "organization",
    "params",
    "dt_updated",
];
const PARTICIPANT_KEYS: &[&str] = &[
    "id",
    "type",
    "share",
    "name",
    "last_name",
    "first_name",
    "middle_name",
    "birth_day",
    "phones",
    "email",
    "passport",
    "snils",
    "inn",
    "kpp",
    "ogrn",
    "address",
    "dt_created",
];
const PASSPORT_KEYS: &[&str] = &[
    "series",
    "number",
    "issued_by",
    "issue_day",
    "department_code",
];
const PAYMENT_KEYS: &[&str] = &["id", "type", "day", "sum", "comment", "dt_created"];
const CUSTOM_KEYS: &[&str] = &["id", "title", "type", "value"];
const HOUSE_KEYS: &[&str] = &["id", "title", "address", "deadline"];
const ORGANIZATION_KEYS: &[&str] = &["id", "name", "inn", "kpp", "ogrn", "address"];

fn assert_keys(object: &Value, expected: &[&str], what: &str) {
    let keys: Vec<&str> = object
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, expected, "{what}");
}

/// `extra` is the key the feed adds last: `flat` on a deals-feed item, none inside a unit.
fn check_deal(deal: &Value, extra: Option<&str>) {
    let mut keys = DEAL_KEYS.to_vec();
    keys.extend(extra);
    assert_keys(deal, &keys, "deal");
    for p in deal["participants"].as_array().unwrap() {
        assert_keys(p, PARTICIPANT_KEYS, "participant");
        if !p["passport"].is_null() {
            assert_keys(&p["passport"], PASSPORT_KEYS, "passport");
        }
    }
    for p in deal["payments"].as_array().unwrap() {
        assert_keys(p, PAYMENT_KEYS, "payment");
        assert!(p["type"] == "plan" || p["type"] == "fact");
    }
    for f in deal["fields"].as_array().unwrap() {
        assert_keys(f, CUSTOM_KEYS, "field");
    }
    if !deal["manager"].is_null() {
        assert_keys(&deal["manager"], &["id", "name"], "manager");
    }
}

/// `extra` is the key the feed adds last: `deal` on a units-feed item, none inside a deal.
fn check_unit(unit: &Value, extra: Option<&str>) {
    let mut keys = UNIT_KEYS.to_vec();
    keys.extend(extra);
    assert_keys(unit, &keys, "unit");
    assert_keys(&unit["house"], HOUSE_KEYS, "house");
    assert_keys(&unit["project"], &["id", "title"], "project");
    if !unit["section"].is_null() {
        assert_keys(&unit["section"], &["id", "title"], "section");
    }
    if !unit["organization"].is_null() {
        assert_keys(&unit["organization"], ORGANIZATION_KEYS, "organization");
    }
    for p in unit["params"].as_array().unwrap() {
        assert_keys(p, CUSTOM_KEYS, "param");
    }
}

/// What `ПрочитатьJSON` and a loader need everywhere in the document: identifier keys, no empty
/// strings (a date field must be a date or null), dates in their formats.
fn walk(value: &Value, key: &str, seen: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let identifier = k.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                assert!(identifier, "key {k:?} is not a snake_case identifier");
                seen.insert(k.clone());
                walk(v, k, seen);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, key, seen)),
        Value::String(s) => {
            assert!(!s.is_empty(), "empty string under {key:?}");
            if key.starts_with("dt_") || key == "generated_at" {
                assert!(
                    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").is_ok(),
                    "{key}: {s:?}"
                );
            } else if key.ends_with("_day") || key.starts_with("day") || key == "deadline" {
                assert!(
                    chrono::NaiveDate::parse_from_str(s, "%d.%m.%Y").is_ok(),
                    "{key}: {s:?}"
                );
            }
        }
        _ => {}
    }
}

fn check_document(text: &str, kind: &str) -> Value {
    assert!(!text.starts_with('\u{feff}'), "BOM");
    let body: Value = serde_json::from_str(text).unwrap();
    let data = body["data"].as_array().unwrap();
    assert!(data.len() > 50, "too small a demo: {}", data.len());
    assert_eq!(body["meta"]["count"], data.len());
    assert_eq!(body["meta"]["kind"], kind);
    let ids: Vec<i64> = data.iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "items are ordered by id"
    );
    let mut seen = BTreeSet::new();
    walk(&body, "", &mut seen);
    body
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn full_demo_feeds_are_safe_for_1c(pool: PgPool) {
    let app = seeded_app(pool, 150).await;
    let deals_feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let units_feed = app.feed(1, FeedKind::Units, vec![]).await;

    let answer = app.get(&deals_feed).await;
    assert_eq!(answer.status, 200);
    let deals = check_document(&answer.text, "deals");
    let mut custom_types = BTreeSet::new();
    for deal in deals["data"].as_array().unwrap() {
        check_deal(deal, Some("flat"));
        check_unit(&deal["flat"], None);
        for f in deal["fields"]
            .as_array()
            .unwrap()
            .iter()
            .chain(deal["flat"]["params"].as_array().unwrap())
        {
            custom_types.insert(f["type"].as_str().unwrap().to_owned());
            if f["type"] == "bool" {
                assert!(f["value"] == 0 || f["value"] == 1 || f["value"].is_null());
            }
        }
    }
    assert_eq!(
        custom_types.into_iter().collect::<Vec<_>>(),
        ["bool", "date", "number", "string"]
    );

    let answer = app.get(&units_feed).await;
    let units = check_document(&answer.text, "units");
    let mut with_deal = 0;
    for unit in units["data"].as_array().unwrap() {
        check_unit(unit, Some("deal"));
        if !unit["deal"].is_null() {
            check_deal(&unit["deal"], None);
            assert_eq!(unit["deal"]["is_active"], 1);
            with_deal += 1;
        }
    }
    assert!(with_deal > 0);

    // The ISO date format keeps every date parseable too.
    let iso = app
        .query(&deals_feed, "date_format=YYYY-MM-DD")
        .await
        .json();
    let first = &iso["data"][0]["flat"]["house"]["deadline"];
    assert!(
        first.is_null()
            || chrono::NaiveDate::parse_from_str(first.as_str().unwrap(), "%Y-%m-%d").is_ok()
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_database_failure_mid_body_cuts_the_transfer(pool: PgPool) {
    // Far more than the socket buffers hold (≈20 MB), so the producer is still reading pages
    // from its snapshot when the client pauses.
    let app = seeded_app(pool.clone(), 3000).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let response = app
        .client
        .get(format!("http://{}{feed}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut body = stream.next().await.unwrap().unwrap().to_vec();
    // The producer fills the small channel and waits for us; kill its database session now.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let killed: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
            and query not like '%feed_access_log%' and query not like '%update feeds%') t",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    // The feed's snapshot transaction (the background writer's batches are left alone).
    assert_eq!(killed, 1, "the feed's snapshot transaction");
    let failed = read_until_end_or_cut(stream, &mut body).await;
    assert!(
        failed,
        "the transfer must end in an error, not a clean end of body"
    );
    assert!(
        serde_json::from_slice::<Value>(&body).is_err(),
        "a cut body never parses as a feed"
    );
}

/// The catalog grows batch by batch (`feeds::catalog`): a house, section or organization first
/// shown in a later batch of 1,000 is read for that batch, and every item shows its own.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn places_first_seen_in_a_later_batch_are_shown(pool: PgPool) {
    let app = seeded_app(pool.clone(), 1200).await;
    /// A unit's id, house id, house title, section id and organization id.
    type Place = (i64, i64, String, Option<i64>, Option<i64>);
    let places: Vec<Place> = sqlx::query_as(
        "select u.id, u.house_id, h.title, u.section_id, u.organization_id
           from units u join houses h on h.id = u.house_id order by u.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let of_unit = |id: i64| places.iter().find(|p| p.0 == id).unwrap();
    for kind in [FeedKind::Deals, FeedKind::Units] {
        let feed = app.feed(1, kind, vec![]).await;
        let answer = app.get(&feed).await;
        assert_eq!(answer.status, 200, "{kind:?}: {}", answer.text);
        let body = answer.json();
        let items = body["data"].as_array().unwrap();
        assert!(items.len() > 1000, "{kind:?}: one batch only");
        let mut first_batch_houses = BTreeSet::new();
        let mut later_houses = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let unit = if kind == FeedKind::Deals {
                &item["flat"]
            } else {
                item
            };
            let (_, house_id, title, section_id, organization_id) =
                of_unit(unit["id"].as_i64().unwrap());
            assert_eq!(unit["house"]["id"].as_i64(), Some(*house_id));
            assert_eq!(unit["house"]["title"].as_str(), Some(title.as_str()));
            assert_eq!(unit["section"]["id"].as_i64(), *section_id);
            assert_eq!(unit["organization"]["id"].as_i64(), *organization_id);
            assert!(unit["project"]["title"].is_string());
            if i < 1000 {
                first_batch_houses.insert(*house_id);
            } else {
                later_houses.insert(*house_id);
            }
        }
        assert!(
            !later_houses.is_subset(&first_batch_houses),
            "{kind:?}: every house of later batches was in the first"
        );
    }
}
