//! `/metrics`: a process's metrics declared once ([`metrics!`](crate::metrics!)), the
//! `*_build_info` gauge every binary carries, the registry in OpenMetrics text, and the
//! listener the miner and the validator serve it on (`--metrics-bind`).
//!
//! prometheus-client's text encoder writes OpenMetrics 1.0 (`# EOF` at the end, counters
//! named with `_total`), so the reply says so: [`CONTENT_TYPE`]. Prometheus reads either
//! format, and picks its OpenMetrics parser by this header.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

/// The metric types, for [`metrics!`](crate::metrics!) declarations.
pub use prometheus_client;

/// The content type of [`encode`]'s text, as prometheus-client documents it.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The git commit the binaries were built from (`PULSE_BUILD_COMMIT` at build time, else
/// the repository's `HEAD`), or `unknown`.
pub const COMMIT: &str = env!("PULSE_COMMIT");

/// The labels of the build-info gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// The crate version (`0.1.0`).
    pub version: String,
    /// The git commit, or `unknown`.
    pub commit: String,
}

/// Registers `name` (under the registry's prefix: `build_info` in `pulse_miner` is
/// `pulse_miner_build_info`) as a gauge of value 1 labelled with `version` (pass the
/// binary crate's `CARGO_PKG_VERSION`) and [`COMMIT`], so dashboards can tell which build
/// each process runs.
pub fn register_build_info(registry: &mut Registry, name: &str, version: &str) {
    let family = Family::<BuildLabels, Gauge>::default();
    family
        .get_or_create(&BuildLabels {
            version: version.to_owned(),
            commit: COMMIT.to_owned(),
        })
        .set(1);
    registry.register(
        name,
        "The version and git commit this process was built from (value 1)",
        family,
    );
}

/// A registry of metrics named `<prefix>_...`, holding `<prefix>_build_info` for `version`
/// (the binary crate's `CARGO_PKG_VERSION`).
pub fn registry(prefix: &str, version: &str) -> Registry {
    let mut registry = Registry::with_prefix(prefix);
    register_build_info(&mut registry, "build_info", version);
    registry
}

/// A metric's help text from its doc comment: the lines joined, without the final period
/// (the encoder adds one).
pub fn help(doc: &str) -> String {
    let text = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    text.strip_suffix('.').unwrap_or(&text).to_owned()
}

/// Declares the metrics of a process: a struct with one public field per metric, each
/// registered under the struct's prefix with its doc comment as help, plus the prefix's
/// `build_info` gauge. The struct gets `new()` (and `Default`), `render()` (OpenMetrics
/// text) and [`Exposition`], so [`spawn_listener`] can serve it.
///
/// ```
/// use service::metrics::prometheus_client::metrics::counter::Counter;
///
/// service::metrics! {
///     /// Every metric of a sample process.
///     pub struct Metrics in "pulse_sample" {
///         /// Things counted.
///         pub things: Counter = "things",
///     }
/// }
///
/// let metrics = Metrics::new();
/// metrics.things.inc();
/// assert!(metrics.render().contains("pulse_sample_things_total 1"));
/// ```
#[macro_export]
macro_rules! metrics {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident in $prefix:literal {
            $(
                $(#[doc = $doc:literal])+
                $field_vis:vis $field:ident: $type:ty = $metric:literal,
            )*
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug)]
        $vis struct $name {
            registry: $crate::metrics::prometheus_client::registry::Registry,
            $(
                $(#[doc = $doc])+
                $field_vis $field: $type,
            )*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                let mut registry = $crate::metrics::registry($prefix, env!("CARGO_PKG_VERSION"));
                $(
                    let $field = <$type>::default();
                    registry.register(
                        $metric,
                        $crate::metrics::help(concat!($($doc, " "),+)),
                        ::std::clone::Clone::clone(&$field),
                    );
                )*
                Self { registry, $($field),* }
            }
        }

        impl $name {
            /// Every metric, registered (`Default` does the same).
            pub fn new() -> Self {
                Self::default()
            }

            /// The metrics in OpenMetrics text.
            pub fn render(&self) -> String {
                $crate::metrics::encode(&self.registry)
            }
        }

        impl $crate::metrics::Exposition for $name {
            fn registry(&self) -> &$crate::metrics::prometheus_client::registry::Registry {
                &self.registry
            }
        }
    };
}

