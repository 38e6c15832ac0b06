//! The real binary under abuse: secrets in TRACE logs, SIGTERM during a large feed, and a corpus
//! of 10,000 malformed requests.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    time::Duration,
};

use domofeed::links::FeedKind;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::PgPool;

use crate::{
    binary,
    common::{load_small_fixture, seed_units, TestApp},
};

/// One raw HTTP/1.1 request; the status code of the answer (0 when the server closed without one).
fn raw_request(port: u16, request: &[u8]) -> u16 {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    if stream.write_all(request).is_err() {
        // The server may answer and close before a huge request is fully written.
    }
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    if reader.read_line(&mut line).is_err() {
        return 0;
    }
    line.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn get(port: u16, target: &[u8]) -> u16 {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw_request(port, &request)
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn no_token_in_trace_logs(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let token = feed
        .split('-')
        .nth(2)
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = binary::serve(&pool, &[("RUST_LOG", "trace")], Some(log));
    let port = server.port();
    let wrong = format!("{}{}", &feed[..feed.len() - 10], "AAAAAAAAA/");
    let targets = [
        feed.clone(),
        format!("{feed}?deal_ids=x"),
        format!("{feed}?date_format=%25Y&_t=1"),
        wrong,
        format!("{}?only_active=1", feed.trim_end_matches('/')),
        format!("/dc-api/feeds/999999-{token}/"),
        format!("/nope/{token}"),
    ];
    let statuses = tokio::task::spawn_blocking(move || {
        targets
            .iter()
            .map(|t| get(port, t.as_bytes()))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    assert_eq!(statuses, [200, 400, 400, 404, 200, 404, 404]);
    std::thread::sleep(Duration::from_millis(300));
    drop(server);
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.lines().count() > 20,
        "TRACE logging produced too little to mean anything:\n{logs}"
    );
    for start in 0..=token.len() - 20 {
        let piece = &token[start..start + 20];
        assert!(
            !logs.contains(piece),
            "a 20-character piece of the token is in the logs"
        );
    }
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn sigterm_lets_a_running_feed_finish_then_exits_0(pool: PgPool) {
    seed_units(&pool, 3000).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    let mut server = binary::serve(&pool, &[("DOMOFEED_SHUTDOWN_GRACE", "60")], None);
    let port = server.port();
    let (body, refused_after, exit) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET {feed} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut first = [0u8; 4096];
        let n = stream.read(&mut first).unwrap();
        assert!(n > 0);
        server.signal("TERM");
        std::thread::sleep(Duration::from_millis(300));
        let refused_after = TcpStream::connect(("127.0.0.1", port)).is_err();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).unwrap();
        let exit = server
            .wait_for_exit(Duration::from_secs(90))
            .expect("the server exits after SIGTERM");
        let mut all = first[..n].to_vec();
        all.extend_from_slice(&rest);
        (all, refused_after, exit)
    })
    .await
    .unwrap();
    assert_eq!(exit.code(), Some(0), "exit status after SIGTERM");
    assert!(refused_after, "no new connections once shutdown began");
    let text = String::from_utf8(body).unwrap();
    let (head, chunked) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"));
    // Undo the chunked encoding and check the whole feed arrived.
    let mut rest = chunked;
    let mut json = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if size == 0 {
            break;
        }
        json.push_str(&after[..size]);
        rest = &after[size + 2..];
    }
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(parsed["meta"]["count"].as_u64().unwrap() > 5000);
}

