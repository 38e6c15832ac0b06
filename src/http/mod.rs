//! The HTTP server: one router, one state, the contract's headers on every answer.

pub(crate) mod client;
mod error;
mod feed;
mod limits;
mod ops;
mod settings;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sqlx::PgPool;
use std::future::IntoFuture;
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

pub use error::error_response;

use crate::{
    admin::SecretKey,
    config::Settings,
    db::replicas::Reads,
    feeds::recorder::{self, Batching, Recorder, RecorderTask},
    Error, Result,
};

pub use limits::Limits;

/// What every handler can reach. Nothing here outlives a request but caches that are safe to
/// lose (the per-feed rate limiter): any number of instances can serve the same feeds.
#[derive(Clone)]
pub struct AppState {
    /// The primary: everything that writes.
    pub db: PgPool,
    /// Where feeds read from: a healthy replica, else the primary.
    pub reads: Reads,
    /// Feed access records, written to the primary in the background.
    pub recorder: Recorder,
    pub settings: Arc<Settings>,
    /// The key that seals feed tokens, for the settings page; `None` when it could not be loaded
    /// (the feeds do not need it: the page then lists links without showing them).
    pub key: Option<SecretKey>,
    pub limits: Limits,
    /// Set once shutdown has begun: `/readyz` then says not ready.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    /// The state with its background tasks running: the recorder (which writes what is left
    /// once every clone of the state is gone) and the replica checks.
    pub fn new(db: PgPool, settings: Settings) -> Result<AppState> {
        Ok(AppState::start(db, settings)?.0)
    }

    /// As `new`, keeping the recorder's task so that shutdown can flush it.
    pub fn start(db: PgPool, settings: Settings) -> Result<(AppState, RecorderTask)> {
        let reads = Reads::new(db.clone(), &settings)?;
        reads.spawn_checks();
        let (recorder, task) = recorder::start(db.clone(), Batching::default());
        let key = settings
            .secret_key()
            .map_err(|e| tracing::warn!(error = %e, "the settings page cannot show or make links"))
            .ok();
        let state = AppState {
            key,
            limits: Limits::new(&settings),
            db,
            reads,
            recorder,
            settings: Arc::new(settings),
            draining: Arc::new(AtomicBool::new(false)),
        };
        Ok((state, task))
    }
}

/// All routes, with the contract's headers and a trace span per request that names the route
/// template (never the URI: it holds the feed's token).
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(feed::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Feed and API answers are JSON; the operations routes merged below set their own type.
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        ))
        // --- operations (ops.rs): /docs, /openapi.json, /metrics; metering of every answer ---
        .merge(ops::routes())
        // --- the settings page and its API (settings/): HTML and JSON of their own ---
        .merge(settings::router())
        .layer(axum::middleware::from_fn(crate::metrics::track))
        // ---
        .with_state(state)
        .layer(ops::compression())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(ops::span)
                .on_response(ops::on_response),
        )
        // --- operations: a request id for the span (outermost) and the response header ---
        .layer(ops::propagate_request_id())
        .layer(ops::set_request_id())
}

/// Binds, then serves until Ctrl-C or SIGTERM. Then: no new connections, `/readyz` says not
/// ready, running feeds get `DOMOFEED_SHUTDOWN_GRACE` to finish, and the access records they
/// leave are written before the process exits.
pub async fn serve(settings: Settings, db: PgPool) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .map_err(|e| {
            Error::io(
                format!("DOMOFEED_BIND: cannot listen on {}", settings.bind),
                e,
            )
        })?;
    tracing::info!(address = %settings.bind, "serving feeds");
    // TCP_NODELAY: a feed's body goes out as its opening and then the rest; with Nagle's
    // algorithm the second write waited for the client's delayed ACK, ≈40 ms on every small
    // request (bench/README.md).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let grace = settings.shutdown_grace;
    let (state, recorder) = AppState::start(db, settings)?;
    // Start on the replicas that are healthy now rather than after the first periodic check.
    state.reads.check_all().await;
    tracing::info!(feeds_from = %state.reads.in_use(), "feeds read from");
    let draining = state.draining.clone();
    let limits = state.limits.clone();
    let stop = Arc::new(tokio::sync::Notify::new());
    let server = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.notified().await }
    });
    let mut server = tokio::spawn(server.into_future());
    let outcome = tokio::select! {
        finished = &mut server => Some(finished_server(finished)),
        () = shutdown_signal() => None,
    };
    let outcome = match outcome {
        Some(outcome) => outcome,
        None => {
            draining.store(true, Ordering::SeqCst);
            stop.notify_one();
            match tokio::time::timeout(grace, &mut server).await {
                Ok(finished) => {
                    // The last feeds hand over their access records as they release their
                    // build slots, just after their connections end.
                    limits.all_builds_done(Duration::from_secs(5)).await;
                    finished_server(finished)
                }
                Err(_) => {
                    tracing::warn!(
                        grace_seconds = grace.as_secs(),
                        "grace period over; cutting the feeds still running"
                    );
                    server.abort();
                    Ok(())
                }
            }
        }
    };
    recorder.close().await;
    outcome
}

fn finished_server(
    finished: std::result::Result<std::io::Result<()>, tokio::task::JoinError>,
) -> Result<()> {
    match finished {
        Ok(result) => result.map_err(|e| Error::io("server", e)),
        Err(e) => Err(Error::io("server", std::io::Error::other(e))),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: no new connections, running feeds finish");
}

/// The process is up.
async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// The database that feeds read from answers and the migrations have run (and we are not
/// shutting down); `feeds_from` says which database that is.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.draining.load(Ordering::SeqCst) {
        return error_response(StatusCode::SERVICE_UNAVAILABLE, None, "shutting down");
    }
    let check = tokio::time::timeout(
        Duration::from_secs(2),
        state.reads.read(|db| async move {
            let applied: Option<i64> =
                sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                    .fetch_one(&db)
                    .await?;
            Ok(applied)
        }),
    )
    .await;
    let expected = crate::db::MIGRATOR.iter().map(|m| m.version).max();
    match check {
        Ok(Ok(applied)) if applied >= expected => axum::Json(serde_json::json!({
            "status": "ready",
            "feeds_from": state.reads.in_use(),
        }))
        .into_response(),
        Ok(Ok(_)) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "migrations are not applied",
        ),
        _ => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            "the database is unavailable",
        ),
    }
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, None, "not found")
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        "method not allowed: feeds and pages answer GET; only the settings forms and API take POST",
    )
}
