//! A feed body on its way out, metered: bytes, build time, and, from the body's own `meta`, its
//! kind and item count.
//!
//! Reading `meta` from the last chunk keeps metering out of the feed producer (`feeds::stream`):
//! the feed already says what it sent, last, in one piece (`write_meta` and the final flush).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Instant,
};

use axum::body::BodyDataStream;
use bytes::Bytes;
use futures::Stream;

use super::{Cut, CutLabels, Kind, KindLabels, METRICS};

/// What a feed body ends with; the `"` before `meta` cannot follow a `,` inside a JSON string
/// (it would be escaped), so the last match is the real one.
const META: &[u8] = b"],\"meta\":";

pub struct Metered {
    inner: BodyDataStream,
    started: Instant,
    bytes: u64,
    /// The two most recent chunks: `meta` is in the last one, the extra one is a safety margin.
    previous: Bytes,
    last: Bytes,
    done: bool,
}

impl Metered {
    pub fn new(inner: BodyDataStream, started: Instant) -> Self {
        Metered {
            inner,
            started,
            bytes: 0,
            previous: Bytes::new(),
            last: Bytes::new(),
            done: false,
        }
    }

    fn finish(&mut self) {
        self.done = true;
        let mut tail = Vec::with_capacity(self.previous.len() + self.last.len());
        tail.extend_from_slice(&self.previous);
        tail.extend_from_slice(&self.last);
        let Some((kind, count)) = meta_of(&tail) else {
            tracing::warn!("a feed body ended without a readable meta");
            return;
        };
        let labels = KindLabels { kind };
        METRICS
            .feed_seconds
            .get_or_create(&labels)
            .observe(self.started.elapsed().as_secs_f64());
        METRICS.feed_items.get_or_create(&labels).inc_by(count);
        METRICS.feed_bytes.get_or_create(&labels).inc_by(self.bytes);
    }

    fn cut(&mut self, reason: Cut) {
        self.done = true;
        METRICS.feeds_cut.get_or_create(&CutLabels { reason }).inc();
    }
}

/// `(kind, count)` of the `meta` object that ends `tail`.
fn meta_of(tail: &[u8]) -> Option<(Kind, u64)> {
    let at = tail.windows(META.len()).rposition(|w| w == META)?;
    let object = tail.get(at + META.len()..tail.len().checked_sub(1)?)?;
    let meta: serde_json::Value = serde_json::from_slice(object).ok()?;
    let kind = match meta.get("kind")?.as_str()? {
        "deals" => Kind::deals,
        "units" => Kind::units,
        _ => return None,
    };
    Some((kind, meta.get("count")?.as_u64()?))
}

impl Stream for Metered {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => {
                self.bytes += chunk.len() as u64;
                self.previous = std::mem::replace(&mut self.last, chunk.clone());
            }
            Poll::Ready(Some(Err(_))) if !self.done => self.cut(Cut::error),
            Poll::Ready(None) if !self.done => self.finish(),
            _ => {}
        }
        polled
    }
}

impl Drop for Metered {
    fn drop(&mut self) {
        if !self.done {
            self.cut(Cut::client_left);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_is_read_from_the_end_of_a_body() {
        let body = br#"{"data":[{"id":1,"title":"],\"meta\":{"}],"meta":{"feed_id":3,"kind":"units","count":1,"generated_at":"2026-11-29 12:00:00","timezone":"Europe/Moscow","date_format":"DD.MM.YYYY","ignored_params":["],\"meta\":"]}}"#;
        assert_eq!(meta_of(body), Some((Kind::units, 1)));
        assert_eq!(meta_of(br#"{"data":["#), None);
        assert_eq!(meta_of(b""), None);
    }
}
