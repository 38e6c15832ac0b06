//! The OpenAPI document and the feeds cannot drift: real demo feeds, and the error bodies, are
//! validated against the document's schemas (strict: every key required, no other allowed).

use chrono::{TimeZone, Utc};
use domofeed::{
    links::FeedKind,
    seed::{self, SeedOptions},
};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::common::TestApp;

/// A validator for one component of the served document (`#/components/schemas/{name}`).
pub fn validator(document: &Value, name: &str) -> jsonschema::Validator {
    let mut schema = document.clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

pub fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .take(10)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} breaks the schema:\n{}",
        errors.join("\n")
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn feeds_and_errors_match_the_openapi_document(pool: PgPool) {
    let options = SeedOptions {
        seed: 11,
        accounts: 1,
        units: 120,
        deals_per_unit: 2.0,
        payments_per_deal: 5.0,
        now: Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap(),
    };
    seed::run(&pool, &options).await.unwrap();
    let app = TestApp::spawn(pool).await;

    let answer = app.get("/openapi.json").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.headers["content-type"],
        "application/json; charset=utf-8"
    );
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert!(document["paths"]["/dc-api/feeds/{feed}/"]["get"].is_object());
    let parameters: Vec<&str> = document["paths"]["/dc-api/feeds/{feed}/"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "feed",
        "dt_updated_last_days",
        "dt_updated_from",
        "dt_updated_to",
        "deal_status",
        "deal_ids",
        "deal_dogovor_number",
        "dt_status_changed_from",
        "dt_status_changed_to",
        "dogovor_day_from",
        "dogovor_day_to",
        "day_reg_start_from",
        "day_reg_start_to",
        "day_reg_end_from",
        "day_reg_end_to",
        "flat_status",
        "only_active",
        "flat_ids",
        "ids",
        "date_format",
        "limit",
        "after_id",
        "strict",
    ] {
        assert!(
            parameters.contains(&name),
            "parameter {name} is not documented"
        );
    }
    let responses = &document["paths"]["/dc-api/feeds/{feed}/"]["get"]["responses"];
    for status in ["200", "400", "403", "404", "429", "503"] {
        assert!(
            responses[status].is_object(),
            "answer {status} is not documented"
        );
    }
    let deal = &document["components"]["schemas"]["Deal"];
    assert_eq!(deal["additionalProperties"], false);
    assert_eq!(deal["required"].as_array().unwrap().len(), 16);

    let deals_feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let units_feed = app.feed(1, FeedKind::Units, vec![]).await;
    let deals = validator(&document, "DealsFeed");
    let units = validator(&document, "UnitsFeed");
    let either = validator(&document, "FeedBody");
    let error = validator(&document, "ErrorBody");

    let body = app.get(&deals_feed).await.json();
    assert!(body["data"].as_array().unwrap().len() > 50);
    assert_valid(&deals, &body, "the deals feed");
    assert_valid(&either, &body, "the deals feed as FeedBody");
    let iso = app
        .query(&deals_feed, "date_format=YYYY-MM-DD&_t=1")
        .await
        .json();
    assert_valid(&deals, &iso, "the deals feed with date_format");

    let body = app.get(&units_feed).await.json();
    assert!(body["data"].as_array().unwrap().len() > 50);
    assert_valid(&units, &body, "the units feed");
    assert_valid(&either, &body, "the units feed as FeedBody");
    // The schemas do tell the two feeds apart.
    assert!(!deals.is_valid(&body), "a units feed is not a deals feed");

    // Drift is caught: an extra key, a missing key, an empty date-time.
    let mut drifted = body.clone();
    drifted["data"][0]["extra"] = json!(1);
    assert!(!units.is_valid(&drifted));
    let mut drifted = body.clone();
    drifted["data"][0].as_object_mut().unwrap().remove("sid");
    assert!(!units.is_valid(&drifted));
    let mut drifted = body;
    drifted["data"][0]["dt_updated"] = json!("");
    assert!(!units.is_valid(&drifted));

    let bad = app.query(&deals_feed, "dt_updated_from=2023-13-01").await;
    assert_eq!(bad.status, 400);
    assert_valid(&error, &bad.json(), "a 400");
    let missing = app.get("/dc-api/feeds/999-nope/").await;
    assert_eq!(missing.status, 404);
    assert_valid(&error, &missing.json(), "a 404");
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_docs_page_and_its_files_are_served(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let page = app.get("/docs").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert!(page.text.contains("/openapi.json") || page.text.contains("/docs/init.js"));
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert!(page.headers.contains_key("content-security-policy"));
    // Every file the page loads is served here, with its own type: no CDN.
    for (path, content_type) in [
        ("/docs/init.js", "text/javascript; charset=utf-8"),
        ("/docs/swagger-ui.css", "text/css; charset=utf-8"),
        (
            "/docs/swagger-ui-bundle.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        assert!(page.text.contains(path), "{path} is not on the page");
        let file = app.get(path).await;
        assert_eq!(file.status, 200, "{path}");
        assert_eq!(file.headers["content-type"], content_type, "{path}");
        assert!(file.text.len() > 100, "{path}");
    }
    // The contract and the 1C guide, as text, linked from the page and the document.
    let document = app.get("/openapi.json").await.json();
    let description = document["info"]["description"].as_str().unwrap();
    for (path, heading) in [
        (
            "/docs/feeds.md",
            "# Фиды domofeed: контракт для интеграторов",
        ),
        (
            "/docs/1c.md",
            "# Фиды domofeed для 1С: руководство интегратора",
        ),
    ] {
        assert!(page.text.contains(path), "{path} is not on the page");
        assert!(description.contains(path), "{path} is not in the document");
        let guide = app.get(path).await;
        assert_eq!(guide.status, 200, "{path}");
        assert_eq!(guide.headers["content-type"], "text/plain; charset=utf-8");
        assert!(guide.text.starts_with(heading), "{path}");
    }
    let init = app.get("/docs/init.js").await.text;
    assert!(init.contains("url: \"/openapi.json\""));
    assert_eq!(app.get("/docs/").await.status, 200);
}
