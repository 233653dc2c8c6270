//! One subnet's page (`/subnets/{subnet}`): its pulse over the last published windows, as
//! the read API's series query returns it, and its validated posts, page by page with the
//! read API's keyset (plain links, no script).

use maud::{Markup, html};

use super::chart::{self, Column, Line, Part};
use super::view::{layout, sentiment, subnet_label};
use crate::db::signal::{PostItem, Pulse};

/// Everything a subnet page shows, as the queries returned it.
#[derive(Clone, Debug)]
pub struct SubnetPage {
    /// The subnet's netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: &'static str,
    /// Its pulse per published window, oldest first.
    pub points: Vec<Pulse>,
    /// One page of its validated posts, newest first.
    pub posts: Vec<PostItem>,
    /// The keyset position of the next (older) page, if there is one.
    pub older: Option<String>,
    /// Whether this is a later page (so a link back to the newest posts helps).
    pub paged: bool,
    /// Whether post text is published (`PUBLISH_POST_TEXT`).
    pub publish_text: bool,
}

/// The page.
pub fn page(p: &SubnetPage) -> Markup {
    let label = subnet_label(p.netuid, p.name);
    layout(
        &format!("{label} on Pulse"),
        html! {
            section #series data-netuid=(p.netuid) {
                h2 { (label) }
                @if p.points.is_empty() {
                    p.empty { "No published window has a post about this subnet yet." }
                } @else {
                    p.lede {
                        "The subnet's pulse in the last published windows that have posts about it. Posts \
                         that failed validation and posts of penalised miners do not count."
                    }
                    (sentiment_chart(p))
                    (submissions_chart(p))
                    (series_table(p))
                }
            }
            (posts(p))
        },
    )
}

fn labels(points: &[Pulse]) -> Vec<String> {
    points.iter().map(|p| p.first_window.to_string()).collect()
}

fn sentiment_chart(p: &SubnetPage) -> Markup {
    let line = |name: &str, class: &str, value: fn(&Pulse) -> Option<f64>| Line {
        name: name.to_owned(),
        class: class.to_owned(),
        points: p
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, point)| Some((i, value(point)?)))
            .collect(),
    };
    chart::lines(
        "series-chart",
        "Sentiment per window",
        &labels(&p.points),
        (-1.0, 1.0),
        &[
            line("mean", "s0", |p| p.mean_sentiment),
            line("score-weighted", "s1 dashed", |p| p.weighted_sentiment),
        ],
    )
}

fn submissions_chart(p: &SubnetPage) -> Markup {
    let columns: Vec<Column> = p
        .points
        .iter()
        .map(|point| Column {
            label: point.first_window.to_string(),
            parts: vec![
                Part {
                    name: "counted",
                    class: "pass",
                    value: point.counted_submissions,
                },
                Part {
                    name: "failed validation",
                    class: "fail",
                    value: point.excluded_failed,
                },
                Part {
                    name: "penalised miner",
                    class: "inconclusive",
                    value: point.excluded_penalised,
                },
            ],
        })
        .collect();
    chart::stacked_columns(
        "submissions-chart",
        "Submissions per window: counted, or left out and why",
        &columns,
    )
}

fn series_table(p: &SubnetPage) -> Markup {
    html! {
        table #series-table {
            caption { "Per window (confidence: lower bound of the pass rate of the checks)" }
            thead { tr {
                th scope="col" { "Window" } th scope="col" { "Posts" } th scope="col" { "Counted" }
                th scope="col" { "Left out" } th scope="col" { "Mean" } th scope="col" { "Weighted" }
                th scope="col" { "Checked" } th scope="col" { "Passed" } th scope="col" { "Failed" }
                th scope="col" { "Confidence" }
            } }
            tbody {
                @for point in p.points.iter().rev() {
                    tr data-window=(point.first_window) {
                        th scope="row" { (point.first_window) }
                        td data-field="posts" { (point.posts) }
                        td data-field="counted_submissions" { (point.counted_submissions) }
                        td data-field="excluded" { (point.excluded_failed + point.excluded_penalised) }
                        td data-field="mean_sentiment" { (sentiment(point.mean_sentiment)) }
                        td data-field="weighted_sentiment" { (sentiment(point.weighted_sentiment)) }
                        td data-field="checked" { (format!("{:.3}", point.checked)) }
                        td data-field="passed" { (point.passed) }
                        td data-field="failed" { (point.failed) }
                        td data-field="confidence" { (format!("{:.3}", point.confidence)) }
                    }
                }
            }
        }
    }
}

fn posts(p: &SubnetPage) -> Markup {
    html! {
        section #posts {
            h2 { "Validated posts" }
            p.lede {
                "Posts about the subnet whose validation passed, newest first. "
                @if !p.publish_text { "This server does not publish post text (PUBLISH_POST_TEXT)." }
            }
            @if p.posts.is_empty() {
                p.empty { "No validated post about this subnet." }
            } @else {
                table #posts-table {
                    thead { tr {
                        th scope="col" { "Window" } th scope="col" { "Post" } th scope="col" { "Author" }
                        th scope="col" { "Sentiment" } th scope="col" { "Score" } th scope="col" { "Likes" }
                        th scope="col" { "Miner" }
                        @if p.publish_text { th scope="col" { "Text" } }
                    } }
                    tbody {
                        @for post in &p.posts {
                            tr data-validation-id=(post.validation_id) data-validation=(post.validation) {
                                td data-field="window" { (post.window) }
                                td data-field="post_id" { (post.post_id) }
                                td data-field="author" { (post.author) }
                                td data-field="sentiment" { (format!("{:.3}", post.sentiment)) }
                                td data-field="score" { (format!("{:.3}", post.score)) }
                                td data-field="likes" { (post.likes) }
                                td.hotkey title=(post.miner_hotkey) { (super::view::short(&post.miner_hotkey)) }
                                @if p.publish_text {
                                    td.text data-field="content" { (post.content.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
            p.pages {
                @if p.paged { a #newest href=(format!("/subnets/{}", p.netuid)) { "Newest posts" } " " }
                @if let Some(older) = &p.older {
                    a #older rel="next" href=(format!("/subnets/{}?before={older}", p.netuid)) { "Older posts" }
                }
            }
        }
    }
}
