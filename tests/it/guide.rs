//! The guides stay true: every command of docs/1c.md's ```sh blocks runs against a demo feed of a
//! test server (the placeholder link replaced by the real one) and prints JSON, and docs/feeds.md
//! names every key that the feeds carry.

use chrono::Utc;
use domofeed::{
    links::FeedKind,
    seed::{self, SeedOptions},
};
use sqlx::PgPool;

use crate::common::TestApp;

const GUIDE: &str = include_str!("../../docs/1c.md");
const PLACEHOLDER: &str = "https://feeds.example.ru/dc-api/feeds/248-TOKEN/";

/// The commands of the guide's ```sh blocks: comments and blank lines dropped, `\` lines joined.
fn sh_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut current = String::new();
    for line in markdown.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_sh = !in_sh && trimmed == "```sh";
            continue;
        }
        if !in_sh || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_curl_lines_of_the_1c_guide_work(pool: PgPool) {
    let options = SeedOptions {
        seed: 3,
        accounts: 1,
        units: 60,
        deals_per_unit: 2.0,
        payments_per_deal: 3.0,
        now: Utc::now(),
    };
    seed::run(&pool, &options).await.unwrap();
    let app = TestApp::spawn(pool).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let url = format!("http://{}{feed}", app.address);

    let commands = sh_commands(GUIDE);
    assert!(commands.len() >= 5, "{commands:?}");
    for command in commands {
        assert!(command.starts_with("curl "), "{command}");
        assert!(command.contains(PLACEHOLDER), "{command}");
        let command = command.replace(PLACEHOLDER, &url);
        let output = tokio::task::spawn_blocking({
            let command = command.clone();
            move || {
                std::process::Command::new("bash")
                    .args(["-o", "pipefail", "-c", &command])
                    .output()
                    .unwrap()
            }
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{command}\nexit {:?}\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        let body: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{command}\nnot JSON ({e}): {stdout:.300}"));
        // The two commands that show a 400, and the parameter each names.
        let error = if command.contains("2023-13-01") {
            Some("dt_updated_from")
        } else if command.contains("dt_updated_form=") {
            Some("dt_updated_form")
        } else {
            None
        };
        if let Some(parameter) = error {
            assert_eq!(body["status"], "error", "{command}");
            assert_eq!(body["parameter"], parameter, "{command}");
        } else {
            assert_eq!(body["meta"]["kind"], "deals", "{command}");
            assert_eq!(
                body["meta"]["count"].as_u64().unwrap() as usize,
                body["data"].as_array().unwrap().len(),
                "{command}"
            );
        }
    }
}

/// Every key of both demo feeds (items, their objects and arrays, `deleted`, `meta`) is named in
/// docs/feeds.md, as `key` in code type.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn the_contract_names_every_key_of_the_feeds(pool: PgPool) {
    let options = SeedOptions {
        seed: 5,
        accounts: 1,
        units: 60,
        deals_per_unit: 2.0,
        payments_per_deal: 3.0,
        now: Utc::now(),
    };
    seed::run(&pool, &options).await.unwrap();
    // A deletion, so that `deleted` has an entry and its keys are seen too.
    sqlx::raw_sql("delete from deals where id = (select min(id) from deals)")
        .execute(&pool)
        .await
        .unwrap();
    let app = TestApp::spawn(pool).await;
    let contract = include_str!("../../docs/feeds.md");
    let mut keys = std::collections::BTreeSet::new();
    for kind in [FeedKind::Deals, FeedKind::Units] {
        let feed = app.feed(1, kind, vec![]).await;
        let body = app
            .query(&feed, "dt_updated_last_days=1&limit=5")
            .await
            .json();
        assert!(!body["deleted"].as_array().unwrap().is_empty() || kind == FeedKind::Units);
        collect_keys(&body, &mut keys);
        collect_keys(&app.get(&feed).await.json(), &mut keys);
    }
    assert!(keys.len() > 60, "{keys:?}");
    let unnamed: Vec<&String> = keys
        .iter()
        .filter(|key| !contract.contains(&format!("`{key}`")))
        .collect();
    assert!(
        unnamed.is_empty(),
        "docs/feeds.md does not name {unnamed:?}"
    );
}

fn collect_keys(value: &serde_json::Value, keys: &mut std::collections::BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map {
                keys.insert(key.clone());
                collect_keys(child, keys);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_keys(item, keys)),
        _ => {}
    }
}
