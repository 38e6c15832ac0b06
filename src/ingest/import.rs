//! `domofeed import`: feed bodies (this project's format, or any system's that serves the same)
//! loaded into an account, keeping every id and every `dt_*` value, in one transaction.
//!
//! A body's `meta` (its `date_format` and `timezone`, which say how its dates are written) comes
//! after its items, so a file is read twice: once for `meta` and the item count, once for the
//! items, each parsed as it is read and written in batches. Memory stays flat whatever the file's
//! size; standard input (`-`) is spooled to a temporary file first.

use std::{
    fmt,
    fs::File,
    io::{BufReader, Read, Seek},
    path::PathBuf,
    str::FromStr,
    time::{Duration, Instant},
};

use chrono_tz::Tz;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use sqlx::PgPool;
use tokio::sync::mpsc;

use super::{read_item, At, Counts, DateRules, Located, Problems, Shape, Stamps};
use crate::{feeds::dates::DateFormat, Error, Result};

/// Items written per batch (and per round trip to the database).
const BATCH: usize = 500;

/// One file to import: which feed's body it is and where it is (`-`: standard input).
pub struct Source {
    pub shape: Shape,
    /// `--deals` or `--units`: named in errors.
    pub flag: &'static str,
    pub path: String,
}

/// What an import did, per file.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<(&'static str, u64, Counts)>,
}

/// Imports every source into `account_id`, in one transaction: a broken file imports nothing.
/// `progress` is told `(flag, items read, items in the file)` now and then.
pub async fn run(
    db: &PgPool,
    account_id: i64,
    sources: Vec<Source>,
    mut progress: impl FnMut(&str, u64, u64),
) -> Result<Report> {
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from accounts where id = $1) as "exists!""#,
        account_id
    )
    .fetch_one(db)
    .await?;
    if !exists {
        return Err(Error::not_found(format!("account {account_id}")));
    }
    // Every file is read (and its `meta` checked) before anything is written.
    let mut opened = Vec::new();
    for source in sources {
        let file = open(&source).await?;
        let (file, meta, total) = blocking(move || scan(file))
            .await
            .map_err(|e| e.at(source.flag))?;
        let rules = meta.rules(source.shape).map_err(|e| e.at(source.flag))?;
        opened.push((source, file, rules, total));
    }
    let mut tx = db.begin().await?;
    let mut report = Report::default();
    for (source, file, rules, total) in opened {
        let flag = source.flag;
        let shape = source.shape;
        let (sender, mut receiver) = mpsc::channel::<std::result::Result<Vec<Located>, Broken>>(2);
        let reader = tokio::task::spawn_blocking(move || read_items(file, shape, &rules, &sender));
        let mut counts = Counts::default();
        let mut read = 0u64;
        let mut shown = Instant::now();
        while let Some(batch) = receiver.recv().await {
            let batch = batch.map_err(|e| e.at(flag))?;
            read += batch.len() as u64;
            match super::write_batch(&mut tx, account_id, shape, Stamps::Keep, batch).await? {
                Ok(c) => {
                    counts.created += c.created;
                    counts.updated += c.updated;
                    counts.unchanged += c.unchanged;
                }
                Err(problems) => {
                    let first = &problems[0];
                    let more = match problems.len() {
                        1 => String::new(),
                        n => format!(" (and {} more problems)", n - 1),
                    };
                    return Err(Error::bad_request(
                        flag,
                        format!(
                            "item {} ({}): {}{more}",
                            first.index, first.path, first.text
                        ),
                    ));
                }
            }
            if shown.elapsed() >= Duration::from_secs(1) {
                progress(flag, read, total);
                shown = Instant::now();
            }
        }
        // A reader that stopped on its own said why through the channel; this is a panic.
        reader
            .await
            .map_err(|e| Error::internal("reading the import file", e))?;
        progress(flag, read, total);
        report.files.push((flag, read, counts));
    }
    tx.commit().await?;
    Ok(report)
}

/// The file of a source; standard input is copied to a temporary file (it is read twice).
async fn open(source: &Source) -> Result<File> {
    let path = source.path.clone();
    let flag = source.flag;
    blocking(move || {
        if path == "-" {
            let mut spool = tempfile::tempfile().map_err(|e| Broken::io("a temporary file", e))?;
            std::io::copy(&mut std::io::stdin().lock(), &mut spool)
                .map_err(|e| Broken::io("standard input", e))?;
            spool
                .rewind()
                .map_err(|e| Broken::io("a temporary file", e))?;
            Ok(spool)
        } else {
            File::open(PathBuf::from(&path)).map_err(|e| Broken::io(&path, e))
        }
    })
    .await
    .map_err(|e| e.at(flag))
}

/// Why a file cannot be imported, before the flag that names it is known.
#[derive(Debug)]
struct Broken(String);

impl Broken {
    fn io(what: &str, e: std::io::Error) -> Broken {
        Broken(format!("cannot read {what}: {e}"))
    }

