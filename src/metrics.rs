//! Prometheus metrics: requests by route template and status, feed build time, items and bytes
//! by feed kind, the database pool. Counters and their text encoding only: the `/metrics` route
//! and the middleware that counts answers are `http::ops`'s.
//!
//! One process-wide registry (prometheus-client, the Prometheus project's own Rust client): the
//! families are plain statics, so any module can count without threading a handle through the
//! state, and every label is a typed struct whose values come from a closed set (a route
//! template, a status code, a feed kind's name). A path, a token or a feed id never becomes a
//! label: the URL is the secret.

use std::{sync::LazyLock, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// The families, registered once in `REGISTRY`.
struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    feed_seconds: Family<KindLabels, Histogram>,
    feed_items: Family<KindLabels, Counter>,
    feed_bytes: Family<KindLabels, Counter>,
    feeds_cut: Family<CutLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_max: Gauge,
    pool_timeouts: Counter,
    records_dropped: Counter,
    connections_refused: Counter,
    password_checks_refused: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/dc-api/feeds/{feed}/`), or `unmatched`; never the path.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    /// `deals` or `units` (`links::FeedKind::as_str`).
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Cut {
    /// The server ended the body with an error (the database failed mid-feed).
    error,
    /// The client went away before the end.
    client_left,
    /// The client stopped reading for longer than DOMOFEED_SEND_TIMEOUT.
    stalled,
}

/// How a feed body ended, as its producer knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEnd {
    Complete,
    Failed,
    ClientLeft,
    Stalled,
}

/// Counts one feed body of `kind` (`deals` or `units`): time, items and bytes of a complete one,
/// the reason of a cut one.
pub fn feed_ended(kind: &'static str, end: FeedEnd, items: u64, bytes: u64, elapsed: Duration) {
    let m = &*METRICS;
    let reason = match end {
        FeedEnd::Complete => {
            let labels = KindLabels { kind };
            m.feed_seconds
                .get_or_create(&labels)
                .observe(elapsed.as_secs_f64());
            m.feed_items.get_or_create(&labels).inc_by(items);
            m.feed_bytes.get_or_create(&labels).inc_by(bytes);
            return;
        }
        FeedEnd::Failed => Cut::error,
        FeedEnd::ClientLeft => Cut::client_left,
        FeedEnd::Stalled => Cut::stalled,
    };
    m.feeds_cut.get_or_create(&CutLabels { reason }).inc();
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CutLabels {
    reason: Cut,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum PoolState {
    in_use,
    idle,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: PoolState,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("domofeed");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP answers by route template and status",
        requests.clone(),
    );
    // 5 ms … 82 s: a filtered feed takes milliseconds, a full 100k-unit dump tens of seconds.
    let feed_seconds = Family::<KindLabels, Histogram>::new_with_constructor(|| {
        Histogram::new(exponential_buckets(0.005, 2.0, 15))
    });
    registry.register(
        "feed_build_seconds",
        "Time from the request to the last byte of a complete feed body",
        feed_seconds.clone(),
    );
    let feed_items = Family::<KindLabels, Counter>::default();
    registry.register(
        "feed_items",
        "Items sent in complete feed bodies",
        feed_items.clone(),
    );
    let feed_bytes = Family::<KindLabels, Counter>::default();
    registry.register(
        "feed_bytes",
        "Bytes of complete feed bodies, before compression",
        feed_bytes.clone(),
    );
    let feeds_cut = Family::<CutLabels, Counter>::default();
    registry.register(
        "feeds_cut",
        "Feed bodies that did not reach their end",
        feeds_cut.clone(),
    );
    let pool_connections = Family::<PoolLabels, Gauge>::default();
    registry.register(
        "db_pool_connections",
        "Open database connections of the server, in use or idle",
        pool_connections.clone(),
    );
    let pool_max = Gauge::default();
    registry.register(
        "db_pool_max_connections",
        "DOMOFEED_POOL_SIZE",
        pool_max.clone(),
    );
    let pool_timeouts = Counter::default();
    registry.register(
        "db_pool_acquire_timeouts",
        "Requests that waited DOMOFEED_ACQUIRE_TIMEOUT for a database connection in vain (503)",
        pool_timeouts.clone(),
    );
    let records_dropped = Counter::default();
    registry.register(
        "records_dropped",
        "Access-log and last-use records not written: the write queue was full or the primary failed for long",
        records_dropped.clone(),
    );
    let connections_refused = Counter::default();
    registry.register(
        "connections_refused",
        "Connections closed at once because DOMOFEED_MAX_CONNECTIONS were open",
        connections_refused.clone(),
    );
    let password_checks_refused = Counter::default();
    registry.register(
        "password_checks_refused",
        "Logins answered 503 because DOMOFEED_MAX_PASSWORD_CHECKS passwords were being checked",
        password_checks_refused.clone(),
    );
    Metrics {
        records_dropped,
        connections_refused,
        password_checks_refused,
        registry,
        requests,
        feed_seconds,
        feed_items,
        feed_bytes,
        feeds_cut,
        pool_connections,
        pool_max,
        pool_timeouts,
    }
});

/// Counts one answer by its route template (`/dc-api/feeds/{feed}/`, or `unmatched`).
pub fn count_request(route: &str, status: u16) {
    METRICS
        .requests
        .get_or_create(&RequestLabels {
            route: route.to_owned(),
            status,
        })
        .inc();
}

/// A request gave up waiting for a database connection.
pub fn pool_timed_out() {
    METRICS.pool_timeouts.inc();
}

/// `n` access-log or last-use records were dropped instead of holding up a feed.
pub fn records_dropped(n: u64) {
    METRICS.records_dropped.inc_by(n);
}

/// A connection was closed at once: the server had as many open as it may.
pub fn connection_refused() {
    METRICS.connections_refused.inc();
}

/// A login was answered 503: every password check slot was taken.
pub fn password_check_refused() {
    METRICS.password_checks_refused.inc();
}

/// The database pool as it is now: connections open, of which idle, and the most allowed.
pub fn set_pool(open: u32, idle: usize, max: u32) {
    let open = i64::from(open);
    let idle = i64::try_from(idle).unwrap_or(i64::MAX);
    let m = &*METRICS;
    m.pool_connections
        .get_or_create(&PoolLabels {
            state: PoolState::in_use,
        })
        .set((open - idle).max(0));
    m.pool_connections
        .get_or_create(&PoolLabels {
            state: PoolState::idle,
        })
        .set(idle);
    m.pool_max.set(i64::from(max));
}

/// Every metric in the OpenMetrics text format.
pub fn encode() -> Result<String, std::fmt::Error> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &METRICS.registry)?;
    Ok(text)
}
