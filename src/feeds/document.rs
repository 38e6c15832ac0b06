//! The feed document as it goes out: `{"data": [items], "deleted": [...], "meta": {...}}`, written
//! into chunks that the producer hands to the body.

use std::{io::Write as _, time::Duration};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::{
    dates::{write_datetime, DateFormat},
    filter::next_page_query,
    pages::{Batch, Pages},
    render::{self, Style},
    stream::{Chunk, Query, Request, Stop},
};
use crate::links::Feed;

/// Body chunk size.
const CHUNK: usize = 64 * 1024;
/// A chunk's buffer: a chunk plus room for the item that crosses its end, yet below glibc's
/// 128 KiB mmap threshold, so that a buffer per chunk comes from the heap (reused) rather than a
/// fresh mapping that page-faults in and is unmapped once sent.
const CHUNK_BUFFER: usize = CHUNK + 32 * 1024;

/// One response's document being written.
pub(super) struct Document<'a> {
    feed: &'a Feed,
    request: &'a Request,
    now: DateTime<Utc>,
    buf: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
    send_timeout: Duration,
    /// Bytes handed to the connection so far.
    sent: u64,
    items: u64,
}

impl<'a> Document<'a> {
    pub fn new(
        feed: &'a Feed,
        request: &'a Request,
        now: DateTime<Utc>,
        sender: mpsc::Sender<Chunk>,
        send_timeout: Duration,
    ) -> Document<'a> {
        Document {
            feed,
            request,
            now,
            buf: Vec::with_capacity(CHUNK_BUFFER),
            sender,
            send_timeout,
            sent: 0,
            items: 0,
        }
    }

    /// Writes the whole document: `first` and every batch after it, the tombstones, `meta`.
    pub async fn write<B: Batch>(&mut self, pages: &mut Pages<B>, first: B) -> Result<(), Stop> {
        let style = Style {
            tz: self.feed.tz,
            date_format: self.date_format(),
        };
        self.buf.extend_from_slice(b"{\"data\":[");
        let mut last_id = None;
        let mut batch = Some(first);
        while let Some(page) = batch {
            for i in 0..page.len() {
                if self.items > 0 {
                    self.buf.push(b',');
                }
                page.render(i, style, pages.catalog(), &mut self.buf)?;
                self.items += 1;
                if self.buf.len() >= CHUNK {
                    self.flush().await?;
                }
            }
            last_id = page.last_id().or(last_id);
            batch = pages.next().await?;
        }
        self.buf.extend_from_slice(b"],\"deleted\":[");
        for (i, tombstone) in pages.take_deleted().iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            render::tombstone(&mut self.buf, style, tombstone);
        }
        self.buf.push(b']');
        let next = last_id.filter(|_| pages.more());
        self.write_meta(next);
        self.flush().await?;
        tracing::info!(
            feed_id = self.feed.id,
            kind = self.feed.kind.as_str(),
            count = self.items,
            "feed sent"
        );
        Ok(())
    }

    /// Says the document is complete: the body ends cleanly.
    pub async fn end(&mut self) {
        let _ = self.sender.send(Chunk::End).await;
    }

    fn date_format(&self) -> &'a DateFormat {
        match &self.request.query {
            Query::Deals(q) => &q.date_format,
            Query::Units(q) => &q.date_format,
        }
    }

    fn ignored_params(&self) -> &'a [String] {
        match &self.request.query {
            Query::Deals(q) => &q.ignored_params,
            Query::Units(q) => &q.ignored_params,
        }
    }

    /// `,"meta":{…}}`; `next_after` is the last item's id when a next page exists.
    fn write_meta(&mut self, next_after: Option<i64>) {
        let (date_format, ignored) = (self.date_format(), self.ignored_params());
        let buf = &mut self.buf;
        let _ = write!(
            buf,
            ",\"meta\":{{\"feed_id\":{},\"kind\":\"{}\",\"count\":{},\"generated_at\":\"",
            self.feed.id,
            self.feed.kind.as_str(),
            self.items
        );
        write_datetime(self.now, self.feed.tz, buf);
        buf.extend_from_slice(b"\",\"timezone\":");
        let _ = serde_json::to_writer(&mut *buf, self.feed.tz.name());
        buf.extend_from_slice(b",\"date_format\":");
        let _ = serde_json::to_writer(&mut *buf, date_format.pattern());
        buf.extend_from_slice(b",\"ignored_params\":");
        let _ = serde_json::to_writer(&mut *buf, ignored);
        buf.extend_from_slice(b",\"next\":");
        match next_after {
            Some(after_id) => {
                let url = format!(
                    "{}?{}",
                    self.request.url,
                    next_page_query(&self.request.raw_query, after_id)
                );
                let _ = serde_json::to_writer(&mut *buf, &url);
            }
            None => buf.extend_from_slice(b"null"),
        }
        buf.extend_from_slice(b"}}");
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK_BUFFER),
        ));
        let len = chunk.len() as u64;
        match tokio::time::timeout(self.send_timeout, self.sender.send(Chunk::Data(chunk))).await {
            Ok(Ok(())) => {
                self.sent += len;
                Ok(())
            }
            Ok(Err(_)) => Err(Stop::Gone),
            Err(_) => Err(Stop::Stalled),
        }
    }
}

/// Closes the document's end of the body (without `End`, a cut) and says how many items and
/// bytes went out.
pub(super) fn finish(document: Document<'_>) -> (u64, u64) {
    (document.items, document.sent)
}
