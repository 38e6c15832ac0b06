//! The CRM write API: items in the feeds' own shape posted back with an account's API key.
//! What you read is what you write: an item equal to what is stored changes nothing; a change
//! moves what it changes; any problem is a 422 naming every one, and nothing is written.

use domofeed::{apikeys, config::RawSettings, links::FeedKind};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::common::{load_small_fixture, TestApp};

struct Api {
    app: TestApp,
    key: String,
    deals: String,
    units: String,
}

async fn api(pool: PgPool) -> Api {
    api_with(pool, RawSettings::default()).await
}

async fn api_with(pool: PgPool, raw: RawSettings) -> Api {
    load_small_fixture(&pool).await;
    let (_, secret) = apikeys::create(&pool, 1, Some("CRM")).await.unwrap();
    let app = TestApp::spawn_with(pool, raw).await;
    let deals = app.feed(1, FeedKind::Deals, vec![]).await;
    let units = app.feed(1, FeedKind::Units, vec![]).await;
    Api {
        app,
        key: secret.expose(),
        deals,
        units,
    }
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .request(method, format!("http://{}{path}", self.app.address));
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }

    async fn post(&self, path: &str, items: &[Value]) -> (u16, Value) {
        let body = json!({ "data": items }).to_string();
        self.send(reqwest::Method::POST, path, Some(&self.key), Some(body))
            .await
    }

    async fn item(&self, feed: &str, id: i64) -> Value {
        let body = self.app.get(feed).await.json();
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn today(&self, feed: &str) -> (Vec<i64>, Vec<i64>) {
        let body = self.app.query(feed, "dt_updated_last_days=1").await.json();
        let ids = |key: &str| -> Vec<i64> {
            body[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap())
                .collect()
        };
        (ids("data"), ids("deleted"))
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn what_is_read_is_written_back(pool: PgPool) {
    let api = api(pool).await;
    // A deal posted back exactly as the feed shows it: nothing changes.
    let deal = api.item(&api.deals, 1002).await;
    let (status, body) = api.post("/api/v1/deals", std::slice::from_ref(&deal)).await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"created": 0, "updated": 0, "unchanged": 1})),
        "{body}"
    );
    assert_eq!(api.item(&api.deals, 1002).await, deal);
    assert_eq!(api.today(&api.deals).await, (vec![], vec![]));

    // One value changed: the deal (and its unit's units-feed item) moves, nothing else.
    let mut changed = deal.clone();
    changed["sum"] = json!(8500000.50);
    changed["payments"].as_array_mut().unwrap().pop();
    let (status, body) = api
        .post(
            "/api/v1/deals",
            &[changed, api.item(&api.deals, 1003).await],
        )
        .await;
    assert_eq!(
        (status, body.clone()),
        (200, json!({"created": 0, "updated": 1, "unchanged": 1})),
        "{body}"
    );
    let now = api.item(&api.deals, 1002).await;
    assert_eq!(now["sum"], json!(8500000.50));
    assert_eq!(
        now["payments"].as_array().unwrap().len(),
        2,
        "payments are a set"
    );
    assert_ne!(now["dt_updated"], deal["dt_updated"]);
    assert_eq!(api.today(&api.deals).await, (vec![1002], vec![]));
    assert_eq!(api.today(&api.units).await, (vec![101], vec![]));

    // The body's stamps are ignored; dates may be written either way; a new deal is created.
    let mut new = api.item(&api.deals, 1004).await;
    new["id"] = json!(5001);
    new["status_id"] = json!(11);
    new["is_active"] = json!(1);
    new["dt_updated"] = json!("1999-01-01 00:00:00");
    new["dogovor_day"] = json!("2025-03-01");
    new["dt_created"] = json!("2025-02-01T10:00:00+03:00");
    new["flat"] = api.item(&api.deals, 1003).await["flat"].clone();
    new["flat"]["id"] = json!(103);
    new["flat"]["sid"] = json!("pq9Rs8Tu7Vw");
    new["flat"]["number"] = json!("П-12");
    let (status, body) = api.post("/api/v1/deals", &[new]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["created"], 1);
    let created = api.item(&api.deals, 5001).await;
    assert_eq!(created["dogovor_day"], "01.03.2025");
    assert_eq!(created["dt_created"], "2025-02-01 10:00:00");
    assert_ne!(created["dt_updated"], "1999-01-01 00:00:00");

    // A units-feed item: the unit and its deal, written back as they are.
    let unit = api.item(&api.units, 101).await;
    let (status, body) = api.post("/api/v1/units", std::slice::from_ref(&unit)).await;
    assert_eq!(
        (status, body),
        (200, json!({"created": 0, "updated": 0, "unchanged": 1}))
    );
    let mut moved = unit;
    moved["price"] = json!(9000000);
    moved["params"] = json!([]);
    let (status, body) = api.post("/api/v1/units", &[moved]).await;
    assert_eq!(
        (status, body),
        (200, json!({"created": 0, "updated": 1, "unchanged": 0}))
    );
    assert_eq!(api.item(&api.units, 101).await["params"], json!([]));
    assert_eq!(
        api.item(&api.deals, 1002).await["flat"]["price"],
        json!(9000000.00)
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn every_problem_is_named_and_nothing_is_written(pool: PgPool) {
    let api = api(pool).await;
    let before = (
        api.app.get(&api.deals).await.text,
        api.app.get(&api.units).await.text,
    );
    let good = api.item(&api.deals, 1003).await;
    let mut changed = good.clone();
    changed["sum"] = json!(1);
    let mut bad = api.item(&api.deals, 1002).await;
    bad["sum"] = json!("много");
    bad["flat"]["area"] = json!(-5);
    bad["payments"][1]["day"] = json!("31.02.2025");
    bad["participants"][0]["type"] = json!("robot");
    let mut foreign = good.clone();
    foreign["id"] = json!(5002);
    foreign["flat"]["id"] = json!(201);
    let (status, body) = api
        .post("/api/v1/deals", &[changed, bad, json!("не сделка")])
        .await;
    assert_eq!(status, 422, "{body}");
    let problems: Vec<(i64, String)> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["index"].as_i64().unwrap(),
                p["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        (1, "$.data[1].sum"),
        (1, "$.data[1].flat.area"),
        (1, "$.data[1].payments[1].day"),
        (1, "$.data[1].participants[0].type"),
        (2, "$.data[2]"),
    ] {
        assert!(
            problems.contains(&(expected.0, expected.1.to_owned())),
            "{expected:?} not in {problems:?}"
        );
    }
    assert_eq!(body["text"], "5 problems: nothing was written");
    // Another account's unit: refused, nothing written (the good item neither).
    let (status, body) = api.post("/api/v1/deals", &[good.clone(), foreign]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["problems"][0],
        json!({"index": 1, "path": "$.data[1].flat", "text": "unit 201 belongs to another account"})
    );
    // The same id twice in one request.
    let (status, body) = api.post("/api/v1/deals", &[good.clone(), good]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["problems"][0]["path"], "$.data[1].id");
    let after = (
        api.app.get(&api.deals).await.text,
        api.app.get(&api.units).await.text,
    );
    assert_eq!(
        crate::deals_feed::stable(&before.0),
        crate::deals_feed::stable(&after.0)
    );
    assert_eq!(
        crate::deals_feed::stable(&before.1),
        crate::deals_feed::stable(&after.1)
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn keys_reach_their_own_account_only(pool: PgPool) {
    let api = api(pool.clone()).await;
    let deal = json!({"data": [api.item(&api.deals, 1003).await]}).to_string();
    for key in [
        None,
        Some("dfk_".to_owned() + &"x".repeat(64)),
        Some("not a key".to_owned()),
    ] {
        let (status, body) = api
            .send(
                reqwest::Method::POST,
                "/api/v1/deals",
                key.as_deref(),
                Some(deal.clone()),
            )
            .await;
        assert_eq!(status, 401, "{key:?}: {body}");
    }
    // Another account's deal and unit are as unknown as missing ones.
    for path in [
        "/api/v1/deals/2001",
        "/api/v1/units/201",
        "/api/v1/deals/999999",
        "/api/v1/units/x",
    ] {
        let (status, _) = api
            .send(reqwest::Method::DELETE, path, Some(&api.key), None)
            .await;
        assert_eq!(status, 404, "{path}");
    }
    let still: i64 = sqlx::query_scalar("select count(*) from deals where id = 2001")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(still, 1);
    // A revoked key is refused at once.
    let id = apikeys::list(&pool, Some(1)).await.unwrap()[0].id;
    apikeys::revoke(&pool, domofeed::accounts::Owner::Account(1), id)
        .await
        .unwrap();
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/deals",
            Some(&api.key),
            Some(deal),
        )
        .await;
    assert_eq!(status, 401);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn delete_leaves_a_tombstone(pool: PgPool) {
    let api = api(pool).await;
    let (status, body) = api
        .send(
            reqwest::Method::DELETE,
            "/api/v1/deals/1003",
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!((status, body), (200, json!({"deleted": {"id": 1003}})));
    assert_eq!(api.today(&api.deals).await, (vec![], vec![1003]));
    assert_eq!(api.today(&api.units).await, (vec![102], vec![]));
    // A unit goes with its deals.
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            "/api/v1/units/101",
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.today(&api.deals).await,
        (vec![], vec![1001, 1002, 1003])
    );
    assert_eq!(api.today(&api.units).await, (vec![102], vec![101]));
    let (status, _) = api
        .send(
            reqwest::Method::DELETE,
            "/api/v1/units/101",
            Some(&api.key),
            None,
        )
        .await;
    assert_eq!(status, 404, "already gone");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn large_requests_and_fast_writers_are_refused(pool: PgPool) {
    let api = api_with(
        pool,
        RawSettings {
            feed_rate_per_minute: Some("60".into()),
            ..Default::default()
        },
    )
    .await;
    let item = api.item(&api.deals, 1003).await;
    let many: Vec<Value> = (0..10_001).map(|_| item.clone()).collect();
    let (status, body) = api.post("/api/v1/deals", &many).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["text"].as_str().unwrap().contains("10000 items"),
        "{body}"
    );
    let huge = format!(
        "{{\"data\": [], \"pad\": \"{}\"}}",
        "x".repeat(64 * 1024 * 1024)
    );
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/deals",
            Some(&api.key),
            Some(huge),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/deals",
            Some(&api.key),
            Some("{".into()),
        )
        .await;
    assert_eq!((status, body["parameter"].clone()), (400, json!("body")));
    // 60 a minute with bursts of 10: a quick series gets a 429 with Retry-After.
    let mut limited = None;
    for _ in 0..15 {
        let response = api
            .app
            .client
            .post(format!("http://{}/api/v1/deals", api.app.address))
            .header("authorization", format!("Bearer {}", api.key))
            .body(json!({"data": [item]}).to_string())
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("no 429 within 15 quick requests");
    assert!(limited.headers().get("retry-after").is_some());
}

/// The write API is in /openapi.json, and its answers match the schemas there.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_write_api_is_documented(pool: PgPool) {
    let api = api(pool).await;
    let document = api.app.get("/openapi.json").await.json();
    for (path, method) in [
        ("/api/v1/deals", "post"),
        ("/api/v1/units", "post"),
        ("/api/v1/deals/{id}", "delete"),
        ("/api/v1/units/{id}", "delete"),
    ] {
        let operation = &document["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        assert!(operation["responses"]["401"].is_object(), "{method} {path}");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let counts = crate::openapi::validator(&document, "WriteCounts");
    let refused = crate::openapi::validator(&document, "WriteRefused");
    let request = crate::openapi::validator(&document, "DealsWrite");
    let item = api.item(&api.deals, 1002).await;
    crate::openapi::assert_valid(&request, &json!({"data": [item]}), "a request");
    let (_, ok) = api.post("/api/v1/deals", &[item]).await;
    crate::openapi::assert_valid(&counts, &ok, "an answer");
    let (_, bad) = api.post("/api/v1/deals", &[json!(1)]).await;
    crate::openapi::assert_valid(&refused, &bad, "a 422");
}
