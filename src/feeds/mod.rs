//! The two feeds of FEEDS.md.

/// Which feed a link serves. Stored in `feeds.kind` as `deals` or `units`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    sqlx::Type,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    /// "Полный от сделок": one item per deal.
    Deals,
    /// "Полный от помещений": one item per unit.
    Units,
}

impl FeedKind {
    /// The name users know the feed by.
    pub fn title(self) -> &'static str {
        match self {
            FeedKind::Deals => "Полный от сделок",
            FeedKind::Units => "Полный от помещений",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Deals => "deals",
            FeedKind::Units => "units",
        }
    }
}

pub mod access;
pub mod dates;
pub mod filter;
mod load;
mod pages;
pub mod recorder;
mod render;
pub mod stream;
