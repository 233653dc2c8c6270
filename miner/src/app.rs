//! From the parsed command line to a finished command: one function per subcommand.
//! `service::main` does the rest (env file, parsing, logging, runtime, the error line).

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use client::ApiClient;
use retry::Policy;
use service::cli::SentimentKind;
use service::shutdown::{OnSignal, on_signal};
use service::{Program, unix_now};

use crate::analyze;
use crate::config::{AnalyzeArgs, Cli, Command, KeygenArgs, MinerArgs, SignRequestArgs};
use crate::keygen;
use crate::mining::{Limits, Miner};
use crate::report;
use crate::scrape::XClient;
use crate::scrape::query::build_query;
use crate::seen::{self, SeenSet};
use crate::sign::{self, Unsigned};
use crate::submit::{SUBMIT_TIMEOUT, Submitter};

/// `pulse-miner` through `service::main`: one function per subcommand.
impl Program for Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Command::Run(args) => mine(&args, false).await,
            Command::Once(args) => mine(&args, true).await,
            Command::Analyze(args) => analyze_stdin(&args).await,
            Command::Keygen(args) => keygen_command(&args),
            Command::SignRequest(args) => sign_request(&args),
            Command::Config(args) => show_config(&args),
        }
    }
}

/// The miner `args` describe: hotkey, clients, analyser, seen set.
pub fn build_miner(args: &MinerArgs) -> anyhow::Result<Miner> {
    let hotkey = args.identity.load().context("loading the hotkey")?;
    let timeout = args.timeout.duration();
    let api = |timeout| -> anyhow::Result<ApiClient> {
        Ok(ApiClient::new(
            &args.api.miner_api_url,
            hotkey.clone(),
            args.api.signing.auth,
            timeout,
        )?
        .with_message_prefix(&args.api.signing.auth_message_prefix)
        .with_signed_for(args.api.signing.epistula_signed_for.clone()))
    };
    let query = build_query(&args.x.terms(), args.x.x_max_query_len)?;
    let bearer = args.x.api.bearer("to search X")?;
    let backoff = Policy::new(args.submit_backoff());
    let x = XClient::new(
        &args.x.api.x_api_base,
        bearer,
        query,
        args.x.x_max_results,
        timeout,
    )?
    .with_backoff(backoff.clone());
    let analyzer = args.analysis.analyzer(timeout)?;
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(seen::default_state_dir);
    let seen = SeenSet::open(&state_dir, hotkey.ss58(), unix_now())?;
    tracing::info!(
        hotkey = hotkey.ss58(),
        api = %args.api.miner_api_url,
        auth = %args.api.signing.auth,
        x_api = %args.x.api.x_api_base,
        query = x.query(),
        sentiment = analyzer.sentiment_engine().kind(),
        seen_file = %seen.path().display(),
        seen_posts = seen.len(),
        "pulse-miner ready"
    );
    let limits = Limits {
        max_per_window: args.max_submissions_per_window,
        blocks_per_window: args.blocks_per_window,
        max_pages: args.x.x_max_pages,
        sync_interval: args.sync_interval(),
        status_backoff: backoff.clone(),
    };
    Ok(Miner::new(
        api(timeout)?,
        Submitter::new(api(SUBMIT_TIMEOUT)?, backoff),
        x,
        analyzer,
        seen,
        limits,
    ))
}

/// With a subtensor configured (`--subtensor.network`, `--netuid`), the hotkey must hold a
/// UID on the subnet: otherwise the miner stops with the `btcli` command that registers it.
/// Without one it starts as before, and the server decides.
pub async fn check_registration(args: &MinerArgs) -> anyhow::Result<()> {
    let Some(target) = args.subtensor.target()? else {
        return Ok(());
    };
    let hotkey = args.identity.load().context("loading the hotkey")?;
    service::registration::check(
        &target,
        &args.identity,
        hotkey.ss58(),
        service::registration::Needs::Miner,
    )
    .await?;
    Ok(())
}

fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) must not stop the miner.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

