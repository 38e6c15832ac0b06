//! docs/schema.md stays true: its ```sql blocks run, in order, on a new database (as a CRM writing
//! to PostgreSQL directly would run them), the re-save moves no timestamp and the real change
//! moves exactly what it shows, and the feeds then show what the examples wrote.

use domofeed::links::FeedKind;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::common::TestApp;

const DOC: &str = include_str!("../../docs/schema.md");

/// The bodies of the document's ```sql blocks, in order.
fn sql_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sql") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```sql block");
    blocks
}

/// Every stamp of every unit and deal, as text: what a block moved.
async fn stamps(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "select 'unit ' || id, dt_updated::text || ' / ' || dt_item_updated::text from units
         union all
         select 'deal ' || id, dt_updated::text || ' / ' || dt_status_changed::text from deals
         order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// The keys whose stamps differ between two `stamps`.
fn moved(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    after
        .iter()
        .filter(|row| !before.contains(row))
        .map(|(key, _)| key.clone())
        .collect()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_worked_examples_of_the_schema_doc_run_and_show_in_the_feeds(pool: PgPool) {
    let blocks = sql_blocks(DOC);
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    for table in [
        "accounts",
        "projects",
        "houses",
        "sections",
        "organizations",
        "units",
        "unit_params",
        "unit_param_values",
        "deal_stages",
        "managers",
        "clients",
        "deals",
        "deal_participants",
        "deal_fields",
        "deal_field_values",
        "payments",
    ] {
        let insert = format!("insert into {table} (");
        assert!(
            blocks.iter().any(|b| b.contains(&insert)),
            "no example writes {table}"
        );
    }
    let (mut resave, mut change) = (false, false);
    for block in &blocks {
        let before = stamps(&pool).await;
        sqlx::raw_sql(block)
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{block}"));
        let moved = moved(&before, &stamps(&pool).await);
        if block.contains("A re-save that changes nothing") {
            assert!(moved.is_empty(), "the re-save moved {moved:?}");
            resave = true;
        }
        if block.contains("A change of the unit") {
            assert_eq!(moved, ["deal 5001", "unit 101"]);
            change = true;
        }
    }
    assert!(resave && change, "the two checked examples are there");

    let app = TestApp::spawn(pool.clone()).await;
    let deals_feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let units_feed = app.feed(1, FeedKind::Units, vec![]).await;
    let window = "dt_updated_from=2000-01-01";
    let deals = app.query(&deals_feed, window).await.json();
    let units = app.query(&units_feed, window).await.json();
    assert_eq!(deals["meta"]["timezone"], "Asia/Yekaterinburg");
    let ids = |body: &Value, key: &str| -> Vec<i64> {
        body[key]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(ids(&deals, "data"), [5001, 5003]);
    assert_eq!(ids(&deals, "deleted"), [5002]);
    assert_eq!(ids(&units, "data"), [101, 103]);
    assert_eq!(ids(&units, "deleted"), [102]);

    let deal = &deals["data"][0];
    assert_eq!(deal["status_id"], 2);
    assert_eq!(deal["status_title"], "ДДУ зарегистрирован");
    assert_eq!(deal["is_active"], 1);
    assert_eq!(deal["dogovor_number"], "ДДУ-БР/101");
    assert_eq!(deal["dogovor_day"], "14.03.2025");
    assert_eq!(deal["day_reg_end"], "02.04.2025");
    assert_eq!(deal["manager"], json!({"id": 7, "name": "Петрова Анна"}));
    assert_eq!(deal["dt_created"], "2025-03-01 10:00:00");
    let buyers: Vec<(&Value, &Value)> = deal["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (&p["name"], &p["share"]))
        .collect();
    assert_eq!(
        buyers,
        [
            (&json!("Иванов Иван Иванович"), &json!("1/2")),
            (&json!("Иванова Мария Петровна"), &json!("1/2"))
        ]
    );
    assert_eq!(
        deal["participants"][0]["passport"]["department_code"],
        "660-001"
    );
    assert_eq!(deal["participants"][0]["dt_created"], "2025-02-20 11:00:00");
    assert_eq!(
        deal["fields"],
        json!([
            {"id": 1, "title": "Банк", "type": "string", "value": "Сбербанк"},
            {"id": 2, "title": "Ипотека", "type": "bool", "value": 1}
        ])
    );
    let payments: Vec<(i64, &str)> = deal["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        payments,
        [(70001, "plan"), (70002, "plan"), (70003, "fact")]
    );
    let flat = &deal["flat"];
    assert_eq!(flat["id"], 101);
    assert_eq!(flat["status"], 3);
    assert_eq!(flat["house"]["title"], "Корпус 1");
    assert_eq!(flat["house"]["deadline"], "31.12.2027");
    assert_eq!(flat["section"]["title"], "Секция 1");
    assert_eq!(flat["organization"]["inn"], "6671234567");
    assert_eq!(
        flat["params"],
        json!([
            {"id": 1, "title": "Вид из окна", "type": "string", "value": "во двор"},
            {"id": 2, "title": "Высота потолков", "type": "number", "value": 2.85}
        ])
    );

    // The bulk load kept the archive's times, shown in the account's zone.
    let archived = &deals["data"][1];
    assert_eq!(archived["dt_created"], "2023-01-20 10:00:00");
    assert_eq!(archived["dt_updated"], "2023-06-01 12:00:00");
    assert_eq!(archived["dt_status_changed"], "2023-03-01 16:00:00");
    assert_eq!(units["data"][1]["dt_updated"], "2023-06-01 12:00:00");
    assert_eq!(units["data"][1]["deal"]["id"], 5003);

    // Incremental sync: today's window holds what the examples changed, not the archive.
    let today = "dt_updated_last_days=1";
    assert_eq!(
        ids(&app.query(&deals_feed, today).await.json(), "data"),
        [5001]
    );
    assert_eq!(
        ids(&app.query(&units_feed, today).await.json(), "data"),
        [101]
    );
}
