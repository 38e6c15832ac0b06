//! The units feed ("Полный от помещений") over HTTP, on the small fixture of tests/fixtures.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domofeed::links::FeedKind;
use sqlx::PgPool;

use crate::{
    common::{load_small_fixture, without_triggers, TestApp},
    deals_feed::{assert_contract_headers, assert_golden, stable},
};

async fn app_with_units_feed(pool: PgPool) -> (TestApp, String) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Units, vec![]).await;
    (app, feed)
}

async fn ids(app: &TestApp, feed: &str, query: &str) -> Vec<i64> {
    app.query(feed, query).await.ids()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn golden_small_account(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool).await;
    let answer = app.get(&feed).await;
    assert_eq!(answer.status, 200);
    assert_contract_headers(&answer.headers);
    assert_golden("units_small.json", &stable(&answer.text));
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_deal_of_a_unit_is_its_active_deal_or_null(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool).await;
    let body = app.get(&feed).await.json();
    let data = body["data"].as_array().unwrap();
    let by_id = |id: i64| data.iter().find(|u| u["id"] == id).unwrap();
    // 101 has the failed 1001 and the active 1002: the active one.
    assert_eq!(by_id(101)["deal"]["id"], 1002);
    assert!(
        by_id(101)["deal"].get("flat").is_none(),
        "the deal of a unit has no flat"
    );
    assert_eq!(
        by_id(101)["deal"]["participants"].as_array().unwrap().len(),
        2
    );
    assert_eq!(by_id(101)["deal"]["payments"].as_array().unwrap().len(), 3);
    // 104 has only the failed 1004, and is stored as sold: shown as stored, with no deal.
    assert!(by_id(104)["deal"].is_null());
    assert_eq!(by_id(104)["status"], 3);
    // 103 never had a deal.
    assert!(by_id(103)["deal"].is_null());
    assert_eq!(body["meta"]["kind"], "units");
    assert_eq!(body["meta"]["count"], 4);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn each_filter_keeps_and_drops(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool.clone()).await;
    assert_eq!(
        ids(&app, &feed, "").await,
        [101, 102, 103, 104],
        "account 2's unit stays out"
    );
    let cases: &[(&str, &[i64])] = &[
        ("ids=104-101-201", &[101, 104]),
        ("flat_ids=102", &[102]),
        ("ids=101-102&flat_ids=102-103", &[102]),
        ("flat_status=0", &[103]),
        ("flat_status=3", &[101, 104]),
        ("flat_status=1-2", &[102]),
        // The item's time (Moscow days): 101 2025-04-02 (its deal 1002 changed after the unit,
        // 2025-03-14), 102 2025-06-01, 103 2024-02-01, 104 2025-01-20.
        ("dt_updated_from=2025-01-20", &[101, 102, 104]),
        ("dt_updated_to=2025-01-20", &[103, 104]),
        ("dt_updated_from=2025-03-14&dt_updated_to=2025-03-14", &[]),
        (
            "dt_updated_from=2025-04-02&dt_updated_to=2025-04-02",
            &[101],
        ),
    ];
    for (query, expected) in cases {
        assert_eq!(&ids(&app, &feed, query).await, expected, "{query}");
    }
    // 23:59:59 and 00:00:00 local around a Yekaterinburg day (UTC+5).
    without_triggers(
        &pool,
        "update accounts set timezone = 'Asia/Yekaterinburg' where id = 1",
    )
    .await;
    let ekb: Tz = "Asia/Yekaterinburg".parse().unwrap();
    let at = |s: &str| -> DateTime<Utc> {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_local_timezone(ekb)
            .unwrap()
            .with_timezone(&Utc)
    };
    for (unit, time) in [(101, "2025-05-01 23:59:59"), (102, "2025-05-02 00:00:00")] {
        without_triggers(
            &pool,
            &format!(
                "update units set dt_updated = '{0}', dt_item_updated = '{0}' where id = {unit}",
                at(time).to_rfc3339()
            ),
        )
        .await;
    }
    assert_eq!(
        ids(
            &app,
            &feed,
            "dt_updated_to=2025-05-01&dt_updated_from=2025-05-01"
        )
        .await,
        [101]
    );
    assert_eq!(ids(&app, &feed, "dt_updated_from=2025-05-02").await, [102]);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn last_days_on_the_units_item_time(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool.clone()).await;
    // A fresh write through the triggers: the unit's own dt_updated becomes now.
    sqlx::raw_sql("update units set price = price + 1 where id = 102")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(ids(&app, &feed, "dt_updated_last_days=1").await, [102]);
    // A change to the unit's active deal changes the units-feed item (its `deal`): it comes too,
    // while the unit object's own dt_updated stays.
    sqlx::raw_sql("update deals set sum = sum + 1 where id = 1002")
        .execute(&pool)
        .await
        .unwrap();
    let answer = app.query(&feed, "dt_updated_last_days=1").await;
    assert_eq!(answer.ids(), [101, 102]);
    assert_eq!(
        answer.json()["data"][0]["dt_updated"],
        "2025-03-14 12:00:00"
    );
    // A failed deal is not shown: changing it changes no units-feed item.
    sqlx::raw_sql("update deals set sum = sum + 1 where id = 1004")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(ids(&app, &feed, "dt_updated_last_days=1").await, [101, 102]);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deal_parameters_are_ignored_and_reported(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool).await;
    let body = app
        .query(&feed, "deal_status=13&only_active=1&deal_ids=1&_t=1")
        .await
        .json();
    assert_eq!(
        body["data"].as_array().unwrap().len(),
        4,
        "deal filters do not filter units"
    );
    assert_eq!(
        body["meta"]["ignored_params"],
        serde_json::json!(["deal_status", "only_active", "deal_ids", "_t"])
    );
    let bad = app.query(&feed, "ids=1-x").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["parameter"], "ids");
    assert_eq!(
        app.query(&feed, "flat_status=9").await.json()["parameter"],
        "flat_status"
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn params_follow_date_format(pool: PgPool) {
    let (app, feed) = app_with_units_feed(pool).await;
    let body = app
        .query(&feed, "ids=101&date_format=YYYY/MM/DD")
        .await
        .json();
    let unit = &body["data"][0];
    let params = unit["params"].as_array().unwrap();
    let value = |title: &str| params.iter().find(|p| p["title"] == title).unwrap()["value"].clone();
    assert_eq!(value("Вид из окна"), "парк");
    assert_eq!(value("Высота потолков"), 2.85);
    assert_eq!(value("Дата БТИ"), "2024/11/05");
    assert_eq!(value("Угловая"), 1);
    assert_eq!(unit["house"]["deadline"], "2026/12/31");
    assert_eq!(unit["deal"]["dogovor_day"], "2025/03/14");
    assert_eq!(unit["deal"]["fields"][1]["value"], "2025/03/10");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn house_filter_limits_both_feed_kinds(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let units = app.feed(1, FeedKind::Units, vec![1]).await;
    assert_eq!(ids(&app, &units, "").await, [101, 102]);
    assert_eq!(ids(&app, &units, "ids=103-101").await, [101]);
    let deals = app.feed(1, FeedKind::Deals, vec![1]).await;
    assert_eq!(ids(&app, &deals, "").await, [1001, 1002, 1003]);
}
