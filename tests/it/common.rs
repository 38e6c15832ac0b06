//! Helpers: a server on port 0 against the test's database (through the production entry,
//! `http::serve_on`), fixtures, feed links.

use std::net::SocketAddr;

use chrono::{DateTime, Utc};
use domofeed::{
    config::{RawSettings, Settings},
    db::{self, Purpose},
    http::{serve_on, App},
    links::{self, FeedKind, NewFeed, SecretKey},
};
use sqlx::PgPool;

/// Loads `tests/fixtures/small.sql` with the timestamp triggers off, so its timestamps stay.
pub async fn load_small_fixture(pool: &PgPool) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql(include_str!("../fixtures/small.sql"))
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("set session_replication_role = origin")
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// Runs `sql` with triggers off: sets timestamps to the values a test needs.
pub async fn without_triggers(pool: &PgPool, sql: &str) {
    let mut conn = pool.acquire().await.unwrap();
    let script = format!(
        "set session_replication_role = replica; {sql}; set session_replication_role = origin;"
    );
    sqlx::raw_sql(&script).execute(&mut *conn).await.unwrap();
}

/// Sets a deal's dt_updated without the triggers moving it.
pub async fn set_deal_updated(pool: &PgPool, deal_id: i64, at: DateTime<Utc>) {
    without_triggers(
        pool,
        &format!(
            "update deals set dt_updated = '{}' where id = {deal_id}",
            at.to_rfc3339()
        ),
    )
    .await;
}

pub struct TestApp {
    pub address: SocketAddr,
    pub pool: PgPool,
    pub key: SecretKey,
    pub client: reqwest::Client,
    /// Dropped with the TestApp: the server shuts down.
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `id`s of `data`, in order.
    pub fn ids(&self) -> Vec<i64> {
        assert_eq!(self.status, 200, "{}", self.text);
        self.json()["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    }
}

impl TestApp {
    pub async fn spawn(pool: PgPool) -> TestApp {
        TestApp::spawn_with(pool, RawSettings::default()).await
    }

    /// A server with these settings (over the defaults) on a free port, on the test's database
    /// through a pool of its own. Unless set, its public URL is its real address and its secret
    /// key is `TestApp::key`, so links it shows work.
    pub async fn spawn_with(pool: PgPool, raw: RawSettings) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let key_hex: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        let settings = Settings::from_raw(RawSettings {
            database_url: raw.database_url.clone().or(Some(test_database_url(&pool))),
            bind: Some("127.0.0.1:0".into()),
            feed_rate_per_minute: raw.feed_rate_per_minute.clone().or(Some("100000".into())),
            public_url: raw.public_url.clone().or(Some(format!("http://{address}"))),
            secret_key: raw.secret_key.clone().or(Some(key_hex)),
            ..raw
        })
        .unwrap();
        let key = settings.secret_key().unwrap();
        // The server's own pool, made as production makes it (statement timeouts included);
        // `pool` stays the test's, for fixtures and checks.
        let server_pool = db::connect(&settings, Purpose::Server).await.unwrap();
        let app = App::start(server_pool, settings).await.unwrap();
        // The server stops (and its pool closes) when the TestApp is dropped at the end of the
        // test: the test's database can then be dropped at once (PostgreSQL waits up to 5 s for
        // sessions still connected to a database being dropped).
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve_on(listener, app, shutdown).await.unwrap();
        });
        TestApp {
            address,
            pool,
            key,
            client: reqwest::Client::builder().no_gzip().build().unwrap(),
            _stop: stop,
        }
    }

    /// Creates a feed and returns its path, `/dc-api/feeds/{id}-{token}/`.
    pub async fn feed(&self, account_id: i64, kind: FeedKind, house_ids: Vec<i64>) -> String {
        let (feed, token) = links::create(
            &self.pool,
            &self.key,
            NewFeed {
                account_id,
                kind,
                name: None,
                house_ids,
                allowed_networks: vec![],
            },
        )
        .await
        .unwrap();
        format!("/dc-api/feeds/{}-{}/", feed.id, token.expose())
    }

    pub async fn get(&self, path_and_query: &str) -> Answer {
        let response = self
            .client
            .get(format!("http://{}{path_and_query}", self.address))
            .send()
            .await
            .unwrap();
        Answer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    /// GET `feed` with `query` appended.
    pub async fn query(&self, feed: &str, query: &str) -> Answer {
        self.get(&format!("{feed}?{query}")).await
    }
}

/// DATABASE_URL of the test's own database, for a child process.
pub fn test_database_url(pool: &PgPool) -> String {
    let mut url = url::Url::parse(&std::env::var("DATABASE_URL").unwrap()).unwrap();
    url.set_path(pool.connect_options().get_database().unwrap());
    url.to_string()
}

/// Seeds one demo account of `units` units (account id 1 on a fresh database).
pub async fn seed_units(pool: &PgPool, units: u32) {
    let options = domofeed::seed::SeedOptions {
        seed: 7,
        accounts: 1,
        units,
        deals_per_unit: 2.0,
        payments_per_deal: 5.0,
        now: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 29, 12, 0, 0).unwrap(),
    };
    domofeed::seed::run(pool, &options).await.unwrap();
}

/// The id in a feed path `/dc-api/feeds/{id}-{token}/`.
pub fn feed_id_of(path: &str) -> i64 {
    let segment = path.split('/').nth(3).unwrap();
    segment.split('-').next().unwrap().parse().unwrap()
}

/// Reads a streamed body to its end; true when the transfer broke instead of ending cleanly.
pub async fn read_until_end_or_cut(
    mut stream: impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin,
    body: &mut Vec<u8>,
) -> bool {
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => body.extend_from_slice(&bytes),
            Err(_) => return true,
        }
    }
    false
}

/// What a run of the `domofeed` binary printed.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `domofeed` binary with `args` against the test's database (off the async runtime).
pub async fn domofeed(pool: &PgPool, args: &[&str]) -> Run {
    let database_url = test_database_url(pool);
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_domofeed"))
            .args(&args)
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        Run {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    })
    .await
    .unwrap()
}
