//! The binary itself: `domofeed healthcheck` (the container probe), `DOMOFEED_LOG_FORMAT`, and
//! JSON log lines that carry the request id.

use std::process::{Command, Output};

use sqlx::PgPool;

use crate::{
    binary::{self, BIN},
    common::TestApp,
};

/// Runs the binary off the test's runtime thread (the server under test lives on it).
async fn run(args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env_remove("DOMOFEED_LOG_FORMAT");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn healthcheck_exits_0_when_ready_and_1_otherwise(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let ready = run(
        &["healthcheck"],
        &[("DOMOFEED_BIND", app.address.to_string())],
    )
    .await;
    assert_eq!(ready.status.code(), Some(0), "{}", stderr(&ready));

    // A port that hangs up on every connection: no answer, whatever happens to other ports.
    let closer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closer_address = closer.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = closer.accept().await {
            drop(socket);
        }
    });
    let nobody = run(
        &["healthcheck"],
        &[("DOMOFEED_BIND", closer_address.to_string())],
    )
    .await;
    assert_eq!(nobody.status.code(), Some(1));
    let text = stderr(&nobody);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("healthcheck"), "{text}");
}

#[tokio::test]
async fn a_wrong_log_format_is_one_line_naming_the_variable() {
    let output = run(
        &["healthcheck"],
        &[("DOMOFEED_LOG_FORMAT", "yaml".to_string())],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "domofeed: DOMOFEED_LOG_FORMAT: expected text or json, got \"yaml\"\n"
    );
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn json_logs_carry_the_request_id_and_route(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("secret.key");
    let server = binary::serve(
        &pool,
        &[
            ("DOMOFEED_SECRET_KEY_FILE", key_file.to_str().unwrap()),
            ("DOMOFEED_LOG_FORMAT", "json"),
            ("RUST_LOG", "warn,domofeed=info"),
        ],
        None,
    );
    let bind = server.address;

    let client = reqwest::Client::new();
    let mut answered = false;
    for _ in 0..100 {
        let sent = client
            .get(format!("http://{bind}/healthz"))
            .header("x-request-id", "probe-7")
            .send()
            .await;
        if let Ok(response) = sent {
            assert_eq!(response.headers()["x-request-id"], "probe-7");
            answered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let secret = client
        .get(format!("http://{bind}/dc-api/feeds/1-{}/", "S".repeat(64)))
        .send()
        .await
        .unwrap();
    let status = secret.status();
    let output = server.stop();
    assert!(answered, "the server never answered: {}", stderr(&output));
    assert_eq!(status, 404, "{}", stderr(&output));

    let text = stderr(&output);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answer = lines
        .iter()
        .find(|l| l["spans"][0]["request_id"] == "probe-7")
        .unwrap_or_else(|| panic!("no line with the request id:\n{text}"));
    assert_eq!(answer["spans"][0]["route"], "/healthz");
    assert_eq!(answer["fields"]["message"], "answered");
    assert_eq!(answer["fields"]["status"], 200);
    let feed = lines
        .iter()
        .find(|l| l["spans"][0]["route"] == "/dc-api/feeds/{feed}/")
        .unwrap_or_else(|| panic!("no line for the feed request:\n{text}"));
    assert!(feed["spans"][0]["request_id"].as_str().unwrap().len() == 36);
    assert!(!text.contains(&"S".repeat(64)), "the token is never logged");
}

/// A key file that other users may read is used, with a warning at start naming the fix.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_key_file_readable_by_others_is_warned_about(pool: PgPool) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("secret.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let path = key.to_str().unwrap().to_owned();
    let serve = |mode: u32| {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let env = [("DOMOFEED_SECRET_KEY_FILE", path.as_str())];
        binary::serve(&pool, &env, None).stop()
    };
    let loose = String::from_utf8(serve(0o644).stderr).unwrap();
    assert!(loose.contains("chmod 600"), "{loose}");
    assert!(loose.contains("0644"), "{loose}");
    let tight = String::from_utf8(serve(0o600).stderr).unwrap();
    assert!(!tight.contains("chmod 600"), "{tight}");
}
