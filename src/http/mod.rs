//! The HTTP server: one router, one state, the contract's headers on every answer.

mod error;
mod feed;
mod ops;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use sqlx::PgPool;
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

pub use error::error_response;

use crate::{config::Settings, Error, Result};

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub settings: Arc<Settings>,
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

/// Binds, then serves until Ctrl-C or SIGTERM.
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
    let state = AppState {
        db,
        settings: Arc::new(settings),
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| Error::io("server", e))
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

/// The database answers and the migrations have run.
async fn readyz(State(state): State<AppState>) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(2), async {
        let applied: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                .fetch_one(&state.db)
                .await?;
        Ok::<_, sqlx::Error>(applied)
    })
    .await;
    let expected = crate::db::MIGRATOR.iter().map(|m| m.version).max();
    match check {
        Ok(Ok(applied)) if applied >= expected => {
            axum::Json(serde_json::json!({"status": "ready"})).into_response()
        }
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
        "only GET is supported",
    )
}
