//! A load generator for `bench/load.sh`: N clients for S seconds, each pulling either a full feed
//! or a small filtered request, checking every answer is a complete feed.
//!
//! cargo run --release --example load -- CLIENTS SECONDS FULL_SHARE URL…
//!
//! Client i uses URL i mod the number of URLs (one feed per 1C server, as in production). A full
//! pull is the URL as given; a small one adds `dt_updated_last_days=1`. Prints one JSON line.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [clients, seconds, full_share, urls @ ..] = args.as_slice() else {
        eprintln!("usage: load CLIENTS SECONDS FULL_SHARE URL…");
        std::process::exit(2);
    };
    let clients: usize = clients.parse().expect("CLIENTS");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    let full_share: f64 = full_share.parse().expect("FULL_SHARE");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let client = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client");
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let url = urls[i % urls.len()].clone();
            let client = client.clone();
            tokio::spawn(async move {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(i as u64);
                let mut stats = Stats::default();
                while Instant::now() < deadline {
                    let full = rng.gen_bool(full_share);
                    let target = if full {
                        url.clone()
                    } else {
                        format!("{url}?dt_updated_last_days=1")
                    };
                    let started = Instant::now();
                    let ok = match client.get(&target).send().await {
                        Ok(response) if response.status() == 200 => match response.bytes().await {
                            Ok(body) => {
                                stats.bytes += body.len() as u64;
                                ends_the_document(&body)
                            }
                            Err(_) => false,
                        },
                        _ => false,
                    };
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    if !ok {
                        stats.errors += 1;
                    } else if full {
                        stats.full.push(ms);
                    } else {
                        stats.small.push(ms);
                    }
                }
                stats
            })
        })
        .collect();
    let mut all = Stats::default();
    for task in tasks {
        let stats = task.await.expect("client task");
        all.errors += stats.errors;
        all.bytes += stats.bytes;
        all.full.extend(stats.full);
        all.small.extend(stats.small);
    }
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(f64::total_cmp);
        v.get(((v.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{{\"clients\":{clients},\"seconds\":{seconds},\"full\":{},\"small\":{},\"errors\":{},\"mb\":{:.1},\"small_p50_ms\":{:.1},\"small_p99_ms\":{:.1},\"full_p50_ms\":{:.0}}}",
        all.full.len(),
        all.small.len(),
        all.errors,
        all.bytes as f64 / 1e6,
        pct(&mut all.small, 0.5),
        pct(&mut all.small, 0.99),
        pct(&mut all.full, 0.5),
    );
}

#[derive(Default)]
struct Stats {
    full: Vec<f64>,
    small: Vec<f64>,
    errors: u64,
    bytes: u64,
}

/// Whether a body is a whole feed document: it ends with the `meta` object, the last key of
/// the body (`{"data":[…],"deleted":[…],"meta":{"feed_id":…,"next":…}}`). A body cut anywhere
/// before cannot end so: `meta` starts after the last item. Parsing every body would cost the
/// client as much CPU as the server spends writing it, on the same two cores.
fn ends_the_document(body: &[u8]) -> bool {
    const META: &[u8] = b"],\"meta\":{\"feed_id\":";
    let tail = &body[body.len().saturating_sub(16 * 1024)..];
    body.ends_with(b"}}") && tail.windows(META.len()).any(|w| w == META)
}
