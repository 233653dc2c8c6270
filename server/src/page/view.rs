//! The status page's HTML: a layout, and one section per thing the page shows. Each chart
//! has a table beside it holding the same numbers, so the page reads fully without
//! JavaScript, images or colour.

use maud::{DOCTYPE, Markup, html};
use protocol::WindowInfo;

use protocol::api::MetagraphResponse;

use super::chart::{self, Column, Line, Part};
use crate::db::overview::{
    FailureCount, Standing, ValidatorActivity, WindowFill, WindowValidation,
};
use crate::db::signal::Pulse;

/// Seconds between the page's own reloads (a meta refresh: no script needed).
pub const REFRESH_SECS: u32 = 15;

/// Everything the overview shows, as the queries returned it.
#[derive(Clone, Debug)]
pub struct Overview {
    /// The current window.
    pub window: WindowInfo,
    /// Seconds per block, to turn blocks left into time left.
    pub block_time_secs: f64,
    /// New posts each hotkey may submit per window.
    pub quota: u32,
    /// How far the current window has filled.
    pub fill: WindowFill,
    /// The top subnets' pulse over the last published windows; `None` before the first
    /// publication.
    pub signal: Option<Signal>,
    /// Validation of the last windows' posts, oldest first.
    pub validation: Vec<WindowValidation>,
    /// Their failed tasks by code.
    pub failures: Vec<FailureCount>,
    /// The windows of `validation` whose numbers are the published rollup's (the others
    /// are live counts).
    pub published: Vec<i64>,
    /// The newest published window and its standings, best first.
    pub standings: Option<(u64, Vec<Standing>)>,
    /// Validators active in the last windows.
    pub validators: Vec<ValidatorActivity>,
    /// How hotkeys are registered.
    pub registration: RegistrationState,
}

/// The top subnets' series, as the read API's series query returned them.
#[derive(Clone, Debug)]
pub struct Signal {
    /// The newest published window, whose most-posted subnets these are.
    pub window: i64,
    /// The subnets, most posts in `window` first.
    pub subnets: Vec<SubnetSeries>,
}

/// One subnet's pulse per published window.
#[derive(Clone, Debug)]
pub struct SubnetSeries {
    /// Its netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: String,
    /// Its pulse per window, oldest first; windows without posts about it have none.
    pub points: Vec<Pulse>,
}

/// How this server decides who may submit.
#[derive(Clone, Debug)]
pub enum RegistrationState {
    /// REGISTRATION=open.
    Open,
    /// REGISTRATION=closed.
    Closed,
    /// REGISTRATION=metagraph: the view `GET /v2/metagraph` answers with, or why there is
    /// none yet.
    Metagraph {
        /// The subnet synced.
        netuid: u16,
        /// The synced metagraph, or why there is none.
        view: Result<MetagraphResponse, String>,
    },
}

/// The whole page around `body`.
pub fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(REFRESH_SECS);
                title { (title) }
                link rel="stylesheet" href="/assets/pulse.css";
                link rel="icon" href="/assets/favicon.svg" type="image/svg+xml";
            }
            body {
                header {
                    a.brand href="/" { "Pulse" }
                    nav {
                        a href="/" { "Status" }
                        a href="/#subnets" { "Subnets" }
                        a href="/docs" { "API" }
                    }
                }
                main { (body) }
                footer {
                    "This page reloads every " (REFRESH_SECS) " s. Every number on it comes from the \
                     coordination database; the tables hold the numbers the charts draw. "
                    a href="/openapi.json" { "OpenAPI document" }
                }
            }
        }
    }
}

/// The overview at `/`.
pub fn overview(o: &Overview) -> Markup {
    layout(
        "Pulse status",
        html! {
            (current_window(o))
            (subnets(o))
            (validation(o))
            (standings(o))
            (validators(o))
            (registration(&o.registration))
        },
    )
}