/// Builds one malformed request of the corpus.
fn malformed(rng: &mut ChaCha8Rng, feed: &str) -> Vec<u8> {
    let feed_no_slash = feed.trim_end_matches('/');
    let junk_values: [&[u8]; 16] = [
        b"2023-13-01",
        b"2023-02-30",
        b"-1",
        b"99999999999999999999999999",
        b"1e9",
        b"%zz",
        b"%C3%28",
        b"%FF%FE",
        b"1;DROP TABLE deals;--",
        b"$(reboot)",
        b"`id`",
        b"'\"",
        b"%00",
        b"..%2F..",
        b"1--2",
        b"",
    ];
    let params = [
        "dt_updated_from",
        "dt_updated_to",
        "dt_updated_last_days",
        "deal_status",
        "deal_ids",
        "flat_ids",
        "flat_status",
        "only_active",
        "date_format",
        "deal_dogovor_number",
        "dogovor_day_from",
        "ids",
        "_t",
    ];
    let mut target = feed.as_bytes().to_vec();
    match rng.gen_range(0..10) {
        0..=4 => {
            target.push(b'?');
            for i in 0..rng.gen_range(1..4) {
                if i > 0 {
                    target.push(b'&');
                }
                target.extend_from_slice(params[rng.gen_range(0..params.len())].as_bytes());
                target.push(b'=');
                target.extend_from_slice(junk_values[rng.gen_range(0..junk_values.len())]);
            }
            if rng.gen_bool(0.2) {
                target.extend_from_slice(b"&deal_ids=1&deal_ids=2");
            }
        }
        5 => {
            // Raw bytes that are not UTF-8, and control characters.
            target.extend_from_slice(b"?deal_dogovor_number=\xff\xfe\xc3\x28");
        }
        6 => {
            let count = if rng.gen_bool(0.5) { 10_000 } else { 10_001 };
            let list: Vec<String> = (1..=count).map(|i| i.to_string()).collect();
            target.extend_from_slice(format!("?deal_ids={}", list.join("-")).as_bytes());
        }
        7 => {
            let tricks = [
                "/dc-api/feeds/../../etc/passwd".to_owned(),
                "/dc-api/feeds/%2e%2e/%2e%2e/".to_owned(),
                format!("{feed_no_slash}extra/"),
                format!("{}/", &feed_no_slash[..feed_no_slash.len() - 1]),
                format!("{feed_no_slash}{}", "x".repeat(rng.gen_range(1..300))),
                "/dc-api/feeds/99999999999999999999999-abc/".to_owned(),
                "/dc-api/feeds/0-abc/".to_owned(),
                "/dc-api/feeds/-/".to_owned(),
                format!("/dc-api/feeds/1-{}/", "a".repeat(10_000)),
                "/dc-api/feeds/1-%00%00/".to_owned(),
            ];
            target = tricks[rng.gen_range(0..tricks.len())].as_bytes().to_vec();
        }
        8 => {
            let method = [
                "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW", "G\u{1}T",
            ][rng.gen_range(0..8)];
            return format!("{method} {feed} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").into_bytes();
        }
        _ => {
            target.extend_from_slice(b"?date_format=");
            for _ in 0..rng.gen_range(1..40) {
                target.push(b"YMD.-/, %sqlZ"[rng.gen_range(0..13)]);
            }
        }
    }
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(&target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    request
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn ten_thousand_malformed_requests_never_get_a_5xx(pool: PgPool) {
    load_small_fixture(&pool).await;
    let app = TestApp::spawn(pool.clone()).await;
    let feed = app.feed(1, FeedKind::Deals, vec![]).await;
    // The clients hang up after the status line; each feed build keeps its slot until its page
    // query ends. On a loaded shared machine those slots and the 5 s wait for a connection can
    // run out and answer 503: load shedding (tested elsewhere), not a malformed request getting
    // through. Room enough that only the latter could fail this test.
    let server = binary::serve(
        &pool,
        &[
            ("DOMOFEED_FEED_RATE_PER_MINUTE", "1000000"),
            ("DOMOFEED_ACQUIRE_TIMEOUT", "60"),
            ("DOMOFEED_MAX_FEED_BUILDS", "64"),
            ("DOMOFEED_POOL_SIZE", "16"),
        ],
        None,
    );
    let port = server.port();
    let huge: Vec<u8> = {
        let list: Vec<String> = (1..=1_000_000).map(|i| i.to_string()).collect();
        format!(
            "GET {feed}?deal_ids={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            list.join("-")
        )
        .into_bytes()
    };
    let one_mb = format!(
        "GET {feed}?_t={} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "x".repeat(1 << 20)
    )
    .into_bytes();

    let run = |seed: u64, count: usize, feed: String| {
        tokio::task::spawn_blocking(move || {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            for _ in 0..count {
                let request = malformed(&mut rng, &feed);
                *statuses.entry(raw_request(port, &request)).or_default() += 1;
            }
            statuses
        })
    };
    let mut totals = std::collections::BTreeMap::<u16, usize>::new();
    let mut rss_after_first_half = 0;
    for half in 0..2u64 {
        let workers: Vec<_> = (0..4)
            .map(|w| run(half * 10 + w, 1250, feed.clone()))
            .collect();
        for worker in workers {
            for (status, n) in worker.await.unwrap() {
                *totals.entry(status).or_default() += n;
            }
        }
        for big in [&huge, &one_mb] {
            *totals.entry(raw_request(port, big)).or_default() += 1;
        }
        if half == 0 {
            rss_after_first_half = server.rss_kib();
        }
    }
    let rss_after_all = server.rss_kib();
    let total: usize = totals.values().sum();
    assert!(total >= 10_000, "{totals:?}");
    for status in totals.keys() {
        // 200: a junk value of a parameter the feed ignores (`_t=…`) is still a good request.
        assert!(
            [200, 400, 404, 405, 414, 431].contains(status),
            "status {status} in {totals:?}"
        );
    }
    assert_eq!(
        get(port, feed.as_bytes()),
        200,
        "the server is still up and serving"
    );
    assert!(
        rss_after_all < rss_after_first_half + 20 * 1024,
        "memory grew from {rss_after_first_half} KiB to {rss_after_all} KiB"
    );
    eprintln!("corpus: {totals:?}; server RSS {rss_after_first_half} KiB after 5,000, {rss_after_all} KiB after 10,000");
}
