//! Batches of feed items, loaded ahead of the writer.
//!
//! A loader task owns the snapshot's transaction and queries batch k+1 (PostgreSQL executes, the
//! loader decodes the rows) while the producer renders and sends batch k, so the database's time
//! and the server's time overlap instead of adding up (bench/README.md: at 100,000 units they
//! used to run one after the other). All queries still go through the one `REPEATABLE READ`
//! transaction: one snapshot, as docs/feeds.md promises. A channel of one batch bounds memory: at most
//! three batches exist at once (rendered, waiting, loading), whatever the size of the feed.

use sqlx::PgConnection;
use tokio::{sync::mpsc, task::JoinHandle};
use tracing::Instrument;

use super::{
    catalog::{Catalog, CatalogReader, Places},
    dates::DateFormat,
    load::Tombstone,
    render::Style,
    snapshot::{BoxFuture, Snapshot},
};
use crate::{Error, Result};

/// Items per batch: one query for the items and one per child table. 1,000 beat both 100 and
/// 5,000 (issue 6).
pub const PAGE: i64 = 1000;

/// One batch of a feed, as the loader hands it to the writer.
pub trait Batch: Sized + Send + 'static {
    /// What selects the items: the feed's scope and the request's filter.
    type Query: Send + Sync + 'static;
    /// The next `size` items with ids above `after`, with everything they show.
    fn load<'a>(
        conn: &'a mut PgConnection,
        query: &'a Self::Query,
        after: i64,
        size: i64,
    ) -> BoxFuture<'a, Result<Self>>;
    /// The feed's tombstones within the query's `dt_updated` window (none without a window).
    fn deleted<'a>(
        conn: &'a mut PgConnection,
        query: &'a Self::Query,
    ) -> BoxFuture<'a, Result<Vec<Tombstone>>>;
    /// The id of the batch's last item, and how many items it holds.
    fn last_id(&self) -> Option<i64>;
    fn len(&self) -> usize;
    /// Keeps the first `len` items.
    fn truncate(&mut self, len: usize);
    /// Writes item `i` of the batch.
    fn render(&self, i: usize, style: Style, catalog: &Catalog, out: &mut Vec<u8>) -> Result<()>;
    /// Whose catalog the items refer to, and the date format it is rendered in.
    fn catalog_of(query: &Self::Query) -> (i64, &DateFormat);
    /// The places (houses, sections, organizations) the batch's items show.
    fn places(&self) -> Result<Places>;
}

/// Which part of the feed a response covers: the items after `after_id`, at most `limit` of
/// them (all without a limit), and whether it lists the feed's tombstones (`deleted`).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub after_id: i64,
    pub limit: Option<u64>,
    pub with_deleted: bool,
}

/// What the loader sends: a batch, marked when it is the last one. A channel that closes before
/// the last batch means the loader failed or panicked, never "no more items".
struct Loaded<B> {
    batch: B,
    /// The catalog entries this batch refers to that earlier batches did not.
    catalog: Catalog,
    /// The last batch of this response.
    last: bool,
    /// With the last batch of a response with a limit: whether more items follow it.
    more: bool,
    /// With the last batch: the tombstones, when the response lists them.
    deleted: Vec<Tombstone>,
}

/// The batches of one feed response, loaded one ahead by their own task.
pub struct Pages<B> {
    receiver: mpsc::Receiver<Result<Loaded<B>>>,
    loader: JoinHandle<()>,
    done: bool,
    more: bool,
    deleted: Vec<Tombstone>,
    catalog: Catalog,
}

impl<B: Batch> Pages<B> {
    /// Starts loading at once. The loader ends `snapshot` when it is done or the writer is gone
    /// (after a whole batch), and drops it, closing its connection, after an error.
    pub fn spawn(mut snapshot: Snapshot, query: B::Query, span: Span) -> Pages<B> {
        let (sender, receiver) = mpsc::channel(1);
        let loader = tokio::spawn(
            async move {
                let (account_id, date_format) = B::catalog_of(&query);
                let mut catalog = CatalogReader::new(account_id, date_format);
                let mut after = span.after_id;
                let mut left = span.limit;
                let mut failed;
                loop {
                    let message =
                        load_next::<B>(snapshot.conn(), &query, &mut catalog, after, left, span)
                            .await;
                    failed = message.is_err();
                    let next = match &message {
                        Ok(loaded) if !loaded.last => loaded.batch.last_id(),
                        _ => None,
                    };
                    if let (Ok(loaded), Some(left)) = (&message, left.as_mut()) {
                        *left -= loaded.batch.len() as u64;
                    }
                    // A send fails when the writer stopped (client gone): stop loading too.
                    if sender.send(message).await.is_err() {
                        break;
                    }
                    match next {
                        Some(id) => after = id,
                        None => break,
                    }
                }
                if !failed {
                    snapshot.end().await;
                }
            }
            .instrument(tracing::Span::current()),
        );
        Pages {
            receiver,
            loader,
            done: false,
            more: false,
            deleted: Vec::new(),
            catalog: Catalog::default(),
        }
    }

    /// The next batch, `None` after the last one.
    pub async fn next(&mut self) -> Result<Option<B>> {
        if self.done {
            return Ok(None);
        }
        match self.receiver.recv().await {
            Some(Ok(loaded)) => {
                self.done = loaded.last;
                self.more = loaded.more;
                self.deleted = loaded.deleted;
                self.catalog.extend(loaded.catalog);
                Ok(Some(loaded.batch))
            }
            Some(Err(e)) => Err(e),
            None => Err(Error::internal(
                "feed loader",
                "stopped before the last batch",
            )),
        }
    }

    /// The catalog the batches so far refer to.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// After the last batch: whether the response's limit left items out.
    pub fn more(&self) -> bool {
        self.more
    }

    /// After the last batch: the tombstones of the response (empty unless it lists them).
    pub fn take_deleted(&mut self) -> Vec<Tombstone> {
        std::mem::take(&mut self.deleted)
    }

    /// Waits for the loader to give its connection back (after the last batch, or at once when
    /// the writer stopped early and the loader's next send fails).
    pub async fn finish(self) {
        drop(self.receiver);
        let _ = self.loader.await;
    }
}

/// Loads the batch after `after`. With `left` items still allowed, it asks for one more than
/// that (at most a batch), to tell whether more follow; that extra item is dropped. The last
/// batch also brings the tombstones when the span lists them.
async fn load_next<B: Batch>(
    conn: &mut PgConnection,
    query: &B::Query,
    catalog: &mut CatalogReader<'_>,
    after: i64,
    left: Option<u64>,
    span: Span,
) -> Result<Loaded<B>> {
    let size = match left {
        Some(left) => (left + 1).min(PAGE as u64) as i64,
        None => PAGE,
    };
    let mut batch = B::load(conn, query, after, size).await?;
    let full = batch.len() as i64 == size;
    let (last, more) = match left {
        Some(left) if batch.len() as u64 > left => {
            batch.truncate(left as usize);
            (true, true)
        }
        _ => (!full, false),
    };
    let deleted = if last && span.with_deleted {
        B::deleted(conn, query).await?
    } else {
        Vec::new()
    };
    let catalog = catalog.read(conn, batch.places()?).await?;
    Ok(Loaded {
        batch,
        catalog,
        last,
        more,
        deleted,
    })
}