async fn mine(args: &MinerArgs, once: bool) -> anyhow::Result<ExitCode> {
    let shutdown = on_signal(OnSignal {
        first: "stopping after the post in flight (press Ctrl-C again to stop now)",
        second: Some("second signal: stopping now"),
    });
    check_registration(args).await?;
    let mut miner = build_miner(args)?;
    if let Some(address) = args.metrics_bind {
        service::metrics::spawn_listener("pulse-miner", address, miner.metrics()).await?;
    }
    let format = args.output;
    if once {
        let report = miner.once(&shutdown).await?;
        print_line(&report::window_line(&report, format));
        let failed = report
            .stopped
            .as_ref()
            .is_some_and(|stop| stop.is_failure());
        return Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let totals = miner
        .run(&shutdown, |report| {
            print_line(&report::window_line(report, format))
        })
        .await;
    print_line(&report::total_line(&totals, format));
    Ok(ExitCode::SUCCESS)
}

async fn analyze_stdin(args: &AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let analyzer = args.analysis.analyzer(args.timeout.duration())?;
    let now = args.now.unwrap_or_else(unix_now);
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let summary = analyze::analyze(&analyzer, stdin, &mut stdout, now, args.content).await?;
    eprintln!("{}", summary.text());
    Ok(if summary.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn keygen_command(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let hotkey = keygen::keygen(&args.identity)?;
    eprintln!(
        "wrote an unencrypted hotkey to {}",
        args.identity.hotkey_file().display()
    );
    if std::env::var_os(client::identity::SEED_ENV).is_some() {
        eprintln!(
            "note: {} is set, and the miner signs with it rather than with this file",
            client::identity::SEED_ENV
        );
    }
    println!("{}", hotkey.ss58());
    Ok(ExitCode::SUCCESS)
}

fn sign_request(args: &SignRequestArgs) -> anyhow::Result<ExitCode> {
    let hotkey = args.identity.load().context("loading the hotkey")?;
    let url = sign::resolve_url(&args.api.miner_api_url, &args.target)?;
    let (body, source) = sign::read_body(args.body.as_deref())?;
    let request = Unsigned {
        method: args.method.clone(),
        url,
        body,
        signed_for: args.signed_for.clone(),
    };
    let signed = sign::sign(
        &hotkey,
        args.api.signing.auth,
        &args.api.signing.auth_message_prefix,
        request,
        SystemTime::now(),
    )?;
    print!("{}", sign::render(&signed, args.format, &source)?);
    Ok(ExitCode::SUCCESS)
}

fn show_config(args: &MinerArgs) -> anyhow::Result<ExitCode> {
    let query = build_query(&args.x.terms(), args.x.x_max_query_len)?;
    let hotkey = match args.identity.load() {
        Ok(hotkey) => {
            let source = if std::env::var_os(client::identity::SEED_ENV).is_some() {
                client::identity::SEED_ENV.to_owned()
            } else {
                args.identity.hotkey_file().display().to_string()
            };
            format!("{} (from {source})", hotkey.ss58())
        }
        Err(error) => format!("unavailable: {error:#}"),
    };
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(seen::default_state_dir);
    let set = |secret: &Option<service::Secret>| {
        if secret.as_ref().is_some_and(|s| !s.is_empty()) {
            "set (hidden)"
        } else {
            "not set"
        }
    };
    let sentiment = match args.analysis.sentiment {
        SentimentKind::Lexicon => "lexicon".to_owned(),
        SentimentKind::Llm => format!(
            "llm (LLM_BASE {}, MODEL {}, API_KEY {})",
            args.analysis.engine.llm_base,
            args.analysis.engine.model,
            set(&args.analysis.engine.api_key)
        ),
    };
    let lines = [
        ("hotkey", hotkey),
        ("MINER_API_URL", args.api.miner_api_url.clone()),
        ("auth", args.api.signing.auth.to_string()),
        ("X_API_BASE", args.x.api.x_api_base.clone()),
        ("X_BEARER_TOKEN", set(&args.x.api.x_bearer_token).to_owned()),
        (
            "x query",
            format!(
                "{query} ({} of {} characters)",
                query.chars().count(),
                args.x.x_max_query_len
            ),
        ),
        (
            "X_MAX_RESULTS / X_MAX_PAGES",
            format!("{} / {}", args.x.x_max_results, args.x.x_max_pages),
        ),
        ("sentiment", sentiment),
        ("BLOCKS_PER_WINDOW", args.blocks_per_window.to_string()),
        (
            "MAX_SUBMISSIONS_PER_WINDOW",
            args.max_submissions_per_window.to_string(),
        ),
        (
            "BATCH_HTTP_TIMEOUT",
            format!("{} s", args.timeout.batch_http_timeout),
        ),
        ("state dir", state_dir.display().to_string()),
        (
            "PULSE_MINER_METRICS_BIND",
            args.metrics_bind
                .map_or_else(|| "not set (no listener)".to_owned(), |a| a.to_string()),
        ),
    ];
    for (name, value) in lines {
        println!("{name}: {value}");
    }
    Ok(ExitCode::SUCCESS)
}
