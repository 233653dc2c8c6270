//! From settings to a running server, and the admin subcommands. `service::main` starts
//! the process (parsing, logging, runtime, the error line) and calls [`run`].

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use service::Program;
use service::shutdown::{OnSignal, on_signal};
use sqlx::PgPool;

use crate::chain::BlockSource;
use crate::config::{
    BlockSourceKind, Cli, Command, DatabaseArgs, HotkeysCommand, Registration, ServeArgs, Settings,
};
use crate::embedded::EmbeddedPostgres;
use crate::metagraph::{Metagraph, MetagraphConfig, RAO_PER_TAO};
use crate::{AppState, db, openapi, serve};
use subtensor::{Endpoint, RpcOptions};

/// `pulse-server` through `service::main`; sqlx logs only its warnings unless `RUST_LOG`
/// says otherwise.
impl Program for Cli {
    const LOG_FILTER: &'static str = "info,sqlx=warn";

    async fn run(self) -> anyhow::Result<ExitCode> {
        run(self).await.map(|()| ExitCode::SUCCESS)
    }
}

/// Runs what the command line asks for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        None | Some(Command::Serve) => {
            let submit_connections = cli.database.database_max_connections as usize;
            with_database(&cli.database, |pool| {
                serve_forever(pool, submit_connections, &cli.serve)
            })
            .await
        }
        Some(Command::Hotkeys { action }) => {
            with_database(&cli.database, |pool| hotkeys(pool, action)).await
        }
        Some(Command::Openapi) => {
            println!("{}", openapi().to_pretty_json()?);
            Ok(())
        }
        Some(Command::Healthcheck { url }) => healthcheck(url.as_deref(), &cli.serve).await,
    }
}

