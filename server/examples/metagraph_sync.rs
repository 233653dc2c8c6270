//! Benchmark (bench/README.md, "Metagraph sync"): how long one metagraph sync of a full
//! subnet takes and how much memory the snapshot holds.
//!
//! Starts `pulse-chain` in this process with one subnet of `--neurons` neurons (1,024 by
//! default, finney's largest), then times, `--rounds` times over: the sync as the server
//! runs it (the node's best block and `get_neurons_lite` over WebSocket, decoding, the
//! replacement of the stored neurons in one transaction) and the reload every server process
//! does (the sync record, the neurons, the in-memory index). Reports the median and the
//! slowest round, and the process's resident memory before the first load and after the
//! last.
//!
//! ```sh
//! createdb -h 127.0.0.1 -U postgres pulse_bench_metagraph
//! cargo run --release -p server --example metagraph_sync -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/pulse_bench_metagraph --neurons 1024
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use server::db;
use server::metagraph::{Metagraph, MetagraphConfig};
use subtensor::{Endpoint, RpcOptions};

const NETUID: u16 = 1;

struct Options {
    database_url: String,
    neurons: u16,
    rounds: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut options = Options {
        database_url: std::env::var("DATABASE_URL").unwrap_or_default(),
        neurons: 1024,
        rounds: 10,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--database-url" => options.database_url = value,
            "--neurons" => options.neurons = value.parse().context("--neurons")?,
            "--rounds" => options.rounds = value.parse().context("--rounds")?,
            other => anyhow::bail!("unknown flag {other}: --database-url, --neurons, --rounds"),
        }
    }
    anyhow::ensure!(
        !options.database_url.is_empty(),
        "give --database-url (or DATABASE_URL): a scratch database"
    );
    Ok(options)
}

/// Resident memory of this process, in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmRSS:")
                    .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = options()?;
    // Every neuron registered with a distinct hotkey, stake on the validators' side, as on a
    // full subnet.
    let neurons: Vec<_> = (0..options.neurons)
        .map(|uid| {
            let key = protocol::Hotkey::from_seed_hex(&format!("{:064x}", u64::from(uid) + 1))
                .expect("a seed");
            json!({
                "hotkey": key.ss58(),
                "stake": if uid < 64 { 10_000_000_000_000u64 } else { 1_000_000_000 },
                "validator_permit": uid < 64,
            })
        })
        .collect();
    let config = chain::Config {
        state: serde_json::from_value(json!({"subnets": [{
            "netuid": NETUID, "max_allowed_uids": options.neurons, "neurons": neurons
        }]}))?,
        ..chain::Config::manual()
    };
    let chain = chain::Chain::new(config)?;
    chain.produce_blocks(1);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("ws://{}", listener.local_addr()?);
    tokio::spawn(chain::serve(
        listener,
        chain.clone(),
        std::future::pending(),
    ));

    let pool = db::connect(&options.database_url, 4).await?;
    db::migrate(&pool).await?;
    sqlx::query("delete from metagraph_syncs where netuid = $1")
        .bind(i32::from(NETUID))
        .execute(&pool)
        .await?;
    let metagraph = Metagraph::new(MetagraphConfig {
        netuid: NETUID,
        endpoint: Endpoint::parse(&url)?,
        // Every call is due.
        sync_interval: Duration::ZERO,
        tick: Duration::ZERO,
        max_age: Duration::from_secs(3600),
        min_validator_stake_rao: 0,
        rpc: RpcOptions::default(),
    });
    let before = rss_kib();
    let mut syncs = Vec::new();
    let mut reloads = Vec::new();
    for _ in 0..options.rounds {
        // A new block each round: a new snapshot to load.
        chain.produce_blocks(1);
        let started = Instant::now();
        anyhow::ensure!(metagraph.sync_if_due(&pool).await?, "the sync did not run");
        syncs.push(started.elapsed());
        let started = Instant::now();
        metagraph.reload(&pool).await?;
        reloads.push(started.elapsed());
    }
    let after = rss_kib();
    let snapshot = metagraph.snapshot().context("no snapshot")?;
    anyhow::ensure!(snapshot.neurons.len() == usize::from(options.neurons));
    println!(
        "metagraph sync of {} neurons over {} rounds: sync median {:.1} ms (slowest {:.1} ms), reload median {:.1} ms (slowest {:.1} ms); resident memory {} KiB before the first sync, {} KiB after the last (+{} KiB)",
        options.neurons,
        options.rounds,
        median(&mut syncs.clone()).as_secs_f64() * 1e3,
        syncs.iter().max().unwrap().as_secs_f64() * 1e3,
        median(&mut reloads.clone()).as_secs_f64() * 1e3,
        reloads.iter().max().unwrap().as_secs_f64() * 1e3,
        before,
        after,
        after.saturating_sub(before),
    );
    pool.close().await;
    Ok(())
}
