//! Overload protection for feed requests and the write API.
//!
//! - A global cap on feed bodies being built at once. A request over the cap gets a fast 503
//!   instead of queueing: 1C retries, and a queue would only hold connections and memory. (A
//!   `ConcurrencyLimitLayer` on the router would limit nothing: the router is always ready.)
//! - A per-feed rate limit (GCRA from `governor`), so one misconfigured poller cannot take every
//!   slot; generous enough for 1C polling every minute. The write API's keys get the same limit,
//!   each its own.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{config::Settings, Error, Result};

/// Bursts a feed may make above its steady rate.
const BURST: u32 = 10;

#[derive(Clone)]
pub struct Limits {
    builds: Arc<Semaphore>,
    max_builds: u32,
    per_feed: Arc<DefaultKeyedRateLimiter<i64>>,
    per_key: Arc<DefaultKeyedRateLimiter<i64>>,
}

impl Limits {
    pub fn new(settings: &Settings) -> Limits {
        let per_minute = NonZeroU32::new(settings.feed_rate_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(BURST.max(settings.feed_rate_per_minute / 6))
            .unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        Limits {
            builds: Arc::new(Semaphore::new(settings.max_feed_builds as usize)),
            max_builds: settings.max_feed_builds,
            per_feed: Arc::new(RateLimiter::keyed(quota)),
            per_key: Arc::new(RateLimiter::keyed(quota)),
        }
    }

    /// One more request of `feed_id`, or how long to wait.
    pub fn admit(&self, feed_id: i64) -> Result<()> {
        admit(&self.per_feed, feed_id)
    }

    /// One more write API request with the key `key_id`, or how long to wait.
    pub fn admit_key(&self, key_id: i64) -> Result<()> {
        admit(&self.per_key, key_id)
    }

    /// Waits (at most `max`) until no feed body is being built.
    pub async fn all_builds_done(&self, max: Duration) {
        let _ = tokio::time::timeout(max, self.builds.acquire_many(self.max_builds)).await;
    }

    /// A build slot, held until the body is sent or cut.
    pub fn build_slot(&self) -> Result<OwnedSemaphorePermit> {
        self.builds
            .clone()
            .try_acquire_owned()
            .map_err(|_| Error::Busy)
    }
}

fn admit(limiter: &DefaultKeyedRateLimiter<i64>, key: i64) -> Result<()> {
    limiter.check_key(&key).map_err(|not_until| {
        let wait: Duration =
            not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        Error::TooManyRequests {
            retry_after: wait.as_secs() + 1,
        }
    })?;
    // Forget keys that have been quiet long enough to be back at full burst.
    if limiter.len() > 10_000 {
        limiter.retain_recent();
    }
    Ok(())
}