/// Probes `/ready` of a running server: exit 0 when it answers 200.
async fn healthcheck(url: Option<&str>, args: &ServeArgs) -> anyhow::Result<()> {
    let base = match url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            // A wildcard bind address is reached on loopback.
            let mut address = args.bind;
            if address.ip().is_unspecified() {
                address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{address}")
        }
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let response = client
        .get(format!("{base}/ready"))
        .send()
        .await
        .with_context(|| format!("{base} is not answering"))?;
    let status = response.status();
    if !status.is_success() {
        bail!(
            "{base}/ready answered {status}: {}",
            response.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

/// Opens the database (DATABASE_URL, or the embedded cluster), migrates it, runs `work`,
/// and stops the embedded cluster afterwards whatever `work` returned.
async fn with_database<F, Fut>(args: &DatabaseArgs, work: F) -> anyhow::Result<()>
where
    F: FnOnce(PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let embedded = match &args.database_url {
        Some(_) => None,
        None => Some(EmbeddedPostgres::start(args).await?),
    };
    let url = args
        .database_url
        .clone()
        .or_else(|| embedded.as_ref().map(EmbeddedPostgres::url));
    let result = async {
        let pool = db::connect_with(
            url.as_deref().expect("a URL or the embedded cluster"),
            db::shared_pool_size(args.database_max_connections),
            std::time::Duration::from_secs_f64(args.database_acquire_timeout_secs),
        )
        .await?;
        db::migrate(&pool).await?;
        let result = work(pool.clone()).await;
        pool.close().await;
        result
    }
    .await;
    if let Some(pg) = embedded
        && let Err(error) = pg.stop().await
    {
        tracing::error!(
            error = format!("{error:#}"),
            "stopping the embedded PostgreSQL failed"
        );
    }
    result
}

async fn serve_forever(
    pool: PgPool,
    submit_connections: usize,
    args: &ServeArgs,
) -> anyhow::Result<()> {
    for hotkey in &args.validator_hotkeys {
        if db::hotkeys::add(&pool, hotkey, crate::config::Role::Validator).await? {
            tracing::info!(hotkey, "registered as validator (VALIDATOR_HOTKEYS)");
        }
    }
    let settings = Settings::from(args);
    settings.check().map_err(anyhow::Error::msg)?;
    if let Some(config) = &settings.answer_llm {
        // Fails here, with its cause, rather than when the state builds the same client.
        analyzer::chat::ChatClient::new(config.clone())
            .context("building the answer route's LLM client")?;
        tracing::info!(llm.base = %config.base_url, llm.model = %config.model, "answers are written by an LLM");
    }
    let block_time = Duration::from_secs_f64(settings.block_time_secs);
    let blocks = match args.block_source {
        BlockSourceKind::Clock => BlockSource::clock(args.genesis_unix, settings.block_time_secs),
        BlockSourceKind::Subtensor => {
            let Some(url) = &args.subtensor_url else {
                bail!("BLOCK_SOURCE=subtensor needs SUBTENSOR_URL (e.g. ws://127.0.0.1:9944)");
            };
            BlockSource::subtensor(url, block_time, Duration::from_secs(10)).await?
        }
    };
    let listener = crate::listen::bind(args.bind)
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(
        block_source = ?args.block_source,
        blocks_per_window = settings.blocks_per_window,
        max_submissions = settings.max_submissions,
        registration = ?settings.registration,
        netuid = ?args.netuid,
        "pulse-server listening on http://{address} (API docs at http://{address}/docs)"
    );
    let metagraph = metagraph_of(args)?;
    let mut state =
        AppState::new(pool.clone(), settings, blocks).with_submit_connections(submit_connections);
    let mut sync = None;
    if let Some(metagraph) = metagraph {
        // Whatever another process synced is usable before this one's first tick.
        if let Err(error) = metagraph.reload(&pool).await {
            tracing::warn!(%error, "reading the synced metagraph failed");
        }
        sync = Some(crate::metagraph::spawn(
            metagraph.clone(),
            pool,
            state.metrics.clone(),
        ));
        state = state.with_metagraph(metagraph);
    }
    // A second signal is ignored: draining is short, and the embedded PostgreSQL must stop.
    let shutdown = on_signal(OnSignal {
        first: "shutting down: finishing requests in flight",
        second: None,
    });
    let served = serve(listener, state, shutdown.cancelled_owned()).await;
    if let Some(sync) = sync {
        sync.abort();
    }
    served.context("server failed")?;
    tracing::info!("pulse-server stopped");
    Ok(())
}

/// The metagraph REGISTRATION=metagraph decides with, or `None` in the other modes.
fn metagraph_of(args: &ServeArgs) -> anyhow::Result<Option<Metagraph>> {
    if args.registration != Registration::Metagraph {
        return Ok(None);
    }
    let Some(netuid) = args.netuid else {
        bail!("REGISTRATION=metagraph needs NETUID (the subnet's netuid)");
    };
    let Some(url) = &args.subtensor_url else {
        bail!("REGISTRATION=metagraph needs SUBTENSOR_URL (finney, test, local or a ws:// URL)");
    };
    let endpoint = Endpoint::parse(url).context("SUBTENSOR_URL")?;
    let tick = Duration::from_secs_f64(args.block_time_secs);
    Ok(Some(Metagraph::new(MetagraphConfig {
        netuid,
        endpoint,
        sync_interval: tick.saturating_mul(args.metagraph_sync_blocks.min(u32::MAX as u64) as u32),
        tick,
        max_age: Duration::from_secs(args.metagraph_max_age_secs),
        min_validator_stake_rao: (args.min_validator_stake * RAO_PER_TAO as f64).round() as u64,
        // A full subnet's neurons are about 300 KB; a slow public node gets half a minute.
        rpc: RpcOptions {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
        },
    })))
}

async fn hotkeys(pool: PgPool, action: &HotkeysCommand) -> anyhow::Result<()> {
    match action {
        HotkeysCommand::Add { hotkey, role } => {
            protocol::ss58::decode(hotkey)
                .with_context(|| format!("{hotkey} is not an SS58 address"))?;
            if db::hotkeys::add(&pool, hotkey, *role).await? {
                println!("added {hotkey} as {}", role.as_str());
            } else {
                println!("{hotkey} was already registered as {}", role.as_str());
            }
        }
        HotkeysCommand::Remove { hotkey, role } => {
            let removed = db::hotkeys::remove(&pool, hotkey, *role).await?;
            if removed == 0 {
                bail!(
                    "{hotkey} is not registered{}",
                    role.map(|r| format!(" as {}", r.as_str()))
                        .unwrap_or_default()
                );
            }
            println!("removed {removed} role(s) of {hotkey}");
        }
        HotkeysCommand::List => {
            let rows = db::hotkeys::list(&pool).await?;
            if rows.is_empty() {
                println!("no hotkeys registered");
            }
            for row in rows {
                println!(
                    "{:<50} {:<10} {}",
                    row.hotkey,
                    row.role.as_str(),
                    row.added_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
        }
    }
    Ok(())
}
