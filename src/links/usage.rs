//! What a feed request leaves behind: the feed's last use and a line of its access log, both
//! handed to the background [`Recorder`] so that no response waits for a write.

use std::{net::IpAddr, time::Instant};

use chrono::Utc;

use super::{
    recorder::{Record, Recorder},
    Feed,
};

/// Records that the feed was read (kept at most once a minute per feed, so polling stays cheap).
pub fn touch_last_used(recorder: &Recorder, feed_id: i64) {
    recorder.send(Record::LastUsed {
        feed_id,
        at: Utc::now(),
    });
}

/// One authenticated feed request, written to `feed_access_log` when it ends: who (address),
/// what (feed), how it went (status, complete, items, bytes, duration). No token, no personal data.
pub struct AccessLog {
    recorder: Recorder,
    feed_id: i64,
    account_id: i64,
    client: IpAddr,
    started: Instant,
}

impl AccessLog {
    pub fn start(recorder: &Recorder, feed: &Feed, client: IpAddr) -> AccessLog {
        AccessLog {
            recorder: recorder.clone(),
            feed_id: feed.id,
            account_id: feed.account_id,
            client,
            started: Instant::now(),
        }
    }

    /// Hands the record to the recorder: the response never waits for it.
    pub fn finish(self, status: u16, complete: bool, items: u64, bytes: u64) {
        let duration_ms = i32::try_from(self.started.elapsed().as_millis()).unwrap_or(i32::MAX);
        tracing::info!(
            feed_id = self.feed_id,
            status,
            complete,
            items,
            bytes,
            duration_ms,
            "feed access"
        );
        self.recorder.send(Record::Access {
            account_id: self.account_id,
            feed_id: self.feed_id,
            at: Utc::now(),
            client: self.client,
            status: i16::try_from(status).unwrap_or(i16::MAX),
            complete,
            items: i64::try_from(items).unwrap_or(i64::MAX),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            duration_ms,
        });
    }
}
