//! Serving: the one entry that production (`domofeed serve`, `demo`) and every test use, so a
//! test server does what a production one does (the connection cap and timeouts, TCP_NODELAY,
//! draining, the access records' flush at the end).
//!
//! The accept loop is ours rather than `axum::serve`'s, for what that one leaves out: a cap on
//! open connections (`DOMOFEED_MAX_CONNECTIONS`; one more is closed at once, never queued, so a
//! flood of idle sockets cannot use up the process's file descriptors) and the per-connection
//! timeouts of `connection`.

use std::{
    future::Future,
    net::SocketAddr,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use axum::Router;
use tokio::{
    io::AsyncWriteExt as _,
    net::{TcpListener, TcpStream},
    sync::{watch, Semaphore},
};

use super::{
    connection::{self, Stop, Timeouts},
    metrics_router, router, App,
};
use crate::{config::Settings, metrics, Error, Result};

/// Connections the `/metrics` listener keeps open at once: a scraper or two.
const METRICS_CONNECTIONS: u32 = 16;

/// What a server listens on: the main address and, when `/metrics` has its own
/// (`DOMOFEED_METRICS_BIND`), that one.
pub struct Listeners {
    pub main: TcpListener,
    pub metrics: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(main: TcpListener) -> Listeners {
        Listeners {
            main,
            metrics: None,
        }
    }
}

/// Binds `DOMOFEED_BIND` (and `DOMOFEED_METRICS_BIND`), then serves until Ctrl-C or SIGTERM.
pub async fn serve(settings: Settings, db: sqlx::PgPool) -> Result<()> {
    let main = bind("DOMOFEED_BIND", settings.bind).await?;
    let metrics = match settings.metrics_bind {
        Some(address) => Some(bind("DOMOFEED_METRICS_BIND", address).await?),
        None => None,
    };
    let app = App::start(db, settings).await?;
    serve_on(Listeners { main, metrics }, app, shutdown_signal()).await
}

async fn bind(setting: &str, address: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(address)
        .await
        .map_err(|e| Error::io(format!("{setting}: cannot listen on {address}"), e))
}

/// Serves `app` on `listeners` until `shutdown` completes. Then: no new connections, `/readyz`
/// says not ready, running feeds get `DOMOFEED_SHUTDOWN_GRACE` to finish, and the access records
/// they leave are written before this returns.
pub async fn serve_on(
    listeners: impl Into<Listeners>,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let Listeners { main, metrics } = listeners.into();
    let address = main
        .local_addr()
        .map_err(|e| Error::io("DOMOFEED_BIND: the listening address", e))?;
    let state = app.state.clone();
    let settings = state.settings.clone();
    tracing::info!(feeds_from = %state.reads.in_use(), "listening on {address}");
    warn_when_few_files(&settings);
    let timeouts = Timeouts {
        header_read: settings.header_read_timeout,
        idle: settings.idle_timeout,
    };
    let (stop, stopped) = watch::channel(Stop::Serving);
    let mut accepts = vec![Accept::new(
        router(state.clone(), metrics.is_none()),
        settings.max_connections,
        timeouts,
    )];
    let mut loops = vec![tokio::spawn(accepts[0].clone().run(main, stopped.clone()))];
    if let Some(listener) = metrics {
        let address = listener
            .local_addr()
            .map_err(|e| Error::io("DOMOFEED_METRICS_BIND: the listening address", e))?;
        tracing::info!("serving /metrics on {address}");
        let accept = Accept::new(metrics_router(state.clone()), METRICS_CONNECTIONS, timeouts);
        loops.push(tokio::spawn(accept.clone().run(listener, stopped.clone())));
        accepts.push(accept);
    }

    shutdown.await;
    tracing::info!("shutting down: no new connections, running feeds finish");
    state.draining.store(true, Ordering::SeqCst);
    stop.send_replace(Stop::Draining);
    for accepting in loops {
        // Each loop returns at once, closing its listener.
        let _ = accepting.await;
    }
    let grace_ends = tokio::time::Instant::now() + settings.shutdown_grace;
    let mut all_closed = true;
    for accept in &accepts {
        all_closed &= accept.all_closed(grace_ends).await;
    }
    if all_closed {
        // The last feeds hand over their access records as they release their build slots,
        // just after their connections end.
        state.limits.all_builds_done(Duration::from_secs(5)).await;
    } else {
        tracing::warn!(
            grace_seconds = settings.shutdown_grace.as_secs(),
            "grace period over; cutting the feeds still running"
        );
        stop.send_replace(Stop::Cut);
    }
    drop(state);
    app.stop().await;
    Ok(())
}

/// The answer a connection over the cap gets, if its socket takes it at once, before it is
/// closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\
Content-Length: 0\r\nConnection: close\r\n\r\n";

/// One listener's accept loop and its share of connections.
#[derive(Clone)]
struct Accept {
    router: Router,
    slots: Arc<Semaphore>,
    max: u32,
    timeouts: Timeouts,
}

impl Accept {
    fn new(router: Router, max: u32, timeouts: Timeouts) -> Accept {
        Accept {
            router,
            slots: Arc::new(Semaphore::new(max as usize)),
            max,
            timeouts,
        }
    }

    /// Accepts until the server stops serving; the listener is closed when this returns.
    async fn run(self, listener: TcpListener, mut stop: watch::Receiver<Stop>) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = stop.wait_for(|s| *s != Stop::Serving) => return,
            };
            match accepted {
                Ok((tcp, peer)) => self.admit(tcp, peer, stop.clone()),
                Err(e) if is_connection_error(&e) => {}
                Err(e) => {
                    // Out of file descriptors, most likely: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Serves the connection if there is room; otherwise it is closed at once.
    fn admit(&self, tcp: TcpStream, peer: SocketAddr, stop: watch::Receiver<Stop>) {
        // TCP_NODELAY: a feed's body goes out as its opening and then the rest; with Nagle's
        // algorithm the second write waited for the client's delayed ACK, ≈40 ms on every small
        // request (bench/README.md).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        match self.slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let serving =
                    connection::serve(tcp, peer, self.router.clone(), self.timeouts, stop, slot);
                tokio::spawn(serving);
            }
            Err(_) => {
                metrics::connection_refused();
                tokio::spawn(refuse(tcp));
            }
        }
    }

    /// Waits (until `deadline` at most) for every connection to close; false if some did not.
    async fn all_closed(&self, deadline: tokio::time::Instant) -> bool {
        tokio::time::timeout_at(deadline, self.slots.acquire_many(self.max))
            .await
            .is_ok()
    }
}

/// Writes the short 503 if the socket takes it now (never waits for the client), then closes.
async fn refuse(mut tcp: TcpStream) {
    let _ = tcp.try_write(OVER_CAPACITY);
    let _ = tcp.shutdown().await;
}

/// Errors of one connection that the listener survives.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// A warning when the process may run out of file descriptors before it reaches
/// `DOMOFEED_MAX_CONNECTIONS` (Linux; elsewhere nothing is checked).
fn warn_when_few_files(settings: &Settings) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return;
    };
    let soft = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|soft| soft.parse::<u64>().ok());
    let databases = 1 + settings.read_database_urls.len() as u64;
    let needed = settings.max_connections as u64
        + METRICS_CONNECTIONS as u64
        + databases * settings.pool_size as u64
        + 64;
    if let Some(soft) = soft.filter(|&soft| soft < needed) {
        tracing::warn!(
            open_files_limit = soft,
            needed,
            "the open files limit is below DOMOFEED_MAX_CONNECTIONS plus the database pools: \
             raise it (ulimit -n, LimitNOFILE=) or lower DOMOFEED_MAX_CONNECTIONS"
        );
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
