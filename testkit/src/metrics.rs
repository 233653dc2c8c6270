//! Reading a process's `/metrics`, as the miner's, the validator's and the server's tests do.

use std::time::Duration;

use tokio::io::{AsyncBufRead, Lines};

/// Reads a child's log (`lines` of its stderr) until `<program> metrics listening on URL`,
/// then keeps draining the log in the background so the child never blocks on it; returns
/// the URL.
pub async fn listening_url<R>(program: &str, mut lines: Lines<R>) -> String
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    let announcement = format!("{program} metrics listening on ");
    let url = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("readable stderr")
                .unwrap_or_else(|| panic!("{program} stopped before its metrics listened"));
            if let Some(rest) = line.split(&announcement).nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{program} said where its metrics are within 60 s"));
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    url
}

/// `GET url`: asserts a 200 in OpenMetrics text ([`service::metrics::CONTENT_TYPE`]) and
/// returns the text.
pub async fn scrape(url: &str) -> String {
    let response = reqwest::get(url).await.expect("the listener answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        service::metrics::CONTENT_TYPE
    );
    response.text().await.unwrap()
}

/// The value of one series (`name` or `name{labels}`); 0 when absent, as Prometheus treats
/// a label set never incremented.
pub fn value(text: &str, series: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0, |v| v.trim().parse::<f64>().expect("a number") as u64)
}

/// Asserts that `text` holds the gauge `name` (`pulse_miner_build_info`) of value 1 with
/// this build's version and commit.
pub fn assert_build_info(text: &str, name: &str) {
    let series = format!(
        r#"{name}{{version="{}",commit="{}"}}"#,
        env!("CARGO_PKG_VERSION"),
        service::metrics::COMMIT
    );
    assert_eq!(value(text, &series), 1, "no {series} 1 in\n{text}");
    assert!(text.contains(&format!("# TYPE {name} gauge")), "{text}");
}
