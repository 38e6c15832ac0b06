use std::process::ExitCode;

use clap::Parser;
use domofeed::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    if let Err(e) = domofeed::telemetry::init() {
        eprintln!("domofeed: {e}");
        return ExitCode::FAILURE;
    }
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domofeed: {e}");
            ExitCode::FAILURE
        }
    }
}
