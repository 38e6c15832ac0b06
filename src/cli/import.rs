//! `domofeed import`: feed bodies loaded into an account, every id and `dt_*` kept.

use crate::{
    config::Settings,
    db::{self, Purpose},
    ingest::{
        import::{self, Source},
        Shape,
    },
    Error, Result,
};

/// Loads feed bodies of this project's format into an account, in one transaction
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The account to load into (see `domofeed account list`)
    #[arg(long)]
    pub account: i64,
    /// A body of the deals feed ("Полный от сделок"); `-` reads standard input
    #[arg(long, value_name = "FILE")]
    pub deals: Option<String>,
    /// A body of the units feed ("Полный от помещений"); `-` reads standard input
    #[arg(long, value_name = "FILE")]
    pub units: Option<String>,
}

pub async fn run(settings: Settings, args: ImportArgs) -> Result<()> {
    let mut sources = Vec::new();
    if let Some(path) = args.units {
        sources.push(Source {
            shape: Shape::Units,
            flag: "--units",
            path,
        });
    }
    if let Some(path) = args.deals {
        sources.push(Source {
            shape: Shape::Deals,
            flag: "--deals",
            path,
        });
    }
    if sources.is_empty() {
        return Err(Error::bad_request(
            "--deals",
            "give --deals FILE, --units FILE or both",
        ));
    }
    if sources.iter().filter(|s| s.path == "-").count() > 1 {
        return Err(Error::bad_request(
            "--deals",
            "standard input (-) can be read for one file only",
        ));
    }
    let db = db::connect(&settings, Purpose::Cli).await?;
    db::migrate(&db).await?;
    let started = std::time::Instant::now();
    let report = import::run(&db, args.account, sources, |flag, read, total| {
        eprintln!("import {flag}: {read} of {total} items");
    })
    .await?;
    for (flag, items, counts) in &report.files {
        eprintln!(
            "imported {flag}: {items} items ({} new, {} changed, {} as they were)",
            counts.created, counts.updated, counts.unchanged
        );
    }
    eprintln!("import done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
