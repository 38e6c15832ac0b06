//! Slow and silent clients against the real binary: a half-sent request is closed by the header
//! read timeout, a silent or idle connection by the idle timeout, a connection over
//! `DOMOFEED_MAX_CONNECTIONS` at once; `/healthz` keeps answering while 300 of them hang on.
//! Only bounds are asserted ("closed within 30 s"), never speeds.

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::{binary, common::TestApp};

/// A request head cut before its end: no blank line.
const HALF_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";

/// Waits (at most `limit`) for the server to close `stream`; how long it took, or `None` if the
/// connection was still open. Whatever the server sent before closing is read and dropped.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    while started.elapsed() < limit {
        let left = limit
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return Some(started.elapsed()), // reset: closed as well
        }
    }
    None
}

/// `GET path` on a fresh connection: the status, 0 when there was no answer within 10 s.
fn status_of(address: SocketAddr, path: &str) -> u16 {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(10)) else {
        return 0;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut head = [0u8; 12];
    if stream.read_exact(&mut head).is_err() {
        return 0;
    }
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn three_hundred_half_sent_requests_are_closed_and_healthz_answers(pool: PgPool) {
    // The default timeouts: what a production server does.
    let server = binary::serve(&pool, &[], None);
    let address = server.address;
    let (healthz, closed, open_after) = tokio::task::spawn_blocking(move || {
        let mut slow: Vec<TcpStream> = (0..300)
            .map(|_| {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.write_all(HALF_REQUEST).unwrap();
                stream
            })
            .collect();
        let healthz: Vec<u16> = (0..5).map(|_| status_of(address, "/healthz")).collect();
        let started = Instant::now();
        let limit = Duration::from_secs(30);
        let mut closed = 0;
        for stream in &mut slow {
            let left = limit.saturating_sub(started.elapsed());
            if closed_within(stream, left).is_some() {
                closed += 1;
            }
        }
        (healthz, closed, 300 - closed)
    })
    .await
    .unwrap();
    assert_eq!(
        healthz, [200; 5],
        "/healthz answers while 300 requests hang half-sent"
    );
    assert_eq!(
        (closed, open_after),
        (300, 0),
        "every half-sent request is closed within 30 s"
    );
    assert_eq!(status_of(address, "/healthz"), 200);
    drop(server);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn silent_and_idle_connections_are_closed_after_the_idle_timeout(pool: PgPool) {
    let server = binary::serve(
        &pool,
        &[
            ("DOMOFEED_IDLE_TIMEOUT", "2"),
            ("DOMOFEED_HEADER_READ_TIMEOUT", "30"),
        ],
        None,
    );
    let address = server.address;
    tokio::task::spawn_blocking(move || {
        // Connects and sends nothing.
        let mut silent = TcpStream::connect(address).unwrap();
        assert!(
            closed_within(&mut silent, Duration::from_secs(20)).is_some(),
            "a silent connection is closed after the idle timeout"
        );
        // One request, kept alive, then nothing.
        let mut kept = TcpStream::connect(address).unwrap();
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut head = [0u8; 12];
        kept.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        assert!(
            closed_within(&mut kept, Duration::from_secs(20)).is_some(),
            "an idle kept-alive connection is closed after the idle timeout"
        );
        // A head begun is not an idle connection: it gets the header read timeout (30 s here).
        let mut begun = TcpStream::connect(address).unwrap();
        begun.write_all(HALF_REQUEST).unwrap();
        assert!(
            closed_within(&mut begun, Duration::from_secs(5)).is_none(),
            "a request head being sent is given the header read timeout, not the idle one"
        );
    })
    .await
    .unwrap();
    drop(server);
}

#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_connection_over_the_cap_is_closed_at_once_not_queued(pool: PgPool) {
    let server = binary::serve(&pool, &[("DOMOFEED_MAX_CONNECTIONS", "20")], None);
    let address = server.address;
    tokio::task::spawn_blocking(move || {
        let held: Vec<TcpStream> = (0..20)
            .map(|_| {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.write_all(HALF_REQUEST).unwrap();
                stream
            })
            .collect();
        // Let the server accept all twenty before the one too many.
        std::thread::sleep(Duration::from_millis(500));
        let mut over = TcpStream::connect(address).unwrap();
        let _ = over.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let mut answer = Vec::new();
        over.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let read = over.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            read.is_err_and(|e| e.kind() == ErrorKind::ConnectionReset)
                || answer.is_empty()
                || answer.starts_with("HTTP/1.1 503"),
            "over the cap: closed (with a 503 at most), got {answer:?}"
        );
        drop(held);
        // The slots come back as the held connections close.
        let started = Instant::now();
        while status_of(address, "/healthz") != 200 {
            assert!(started.elapsed() < Duration::from_secs(20));
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
    let metrics = reqwest::get(format!("http://{address}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // At least the one over the cap (a retry above may have met the cap too, before the held
    // connections' slots came back).
    let refused: u64 = metrics
        .lines()
        .find_map(|line| line.strip_prefix("domofeed_connections_refused_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    assert!(refused >= 1, "{metrics}");
    drop(server);
}

/// 1C looks response headers up by their exact spelling: Title-Case, as most servers send.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn header_names_go_out_in_title_case(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let address = app.address;
    let head = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        answer.split("\r\n\r\n").next().unwrap().to_owned()
    })
    .await
    .unwrap();
    let names: Vec<&str> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .collect();
    for expected in [
        "Content-Type",
        "Cache-Control",
        "X-Content-Type-Options",
        "X-Request-Id",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
}

/// Shutdown closes connections that have no request in progress at once: neither silent nor
/// kept-alive ones hold the process until its grace period ends.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn sigterm_closes_idle_connections_at_once(pool: PgPool) {
    let mut server = binary::serve(&pool, &[("DOMOFEED_SHUTDOWN_GRACE", "60")], None);
    let address = server.address;
    let exit = tokio::task::spawn_blocking(move || {
        let silent: Vec<TcpStream> = (0..3)
            .map(|_| TcpStream::connect(address).unwrap())
            .collect();
        let mut kept = TcpStream::connect(address).unwrap();
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        let mut head = [0u8; 12];
        kept.read_exact(&mut head).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        server.signal("TERM");
        let exit = server.wait_for_exit(Duration::from_secs(20));
        drop((silent, kept));
        exit
    })
    .await
    .unwrap();
    let exit = exit.expect("the server exits well before its grace period ends");
    assert_eq!(exit.code(), Some(0));
}

/// A request whose body stops coming (a login form announced and never sent) is answered and
/// closed: the body, too, must keep arriving.
#[sqlx::test(migrator = "domofeed::db::MIGRATOR")]
async fn a_body_that_stops_coming_is_cut(pool: PgPool) {
    let server = binary::serve(&pool, &[("DOMOFEED_HEADER_READ_TIMEOUT", "2")], None);
    let address = server.address;
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .write_all(
                b"POST /settings/login HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 1000\r\n\r\ncsrf=abc&login=",
            )
            .unwrap();
        closed_within(&mut stream, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert!(closed.is_some(), "a stalled body holds its connection");
    drop(server);
}
