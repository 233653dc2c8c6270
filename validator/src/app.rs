//! From the command line to a finished command: the env file, parsing, logging, the
//! runtime, and one function per subcommand.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use client::ApiClient;
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, LogFormat, ValidatorArgs};
use crate::lookup::XClient;
use crate::outbox::Outbox;
use crate::report::Reporter;
use crate::shutdown;
use crate::validating::{Settings, Validator};
use crate::weights::{Burn, FileWeightSetter, Metagraph, StateFile};

/// The whole program: `args` are the process's arguments, program name first.
///
/// The env file is loaded before anything else, while the process is still single-threaded:
/// it sets environment variables, which clap then reads like any others.
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Err(error) = client::env_file::load_from_args(&args) {
        eprintln!("pulse-validator: {error:#}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse_from(args);
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pulse-validator: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            // One line on stderr, whatever the log format: the cause chain says what to do.
            eprintln!("pulse-validator: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only for a person at a terminal: logs captured to files stay plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => validate(&args, false).await,
        Command::Once(args) => validate(&args, true).await,
        Command::Config(args) => show_config(&args),
    }
}

/// The validator `args` describe: hotkey, clients, analyser, outbox, state, file weights.
pub fn build_validator(args: &ValidatorArgs) -> anyhow::Result<Validator<FileWeightSetter>> {
    let hotkey = args.identity.load().context("loading the hotkey")?;
    let timeout = args.http_timeout();
    let api = ApiClient::new(&args.api_url, hotkey.clone(), args.auth, timeout)?
        .with_message_prefix(&args.auth_message_prefix);
    let bearer = args
        .x_bearer_token
        .clone()
        .filter(|token| !token.expose().is_empty())
        .context("X_BEARER_TOKEN (or --x-bearer-token) is required to re-fetch posts from X")?;
    let x = XClient::new(&args.x_api_base, bearer, timeout, args.backoff())?;
    let analyzer = args.analyzer(timeout)?;
    let state_dir = args.hotkey_state_dir(hotkey.ss58());
    let outbox = Outbox::open(&state_dir)?;
    let state_file = StateFile::new(&state_dir);
    let setter = FileWeightSetter::new(&state_dir);
    if let Some(path) = &args.metagraph {
        // A wrong path or format is reported at start, not first at the end of a window.
        Metagraph::load(path)?;
    }
    let settings = Settings {
        lease_batch: args.lease_batch,
        poll_interval: args.poll_interval(),
        backoff: args.backoff(),
        metagraph: args.metagraph.clone(),
        burn: (args.burn_share > 0.0).then_some(Burn {
            uid: args.burn_uid,
            share: args.burn_share,
        }),
        blocks_per_window: args.blocks_per_window,
    };
    tracing::info!(
        hotkey = hotkey.ss58(),
        api = %args.api_url,
        auth = ?args.auth,
        x_api = %args.x_api_base,
        sentiment = analyzer.sentiment_engine().kind(),
        state = %state_dir.display(),
        pending_verdicts = outbox.len().unwrap_or(0),
        metagraph = ?args.metagraph,
        burn_share = args.burn_share,
        "pulse-validator ready"
    );
    Validator::new(
        api,
        x,
        analyzer,
        outbox,
        state_file,
        setter,
        settings,
        Reporter::stdout(args.output),
    )
}

async fn validate(args: &ValidatorArgs, once: bool) -> anyhow::Result<ExitCode> {
    let mut validator = build_validator(args)?;
    if let Some(address) = args.metrics_bind {
        crate::metrics::spawn_listener(address, validator.metrics()).await?;
    }
    let (trigger, shutdown) = shutdown::channel();
    shutdown::listen_for_signals(trigger);
    let totals = if once {
        validator.once(&shutdown).await?
    } else {
        validator.run(&shutdown).await?
    };
    if totals.counts.pending > 0 {
        eprintln!(
            "pulse-validator: {} verdicts could not be delivered; they stay in {} and are sent on the next start",
            totals.counts.pending,
            validator.outbox_dir().display()
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn show_config(args: &ValidatorArgs) -> anyhow::Result<ExitCode> {
    println!("{args:#?}");
    match args.identity.load() {
        Ok(hotkey) => {
            let dir = args.hotkey_state_dir(hotkey.ss58());
            println!("hotkey: {}", hotkey.ss58());
            println!("state directory: {}", dir.display());
            println!("  outbox: {}", dir.join(crate::outbox::DIR_NAME).display());
            println!(
                "  moving averages: {}",
                dir.join(crate::weights::STATE_FILE).display()
            );
            println!(
                "  weights: {}",
                dir.join(crate::weights::WEIGHTS_FILE).display()
            );
        }
        Err(error) => println!("hotkey: not loadable: {error:#}"),
    }
    Ok(ExitCode::SUCCESS)
}
