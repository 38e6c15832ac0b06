//! docs/1c.md stays true: every command of its ```sh blocks runs against a demo feed of a test
//! server (the placeholder link replaced by the real one) and prints JSON.

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
        let is_error = command.contains("2023-13-01");
        if is_error {
            assert_eq!(body["status"], "error", "{command}");
            assert_eq!(body["parameter"], "dt_updated_from", "{command}");
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