fn current_window(o: &Overview) -> Markup {
    let w = &o.window;
    let elapsed = w.current_block - w.window_start_block;
    let seconds_left = w.blocks_until_next_window as f64 * o.block_time_secs;
    let fill = &o.fill;
    html! {
        section #window {
            h2 { "Window " (w.current_window) }
            p.lede {
                "Block " (w.current_block) ", " (w.blocks_until_next_window) " blocks (about "
                (duration(seconds_left)) ") until window " (w.current_window + 1) " opens."
            }
            (chart::meter("Window", elapsed as f64, w.blocks_per_window as f64,
                &format!("{elapsed} of {} blocks", w.blocks_per_window)))
            (chart::meter("Miners at quota", fill.miners_at_quota as f64, fill.miners as f64,
                &format!("{} of {} miners", fill.miners_at_quota, fill.miners)))
            table #window-table {
                caption { "This window so far (quota: " (o.quota) " new posts per hotkey)" }
                tbody {
                    tr { th scope="row" { "Posts accepted" } td data-field="submissions" { (fill.submissions) } }
                    tr { th scope="row" { "Miners submitting" } td data-field="miners" { (fill.miners) } }
                    tr { th scope="row" { "Miners at quota" } td data-field="miners_at_quota" { (fill.miners_at_quota) } }
                    tr { th scope="row" { "Sampled for validation" } td data-field="selected" { (fill.selected) } }
                    tr { th scope="row" { "Refused (429, quota used)" } td data-field="refused" { (fill.refused) } }
                }
            }
        }
    }
}

/// A page that says what went wrong, in the site's layout.
pub fn error(title: &str, message: &str) -> Markup {
    layout(
        title,
        html! {
            section #error {
                h2 { (title) }
                p.lede { (message) }
                p { a href="/" { "Back to the status page" } }
            }
        },
    )
}

fn subnets(o: &Overview) -> Markup {
    html! {
        section #subnets {
            h2 { "Subnets" }
            @match &o.signal {
                None => p.empty { "No window has been published yet: each subnet's pulse appears once a window's scores are." },
                Some(signal) if signal.subnets.is_empty() => p.empty {
                    "Window " (signal.window) ", the newest published, has no post about a registry subnet."
                },
                Some(signal) => {
                    p.lede {
                        "Mean sentiment (from -1, very bearish, to 1, very bullish) of the subnets with the most \
                         posts in window " (signal.window) ", over the last published windows. Only posts that \
                         count make the signal: not failed validation, not from a penalised miner ("
                        a href="/openapi.json" { "read API" } ", tag signal)."
                    }
                    (sentiment_chart(signal))
                    (sentiment_table(signal))
                }
            }
        }
    }
}

/// The windows any of `series` has a point in, oldest first.
fn series_windows(series: &[SubnetSeries]) -> Vec<i64> {
    let mut windows: Vec<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.first_window))
        .collect();
    windows.sort_unstable();
    windows.dedup();
    windows
}

fn sentiment_chart(signal: &Signal) -> Markup {
    let windows = series_windows(&signal.subnets);
    let labels: Vec<String> = windows.iter().map(i64::to_string).collect();
    let lines: Vec<Line> = signal
        .subnets
        .iter()
        .enumerate()
        .map(|(i, s)| Line {
            name: subnet_label(s.netuid, &s.name),
            class: format!("s{}", i % 6),
            points: s
                .points
                .iter()
                .filter_map(|p| {
                    let at = windows.binary_search(&p.first_window).ok()?;
                    Some((at, p.mean_sentiment?))
                })
                .collect(),
        })
        .collect();
    chart::lines(
        "subnets-chart",
        "Mean sentiment per window",
        &labels,
        (-1.0, 1.0),
        &lines,
    )
}

