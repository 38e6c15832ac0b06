//! 1C at scale: a feed loaded page by page (`limit`, `after_id`, `meta.next`), strict mode, and
//! what goes on the wire (error bodies never compressed; the status sent once the first batch is
//! loaded).

use domofeed::{config::RawSettings, links::FeedKind};
use serde_json::Value;
use sqlx::PgPool;

use crate::common::{load_small_fixture, seed_units, TestApp};

async fn small(pool: PgPool) -> (TestApp, String, String) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    (app, deals, units)
}

fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

/// The path and query of an absolute `meta.next` of this server.
fn path_of(app: &TestApp, next: &Value) -> String {
    let next = next
        .as_str()
        .unwrap_or_else(|| panic!("meta.next is {next}"));
    next.strip_prefix(&format!("http://{}", app.address))
        .unwrap_or_else(|| panic!("meta.next is not an absolute URL of this server: {next}"))
        .to_owned()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn pages_follow_meta_next_to_the_end(pool: PgPool) {
    let (app, deals, _) = small(pool).await;
    let first = app.query(&deals, "limit=2").await.json();
    assert_eq!(ids(&first), [1001, 1002]);
    assert_eq!(first["meta"]["count"], 2);
    assert_eq!(
        path_of(&app, &first["meta"]["next"]),
        format!("{deals}?limit=2&after_id=1002")
    );
    let second = app.get(&path_of(&app, &first["meta"]["next"])).await.json();
    assert_eq!(ids(&second), [1003, 1004]);
    assert!(
        second["meta"]["next"].is_null(),
        "the last page has no next"
    );

    // A page that ends exactly at the end has no next; one short of it has.
    let all = app.query(&deals, "limit=4").await.json();
    assert_eq!(ids(&all), [1001, 1002, 1003, 1004]);
    assert!(all["meta"]["next"].is_null());
    let three = app.query(&deals, "limit=3").await.json();
    assert_eq!(ids(&three), [1001, 1002, 1003]);
    let rest = app.get(&path_of(&app, &three["meta"]["next"])).await.json();
    assert_eq!(ids(&rest), [1004]);
    assert!(rest["meta"]["next"].is_null());

    // Without limit, no next; after_id alone works as a filter.
    let unpaged = app.query(&deals, "after_id=1002").await.json();
    assert_eq!(ids(&unpaged), [1003, 1004]);
    assert!(unpaged["meta"]["next"].is_null());
    let past_the_end = app.query(&deals, "limit=5&after_id=1004").await.json();
    assert_eq!(ids(&past_the_end), Vec::<i64>::new());
    assert!(past_the_end["meta"]["next"].is_null());
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn next_keeps_every_parameter_as_written(pool: PgPool) {
    let (app, deals, _) = small(pool).await;
    let query = "deal_status=11-13&date_format=YYYY-MM-DD&_t=17&deal_dogovor_number=%D0%94%D0%94%D0%A3+%E2%84%964+(%D0%9D-3)&after_id=1000&limit=1";
    let body = app.query(&deals, query).await.json();
    assert_eq!(ids(&body), [1004]);
    assert!(body["meta"]["next"].is_null());
    let query = "deal_status=11-13&date_format=YYYY-MM-DD&_t=17&after_id=0&limit=1";
    let body = app.query(&deals, query).await.json();
    assert_eq!(ids(&body), [1001]);
    assert_eq!(body["data"][0]["dogovor_day"], "2024-05-20");
    let next = path_of(&app, &body["meta"]["next"]);
    assert_eq!(
        next,
        format!("{deals}?deal_status=11-13&date_format=YYYY-MM-DD&_t=17&limit=1&after_id=1001")
    );
    // Every filter applies on every page.
    let mut seen = ids(&body);
    let mut path = next;
    while !path.is_empty() {
        let page = app.get(&path).await.json();
        assert_eq!(page["meta"]["ignored_params"], serde_json::json!(["_t"]));
        seen.extend(ids(&page));
        path = match &page["meta"]["next"] {
            Value::Null => String::new(),
            next => path_of(&app, next),
        };
    }
    assert_eq!(seen, [1001, 1003, 1004]);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn deleted_comes_on_the_first_page_only(pool: PgPool) {
    let (app, deals, _) = small(pool).await;
    sqlx::raw_sql("delete from deals where id = 1004; update deals set sum = sum + 1")
        .execute(&app.pool)
        .await
        .unwrap();
    let first = app
        .query(&deals, "dt_updated_last_days=1&limit=2")
        .await
        .json();
    assert_eq!(ids(&first), [1001, 1002]);
    assert_eq!(first["deleted"][0]["id"], 1004);
    let second = app.get(&path_of(&app, &first["meta"]["next"])).await.json();
    assert_eq!(ids(&second), [1003]);
    assert_eq!(second["deleted"], serde_json::json!([]));
}

/// A 1,200-unit account loaded in pages of 500 is the full feed, item for item.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn pages_add_up_to_the_full_feed(pool: PgPool) {
    seed_units(&pool, 1200).await;
    let app = TestApp::spawn(pool).await;
    for kind in [FeedKind::Deals, FeedKind::Units] {
        let feed = app.feed(1, kind, vec![]).await;
        let full = app.get(&feed).await.json();
        let mut items: Vec<Value> = Vec::new();
        let mut path = format!("{feed}?limit=500");
        let mut pages = 0;
        loop {
            let page = app.get(&path).await.json();
            pages += 1;
            let data = page["data"].as_array().unwrap();
            assert!(data.len() <= 500);
            assert_eq!(page["meta"]["count"], data.len());
            items.extend(data.iter().cloned());
            match &page["meta"]["next"] {
                Value::Null => break,
                next => path = path_of(&app, next),
            }
        }
        let full = full["data"].as_array().unwrap();
        assert!(full.len() > 1000, "{kind:?}: {}", full.len());
        assert_eq!(pages, full.len().div_ceil(500), "{kind:?}");
        assert!(
            items == *full,
            "{kind:?}: the pages differ from the full feed"
        );
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn bad_paging_and_strict_mode_are_400s(pool: PgPool) {
    let (app, deals, units) = small(pool).await;
    for (feed, query, parameter) in [
        (&deals, "limit=0", "limit"),
        (&deals, "limit=10001", "limit"),
        (&units, "limit=x", "limit"),
        (&deals, "after_id=-1", "after_id"),
        (&units, "after_id=abc", "after_id"),
        (
            &deals,
            "strict=1&dt_updated_form=2025-01-01",
            "dt_updated_form",
        ),
        (&units, "strict=1&deal_status=12", "deal_status"),
        (&units, "strict=true", "strict"),
    ] {
        let answer = app.query(feed, query).await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.text);
        assert_eq!(answer.json()["parameter"], parameter, "{query}");
    }
    let strict = app
        .query(&deals, "strict=1&dt_updated_form=2025-01-01&_t=1")
        .await
        .json();
    assert_eq!(
        strict["text"],
        "dt_updated_form: this feed does not know the parameter (strict=1); unknown: \"dt_updated_form\", \"_t\""
    );
    // Known parameters pass, and nothing is ignored.
    let fine = app
        .query(&deals, "strict=1&limit=10000&after_id=0&only_active=1")
        .await;
    assert_eq!(fine.status, 200, "{}", fine.text);
    assert_eq!(fine.json()["meta"]["ignored_params"], serde_json::json!([]));
    // Without strict, a misspelling is reported, not refused.
    let loose = app.query(&deals, "dt_updated_form=2025-01-01").await.json();
    assert_eq!(
        loose["meta"]["ignored_params"],
        serde_json::json!(["dt_updated_form"])
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn error_bodies_are_never_compressed(pool: PgPool) {
    let (app, deals, _) = small(pool).await;
    for encoding in ["gzip", "br", "zstd", "gzip, deflate, br"] {
        for path in [
            format!("{deals}?limit=0"),
            "/dc-api/feeds/1-nope/".to_owned(),
            "/nowhere".to_owned(),
        ] {
            let response = app
                .client
                .get(format!("http://{}{path}", app.address))
                .header("accept-encoding", encoding)
                .send()
                .await
                .unwrap();
            assert!(!response.status().is_success());
            assert!(
                response.headers().get("content-encoding").is_none(),
                "{path} with {encoding}"
            );
            let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
            assert_eq!(body["status"], "error");
        }
        let ok = app
            .client
            .get(format!("http://{}{deals}", app.address))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert!(ok.headers().get("content-encoding").is_some(), "{encoding}");
    }
}

/// A failure before the first item is a status and an error body, not a 200 cut short: the
/// response starts only once the first batch is loaded.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn an_error_before_the_first_item_is_a_proper_status(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn_with(
        pool.clone(),
        RawSettings {
            statement_timeout: Some("1".into()),
            ..Default::default()
        },
    )
    .await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    // Another session holds the deals table: the first batch waits past the statement timeout.
    let mut locker = pool.begin().await.unwrap();
    sqlx::raw_sql("lock table deals in access exclusive mode")
        .execute(&mut *locker)
        .await
        .unwrap();
    let answer = app.get(&deals).await;
    locker.rollback().await.unwrap();
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(answer.headers.get("retry-after").is_some());
    assert_eq!(answer.json()["status"], "error");
    // And once the lock is gone the feed answers.
    assert_eq!(app.get(&deals).await.status, 200);
}
