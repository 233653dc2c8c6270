//! From the parsed command line to a finished command: one function per subcommand.
//! `service::main` does the rest (env file, parsing, logging, runtime, the error line).

use std::process::ExitCode;

use anyhow::Context;
use client::ApiClient;
use service::Program;
use service::shutdown::{OnSignal, on_signal};
use subtensor::{RpcOptions, Subtensor, TxOptions};

use crate::chain_weights::{ChainSettings, ChainWeightSetter, Setter};
use crate::config::{Cli, Command, ValidatorArgs};
use crate::lookup::XClient;
use crate::outbox::Outbox;
use crate::report::Reporter;
use crate::validating::{Settings, Validator};
use crate::weights::{Burn, FileWeightSetter, Metagraph, StateFile};

/// Seconds per block on finney, which a timelocked commit aims its drand round by.
const FINNEY_BLOCK_SECS: f64 = 12.0;
/// How long the loop waits for a weights extrinsic to be included (a mortal era is 64
/// blocks; a few blocks is normal).
const WATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// `pulse-validator` through `service::main`: `run` and `once` validate, `config` prints.
impl Program for Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(args) => validate(&args, false).await,
            Command::Once(args) => validate(&args, true).await,
            Command::Config(args) => show_config(&args),
        }
    }
}

/// The validator `args` describe: hotkey, clients, analyser, outbox, state, and weights on
/// chain with a subtensor (its metadata checked before anything is signed), else to a file.
pub async fn build_validator(args: &ValidatorArgs) -> anyhow::Result<Validator<Setter>> {
    let hotkey = args.identity.load().context("loading the hotkey")?;
    let timeout = args.http_timeout();
    let api = ApiClient::new(args.api_url(), hotkey.clone(), args.signing.auth, timeout)?
        .with_message_prefix(&args.signing.auth_message_prefix)
        .with_signed_for(args.signing.epistula_signed_for.clone());
    let bearer = args.x.bearer("to re-fetch posts from X")?;
    let x = XClient::new(&args.x.x_api_base, bearer, timeout, args.backoff())?;
    let analyzer = args.analyzer(timeout)?;
    let state_dir = args.hotkey_state_dir(hotkey.ss58());
    let outbox = Outbox::open(&state_dir)?;
    let state_file = StateFile::new(&state_dir);
    let setter = match args.subtensor.target()? {
        None => Setter::File(FileWeightSetter::new(&state_dir)),
        Some(target) => {
            let subtensor = Subtensor::connect(&target.endpoint, RpcOptions::default())
                .await
                .with_context(|| format!("connecting to the subtensor at {}", target.endpoint))?;
            let settings = ChainSettings {
                netuid: target.netuid,
                mecid: 0,
                commit_reveal: args.commit_reveal,
                version_key: args.weights_version_key,
                block_time_secs: FINNEY_BLOCK_SECS,
                tx: TxOptions {
                    watch_timeout: WATCH_TIMEOUT,
                    ..TxOptions::default()
                },
            };
            Setter::Chain(Box::new(
                ChainWeightSetter::new(subtensor, hotkey.clone(), settings, &state_dir).await?,
            ))
        }
    };
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
        api = args.api_url(),
        auth = %args.signing.auth,
        x_api = %args.x.x_api_base,
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

/// With a subtensor configured (`--subtensor.network`, `--netuid`), the hotkey must hold a
/// UID with a validator permit and at least `--min-validator-stake`: otherwise the validator
/// stops with the `btcli` command that fixes it. Without one it starts as before.
pub async fn check_registration(args: &ValidatorArgs) -> anyhow::Result<()> {
    let Some(target) = args.subtensor.target()? else {
        return Ok(());
    };
    let hotkey = args.identity.load().context("loading the hotkey")?;
    service::registration::check(
        &target,
        &args.identity,
        hotkey.ss58(),
        service::registration::Needs::Validator {
            min_stake_rao: args.min_validator_stake_rao(),
        },
    )
    .await?;
    Ok(())
}

async fn validate(args: &ValidatorArgs, once: bool) -> anyhow::Result<ExitCode> {
    check_registration(args).await?;
    let mut validator = build_validator(args).await?;
    // Verdicts already written stay on disk and are sent on the next start. Listening for
    // signals starts before the metrics listener announces itself: whoever waits for that
    // line (a supervisor, a test) may send SIGTERM at once, and a signal that arrived before
    // the handler would kill the process instead of stopping it.
    let shutdown = on_signal(OnSignal {
        first: "stopping after the verdicts in flight are written (press Ctrl-C again to stop now)",
        second: Some("second signal: stopping now; pending verdicts are sent on the next start"),
    });
    if let Some(address) = args.metrics_bind {
        service::metrics::spawn_listener("pulse-validator", address, validator.metrics()).await?;
    }
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
