//! One client connection: HTTP/1.1 by hyper, with the timeouts that keep a slow or silent client
//! from holding it for ever.
//!
//! - **Header read**: once a client has sent the first byte of a request, the rest of the head
//!   must follow within `DOMOFEED_HEADER_READ_TIMEOUT`; a half-sent request is closed then.
//! - **Idle**: a connection with no request in progress (a fresh one that sends nothing, or a
//!   kept-alive one between requests) is closed after `DOMOFEED_IDLE_TIMEOUT`.
//! - **Request body**: a body the server reads (a form post) must keep coming: no more than
//!   `DOMOFEED_HEADER_READ_TIMEOUT` between its pieces, else the read fails (a `400`) and the
//!   connection closes. Without it a client could send a head, then trickle nothing.
//!
//! hyper has one `header_read_timeout`, counted from when it starts waiting for a head: on a
//! kept-alive connection that is the idle time too, so one knob would set both. Here the
//! connection watches itself instead: its reader notes the first byte of a head, the service
//! notes when a request begins and when its answer's body ends, and a watchdog closes the
//! connection when the deadline of its state passes. A request in progress is never cut by these
//! timeouts (a feed may take minutes; `DOMOFEED_SEND_TIMEOUT` watches a client that stops
//! reading it).
//!
//! Answers go out with Title-Case header names (`Content-Type`): 1C looks headers up by their
//! exact spelling.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{body::Body, extract::ConnectInfo, Router};
use bytes::Bytes;
use hyper::{
    body::{Frame, Incoming, SizeHint},
    server::conn::http1,
    service::service_fn,
    Request,
};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::{watch, Notify, OwnedSemaphorePermit},
};
use tower::ServiceExt as _;
use tower_http::timeout::TimeoutBody;

/// The two timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

/// What the server tells its connections: keep serving, finish the request in progress and
/// close (draining), or close now (the grace period is over).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Serving,
    Draining,
    Cut,
}

/// Serves one accepted connection until the client leaves, a timeout closes it, or the server
/// stops. `_slot` is its place under `DOMOFEED_MAX_CONNECTIONS`, given back when this returns.
pub async fn serve(
    tcp: TcpStream,
    peer: SocketAddr,
    router: Router,
    timeouts: Timeouts,
    mut stop: watch::Receiver<Stop>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        tcp,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        service_fn(move |request: Request<Incoming>| {
            activity.request_began();
            let end = AnswerEnd(Some(activity.clone()));
            let mut request = request.map(|body| TimeoutBody::new(timeouts.header_read, body));
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await?;
                Ok::<_, Infallible>(response.map(|body| Tracked { body, end }))
            }
        })
    };
    let connection = http1::Builder::new()
        .keep_alive(true)
        .title_case_headers(true)
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    loop {
        if !draining && *stop.borrow() == Stop::Draining {
            draining = true;
            connection.as_mut().graceful_shutdown();
        }
        tokio::select! {
            finished = connection.as_mut() => {
                if let Err(e) = finished {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = activity.expired(timeouts) => {
                tracing::debug!("closing a connection that sent no request in time");
                return;
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() == Stop::Cut {
                    return;
                }
            }
        }
    }
}

/// What the watchdog needs to know of a connection; written by its reader and its service,
/// which run on the connection's task, read by the watchdog on the same task.
struct Activity {
    epoch: Instant,
    /// Requests whose answer has not ended (0 or 1: HTTP/1.1 answers one at a time).
    busy: AtomicUsize,
    /// Bytes of a request head have arrived while no request was in progress.
    head_begun: AtomicBool,
    /// Milliseconds from `epoch` to when the current wait began: the connection opened, an
    /// answer ended, or a head began.
    since_ms: AtomicU64,
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Instant::now(),
            busy: AtomicUsize::new(0),
            head_begun: AtomicBool::new(false),
            since_ms: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn bytes_arrived(&self) {
        if self.busy.load(Ordering::SeqCst) == 0 && !self.head_begun.swap(true, Ordering::SeqCst) {
            self.since_ms.store(self.now_ms(), Ordering::SeqCst);
            self.changed.notify_one();
        }
    }

    fn request_began(&self) {
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.head_begun.store(false, Ordering::SeqCst);
        self.changed.notify_one();
    }

    fn answer_ended(&self) {
        self.since_ms.store(self.now_ms(), Ordering::SeqCst);
        self.busy.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// When the current wait times out; `None` while a request is in progress.
    fn deadline(&self, timeouts: Timeouts) -> Option<Instant> {
        if self.busy.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let limit = if self.head_begun.load(Ordering::SeqCst) {
            timeouts.header_read
        } else {
            timeouts.idle
        };
        let since = Duration::from_millis(self.since_ms.load(Ordering::SeqCst));
        Some(self.epoch + since + limit)
    }

    /// Completes when the connection has waited longer than its state allows.
    async fn expired(&self, timeouts: Timeouts) {
        loop {
            match self.deadline(timeouts) {
                None => self.changed.notified().await,
                Some(deadline) if Instant::now() >= deadline => return,
                Some(deadline) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(deadline.into()) => {}
                        () = self.changed.notified() => {}
                    }
                }
            }
        }
    }
}

/// The socket, with its reader telling `Activity` when bytes arrive.
struct Watched {
    tcp: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Tells `Activity` that an answer ended, once: when its body ends, fails, or is dropped
/// (hyper drops it when it is sent, or when the client left).
struct AnswerEnd(Option<Arc<Activity>>);

impl AnswerEnd {
    fn now(&mut self) {
        if let Some(activity) = self.0.take() {
            activity.answer_ended();
        }
    }
}

impl Drop for AnswerEnd {
    fn drop(&mut self) {
        self.now();
    }
}

/// An answer's body that reports its end.
struct Tracked {
    body: Body,
    end: AnswerEnd,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.end.now();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
