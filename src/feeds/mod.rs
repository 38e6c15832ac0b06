//! The two feeds of docs/feeds.md: «Полный от сделок» (one item per deal) and «Полный от
//! помещений» (one item per unit), built live from one snapshot of the database and streamed.
//!
//! The path of a request through here: `filter` parses the query string into a typed filter
//! (with `dates` for day ranges and `date_format`); `stream` opens the `snapshot` and, once the
//! first batch is loaded, starts the body; `pages` loads batches (`batches`) ahead of the writer
//! with the SQL of `load` (binary COPY statements written by `sql`, their rows read by `rows`,
//! numbers by `numeric`), after the account's `catalog`; `document` writes the body's parts and
//! `render` each item, with the JSON writer of `json`. Which link is asked for, and whether it
//! may be read, is `crate::links`'s business.

mod batches;
mod catalog;
pub mod dates;
mod document;
pub mod filter;
mod json;
mod load;
mod numeric;
mod pages;
mod render;
mod rows;
mod snapshot;
mod sql;
pub mod stream;