    fn at(self, flag: &str) -> Error {
        Error::bad_request(flag, self.0)
    }
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::result::Result<T, Broken> + Send + 'static,
) -> std::result::Result<T, Broken> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Broken(format!("reading failed: {e}")))?
}

/// The part of `meta` an import needs.
#[derive(Debug, Default, serde::Deserialize)]
struct Meta {
    kind: Option<String>,
    date_format: Option<String>,
    timezone: Option<String>,
}

impl Meta {
    /// How the file's dates are written; the file must be a body of the expected feed.
    fn rules(&self, shape: Shape) -> std::result::Result<DateRules, Broken> {
        let expected = match shape {
            Shape::Deals => "deals",
            Shape::Units => "units",
        };
        match self.kind.as_deref() {
            Some(kind) if kind == expected => {}
            other => {
                return Err(Broken(format!(
                "$.meta.kind: expected {expected:?} (a body of the {expected} feed), got {other:?}"
            )))
            }
        }
        let pattern = self.date_format.as_deref().unwrap_or("DD.MM.YYYY");
        let date_format =
            DateFormat::parse(pattern).map_err(|e| Broken(format!("$.meta.date_format: {e}")))?;
        let zone = self.timezone.as_deref().unwrap_or("Europe/Moscow");
        let tz = Tz::from_str(zone)
            .map_err(|_| Broken(format!("$.meta.timezone: not an IANA time zone: {zone:?}")))?;
        Ok(DateRules {
            date_formats: vec![date_format],
            tz,
            rfc3339: false,
            stamps: true,
        })
    }
}

/// The first reading: `meta` and how many items there are. The file comes back rewound.
fn scan(mut file: File) -> std::result::Result<(File, Meta, u64), Broken> {
    let mut count = 0u64;
    let meta = walk(&mut file, &mut |_, _| {
        count += 1;
        Ok(())
    })?;
    file.rewind().map_err(|e| Broken::io("the file", e))?;
    let meta = meta.ok_or_else(|| Broken("$.meta: missing (is this a feed body?)".into()))?;
    Ok((file, meta, count))
}

/// The second reading: every item read and sent in batches. A broken item stops the reading
/// (and, through the channel, the import).
fn read_items(
    mut file: File,
    shape: Shape,
    rules: &DateRules,
    sender: &mpsc::Sender<std::result::Result<Vec<Located>, Broken>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let walked = walk(&mut file, &mut |index, raw| {
        let path = format!("$.data[{index}]");
        let mut problems = Problems::default();
        match read_item(&At::new(raw, path.clone()), shape, rules, &mut problems) {
            Some(item) => batch.push(Located { index, path, item }),
            None => {
                let first = problems.0.first();
                return Err(Broken(format!(
                    "item {index} ({}): {}",
                    first.map_or(path.as_str(), |p| p.path.as_str()),
                    first.map_or("invalid", |p| p.text.as_str())
                )));
            }
        }
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if sender.blocking_send(Ok(full)).is_err() {
                return Err(Broken("the import stopped".into()));
            }
        }
        Ok(())
    });
    let last = match walked {
        Ok(_) => Ok(batch),
        Err(e) => Err(e),
    };
    let _ = sender.blocking_send(last);
}

/// Reads a feed body from `file`, handing each item of `data` (its index and exact text) to
/// `on_item`, and returns its `meta`.
fn walk(
    file: &mut File,
    on_item: &mut dyn FnMut(usize, &RawValue) -> std::result::Result<(), Broken>,
) -> std::result::Result<Option<Meta>, Broken> {
    let reader = BufReader::with_capacity(1 << 20, file.by_ref());
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut document = Document {
        on_item,
        meta: None,
        items: 0,
        stopped: None,
    };
    let parsed = (&mut document).deserialize(&mut de).and_then(|()| de.end());
    if let Some(stopped) = document.stopped {
        return Err(stopped);
    }
    match parsed {
        Ok(()) => Ok(document.meta),
        Err(e) => Err(Broken(format!(
            "item {}: not a complete feed body: {e}",
            document.items
        ))),
    }
}

/// The streaming reader of a feed body: `data` element by element, `meta` whole, anything else
/// skipped.
struct Document<'a> {
    on_item: &'a mut dyn FnMut(usize, &RawValue) -> std::result::Result<(), Broken>,
    meta: Option<Meta>,
    /// Items read so far: the index of the next one.
    items: usize,
    /// Why `on_item` stopped the reading.
    stopped: Option<Broken>,
}

impl<'de> DeserializeSeed<'de> for &mut Document<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a feed body {\"data\": [...], \"meta\": {...}}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" => map.next_value_seed(Data(&mut *self))?,
                "meta" => self.meta = Some(map.next_value::<Meta>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `data` array of a feed body.
struct Data<'d, 'a>(&'d mut Document<'a>);

impl<'de> DeserializeSeed<'de> for Data<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        let document = self.0;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            if let Err(stop) = (document.on_item)(document.items, &raw) {
                let text = stop.0.clone();
                document.stopped = Some(stop);
                return Err(serde::de::Error::custom(text));
            }
            document.items += 1;
        }
        Ok(())
    }
}