/// `registry` in OpenMetrics text.
pub fn encode(registry: &Registry) -> String {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)
        .expect("writing to a String cannot fail");
    out
}

/// `registry` as a `/metrics` reply: [`encode`]'s text with [`CONTENT_TYPE`].
pub fn reply(registry: &Registry) -> impl IntoResponse + use<> {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], encode(registry))
}

/// A process's metrics, as the listener serves them.
pub trait Exposition: Send + Sync + 'static {
    /// The registry holding every metric.
    fn registry(&self) -> &Registry;
}

/// The listener's routes: `GET /metrics`.
pub fn router<M: Exposition>(metrics: Arc<M>) -> Router {
    Router::new()
        .route("/metrics", get(render::<M>))
        .with_state(metrics)
}

async fn render<M: Exposition>(State(metrics): State<Arc<M>>) -> impl IntoResponse {
    reply(metrics.registry())
}

/// Serves `/metrics` on `listener` until the task is dropped (the process ends).
pub async fn serve<M: Exposition>(listener: TcpListener, metrics: Arc<M>) -> std::io::Result<()> {
    axum::serve(listener, router(metrics)).await
}

/// Binds `address`, logs where the metrics are, and serves them in the background for as
/// long as the runtime runs. Returns the bound address (port 0 picks a free one).
///
/// The log line `<program> metrics listening on http://ADDR/metrics` (`program` being
/// `pulse-miner` or `pulse-validator`) is what supervisors such as `pulse-devnet` wait for.
pub async fn spawn_listener<M: Exposition>(
    program: &str,
    address: SocketAddr,
    metrics: Arc<M>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("{program} metrics listening on http://{bound}/metrics");
    tokio::spawn(async move {
        if let Err(error) = serve(listener, metrics).await {
            // The work goes on without metrics; the operator learns why they stopped.
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;

    crate::metrics! {
        /// The metrics of a sample process.
        struct Sample in "pulse_sample" {
            /// Things counted, over two
            /// lines.
            things: Counter = "things",
        }
    }

    #[tokio::test]
    async fn the_listener_serves_openmetrics_text_with_the_build_info() {
        let sample = Sample::new();
        sample.things.inc_by(3);
        assert!(sample.render().contains("pulse_sample_things_total 3"));
        let address = spawn_listener(
            "pulse-sample",
            "127.0.0.1:0".parse().unwrap(),
            Arc::new(sample),
        )
        .await
        .unwrap();

        let response = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], CONTENT_TYPE);
        let text = response.text().await.unwrap();
        let version = env!("CARGO_PKG_VERSION");
        let build =
            format!(r#"pulse_sample_build_info{{version="{version}",commit="{COMMIT}"}} 1"#);
        for needle in [
            build.as_str(),
            "# TYPE pulse_sample_build_info gauge",
            "# HELP pulse_sample_things Things counted, over two lines.\n",
            "pulse_sample_things_total 3",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn the_commit_is_the_build_variable_or_the_checkout_s_head() {
        let given = option_env!("PULSE_BUILD_COMMIT").map(str::trim);
        if let Some(given) = given.filter(|commit| !commit.is_empty()) {
            assert_eq!(COMMIT, given);
            return;
        }
        let head = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        match head {
            Ok(head) if head.status.success() => {
                assert_eq!(COMMIT, String::from_utf8_lossy(&head.stdout).trim());
            }
            _ => eprintln!("skipped: no git checkout to compare with (COMMIT is {COMMIT})"),
        }
    }
}
