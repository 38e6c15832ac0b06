use std::process::ExitCode;

use clap::Parser;
use domofeed::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    domofeed::telemetry::init();
    match cli::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("domofeed: {e}");
            ExitCode::FAILURE
        }
    }
}
