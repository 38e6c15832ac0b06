//! Serving: the one entry that production (`domofeed serve`, `demo`) and every test use, so a
//! test server does what a production one does (TCP_NODELAY, draining, the access records'
//! flush at the end).

use std::{future::Future, net::SocketAddr, sync::atomic::Ordering, time::Duration};

use tokio::net::TcpListener;

use super::{router, App};
use crate::{config::Settings, Error, Result};

/// Binds `DOMOFEED_BIND`, then serves until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings, db: sqlx::PgPool) -> Result<()> {
    let listener = TcpListener::bind(settings.bind).await.map_err(|e| {
        Error::io(
            format!("DOMOFEED_BIND: cannot listen on {}", settings.bind),
            e,
        )
    })?;
    let app = App::start(db, settings).await?;
    serve_on(listener, app, shutdown_signal()).await
}

/// Serves `app` on `listener` until `shutdown` completes. Then: no new connections, `/readyz`
/// says not ready, running feeds get `DOMOFEED_SHUTDOWN_GRACE` to finish, and the access records
/// they leave are written before this returns.
pub async fn serve_on(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let address = listener
        .local_addr()
        .map_err(|e| Error::io("DOMOFEED_BIND: the listening address", e))?;
    tracing::info!(feeds_from = %app.state.reads.in_use(), "listening on {address}");
    // TCP_NODELAY: a feed's body goes out as its opening and then the rest; with Nagle's
    // algorithm the second write waited for the client's delayed ACK, ≈40 ms on every small
    // request (bench/README.md).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let state = app.state.clone();
    let grace = state.settings.shutdown_grace;
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let server = axum::serve(
        listener,
        router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.notified().await }
    });
    let mut server = tokio::spawn(async move { server.await });
    let outcome = tokio::select! {
        finished = &mut server => finished_server(finished),
        () = shutdown => {
            tracing::info!("shutting down: no new connections, running feeds finish");
            state.draining.store(true, Ordering::SeqCst);
            stop.notify_one();
            match tokio::time::timeout(grace, &mut server).await {
                Ok(finished) => {
                    // The last feeds hand over their access records as they release their
                    // build slots, just after their connections end.
                    state.limits.all_builds_done(Duration::from_secs(5)).await;
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
    drop(state);
    app.stop().await;
    outcome
}

fn finished_server(
    finished: std::result::Result<std::io::Result<()>, tokio::task::JoinError>,
) -> Result<()> {
    match finished {
        Ok(result) => result.map_err(|e| Error::io("server", e)),
        Err(e) => Err(Error::internal("the server task", e)),
    }
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
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
}