fn sentiment_table(signal: &Signal) -> Markup {
    let windows = series_windows(&signal.subnets);
    html! {
        table #subnets-table {
            caption { "Per window: mean sentiment, posts, and confidence (the lower bound of the pass rate of the checks)" }
            thead { tr {
                th scope="col" { "Window" }
                @for s in &signal.subnets {
                    th scope="col" data-netuid=(s.netuid) {
                        a href=(format!("/subnets/{}", s.netuid)) { (subnet_label(s.netuid, &s.name)) }
                    }
                }
            } }
            tbody {
                @for window in windows.iter().rev() {
                    tr data-window=(window) {
                        th scope="row" { (window) }
                        @for s in &signal.subnets {
                            td data-netuid=(s.netuid) {
                                @if let Some(p) = s.points.iter().find(|p| p.first_window == *window) {
                                    span.num data-field="sentiment" { (sentiment(p.mean_sentiment)) }
                                    span.sub { span data-field="posts" { (p.posts) } " posts, conf. "
                                        span data-field="confidence" { (format!("{:.3}", p.confidence)) } }
                                } @else {
                                    span.empty { "none" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `SN45 talisman_ai`.
pub fn subnet_label(netuid: u16, name: &str) -> String {
    format!("SN{netuid} {name}")
}

/// A sentiment as the chart's points carry it, or a dash without posts.
pub fn sentiment(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn registration(r: &RegistrationState) -> Markup {
    html! {
        section #registration {
            h2 { "Registration" }
            @match r {
                RegistrationState::Open => p.lede data-mode="open" {
                    "Registration is open (REGISTRATION=open): any validly signed hotkey may submit, \
                     unless it is listed only as a validator. This server reads no metagraph."
                },
                RegistrationState::Closed => p.lede data-mode="closed" {
                    "Registration is closed (REGISTRATION=closed): only hotkeys an operator listed as \
                     miners may submit. This server reads no metagraph."
                },
                RegistrationState::Metagraph { netuid, view: Err(reason) } => {
                    p.lede data-mode="metagraph" {
                        "Registration follows the metagraph of netuid " (netuid) " (REGISTRATION=metagraph), \
                         which is not synced yet: miners and validators are refused until it is."
                    }
                    p.empty data-field="reason" { (reason) }
                }
                RegistrationState::Metagraph { view: Ok(m), .. } => {
                    p.lede data-mode="metagraph" {
                        "Registration follows the subnet's metagraph (REGISTRATION=metagraph): miners need a UID, \
                         validators a validator permit and stake. "
                        a href="/v2/metagraph" { "The metagraph" }
                    }
                    table #metagraph-table {
                        tbody {
                            tr { th scope="row" { "Netuid" } td data-field="netuid" { (m.netuid) } }
                            tr { th scope="row" { "Synced at block" } td data-field="block" { (m.block) } }
                            tr { th scope="row" { "Age" }
                                td data-field="age" data-secs=(format!("{:.0}", m.age_secs)) { (duration(m.age_secs)) " ago" } }
                            tr { th scope="row" { "Neurons" } td data-field="neurons" { (m.neurons.len()) } }
                            tr { th scope="row" { "Validator permits" }
                                td data-field="permits" { (m.neurons.iter().filter(|n| n.validator_permit).count()) } }
                            tr { th scope="row" { "State" }
                                td data-field="stale" data-stale=(m.stale) {
                                    @if m.stale { "stale: older than METAGRAPH_MAX_AGE_SECS, roles are not decided (503)" }
                                    @else { "fresh" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn validation(o: &Overview) -> Markup {
    let columns: Vec<Column> = o
        .validation
        .iter()
        .map(|v| Column {
            label: v.window_index.to_string(),
            parts: vec![
                part("passed", "pass", v.passed),
                part("failed", "fail", v.failed),
                part("inconclusive", "inconclusive", v.inconclusive),
                part("pending", "pending", v.pending),
            ],
        })
        .collect();
    html! {
        section #validation {
            h2 { "Validation" }
            @if o.validation.is_empty() {
                p.empty { "No post of the last windows was sampled for validation yet." }
            } @else {
                (chart::stacked_columns("validation-chart",
                    "Sampled posts per window, by what validators found", &columns))
                table #validation-table {
                    caption { "Published windows show the numbers of the read API's window summary; the \
                        others (the current window, windows not published yet) show live counts." }
                    thead { tr {
                        th scope="col" { "Window" } th scope="col" { "Sampled" } th scope="col" { "Passed" }
                        th scope="col" { "Failed" } th scope="col" { "Inconclusive" } th scope="col" { "Pending" }
                        th scope="col" { "Failures by code" }
                    } }
                    tbody {
                        @for v in o.validation.iter().rev() {
                            @let source = if o.published.contains(&v.window_index) { "published" } else { "live" };
                            tr data-window=(v.window_index) data-source=(source) {
                                th scope="row" { (v.window_index) }
                                td data-field="selected" { (v.selected) }
                                td data-field="passed" { (v.passed) }
                                td data-field="failed" { (v.failed) }
                                td data-field="inconclusive" { (v.inconclusive) }
                                td data-field="pending" { (v.pending) }
                                td data-field="codes" {
                                    (o.failures.iter()
                                        .filter(|f| f.window_index == v.window_index)
                                        .map(|f| format!("{} x{}", f.failure_code, f.tasks))
                                        .collect::<Vec<_>>().join(", "))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn standings(o: &Overview) -> Markup {
    html! {
        section #miners {
            @match &o.standings {
                None => {
                    h2 { "Miners" }
                    p.empty { "No window has been published yet: scores appear once validators have judged a window." }
                }
                Some((window, rows)) => {
                    h2 { "Miners in window " (window) }
                    p.lede { "Scores as published for window " (window) ": the mean score of a miner's posts (a post found by several miners in one window is shared, a copy of an earlier window's scores 0), less what its failures of the last 12 windows cost. Penalty is the score over that mean." }
                    table #miners-table data-window=(window) {
                        thead { tr {
                            th scope="col" { "#" } th scope="col" { "Hotkey" } th scope="col" { "Score" }
                            th scope="col" { "Posts" } th scope="col" { "Failed" } th scope="col" { "Penalty" }
                            th scope="col" { "Why" }
                        } }
                        tbody {
                            @for (rank, s) in rows.iter().enumerate() {
                                tr data-hotkey=(s.miner_hotkey) {
                                    td { (rank + 1) }
                                    td.hotkey title=(s.miner_hotkey) { (short(&s.miner_hotkey)) }
                                    td data-field="score" {
                                        span.num { (format!("{:.4}", s.score)) }
                                        (chart::meter("", s.score, 1.0, ""))
                                    }
                                    td data-field="posts" { (s.posts) }
                                    td data-field="failed_validations" { (s.failed_validations) }
                                    td data-field="penalty_factor" { (format!("{:.4}", s.penalty_factor)) }
                                    td data-field="reasons" { (s.reasons.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn validators(o: &Overview) -> Markup {
    html! {
        section #validators {
            h2 { "Validators" }
            @if o.validators.is_empty() {
                p.empty { "No verdict received in the last windows." }
            } @else {
                table #validators-table {
                    caption { "Verdicts received in the last windows" }
                    thead { tr {
                        th scope="col" { "Hotkey" } th scope="col" { "Verdicts" } th scope="col" { "Passed" }
                        th scope="col" { "Failed" } th scope="col" { "Inconclusive" } th scope="col" { "Last block" }
                    } }
                    tbody {
                        @for v in &o.validators {
                            tr data-hotkey=(v.validator_hotkey) {
                                td.hotkey title=(v.validator_hotkey) { (short(&v.validator_hotkey)) }
                                td data-field="verdicts" { (v.verdicts) }
                                td data-field="passed" { (v.passed) }
                                td data-field="failed" { (v.failed) }
                                td data-field="inconclusive" { (v.inconclusive) }
                                td data-field="last_block" { (v.last_block) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn part(name: &'static str, class: &'static str, value: i64) -> Part {
    Part { name, class, value }
}

/// `5F3sa2TJ...4kYj`: enough of an SS58 address to tell hotkeys apart at a glance; the full
/// address is in the cell's title.
pub fn short(hotkey: &str) -> String {
    if hotkey.chars().count() <= 14 {
        return hotkey.to_owned();
    }
    let head: String = hotkey.chars().take(8).collect();
    let tail: String = hotkey
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}...{tail}")
}

/// `1 min 12 s`, `48 s`.
pub fn duration(seconds: f64) -> String {
    let seconds = seconds.round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        _ => format!("{} min {} s", seconds / 60, seconds % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keeps_head_and_tail() {
        assert_eq!(
            short("5F3sa2TJAWMqDhXG6jhV4N8ko9SxwGy8TpaNS1repo5EYjQX"),
            "5F3sa2TJ...YjQX"
        );
        assert_eq!(short("alice"), "alice");
    }

    #[test]
    fn sentiments_print_like_the_charts_values_and_a_dash_without_posts() {
        assert_eq!(sentiment(Some(0.5)), "0.500");
        assert_eq!(sentiment(Some(-1.0 / 3.0)), "-0.333");
        assert_eq!(sentiment(None), "-");
        assert_eq!(subnet_label(45, "talisman_ai"), "SN45 talisman_ai");
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(duration(48.2), "48 s");
        assert_eq!(duration(72.0), "1 min 12 s");
    }
}
