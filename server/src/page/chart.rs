//! Charts drawn as inline SVG on the server: no script, no external asset, and the numbers
//! a chart draws are the numbers of the table printed beside it. Every mark carries its
//! value in `data-value` and a `<title>` (a tooltip, and what screen readers read).
//!
//! Written by hand rather than with a plotting crate: the page needs three simple shapes
//! (stacked columns, lines, a meter), and the crates that draw them (plotters, charming)
//! either render text as paths or need a script at view time.

use maud::{Markup, html};

/// Chart width in SVG user units; the SVG scales to its container's width.
const WIDTH: f64 = 640.0;
/// Chart height in SVG user units.
const HEIGHT: f64 = 200.0;
/// Room left of the plot for the axis labels.
const LEFT: f64 = 44.0;
/// Room below the plot for the column labels.
const BOTTOM: f64 = 22.0;
/// Room above the plot.
const TOP: f64 = 8.0;

/// One named part of a stacked column; `class` picks its colour in the style sheet.
#[derive(Clone, Debug)]
pub struct Part {
    /// What the part counts, shown in its tooltip and the legend.
    pub name: &'static str,
    /// The CSS class that colours it.
    pub class: &'static str,
    /// Its value (zero draws nothing).
    pub value: i64,
}

/// One column of a stacked chart.
#[derive(Clone, Debug)]
pub struct Column {
    /// Label under the column.
    pub label: String,
    /// Parts from the bottom up.
    pub parts: Vec<Part>,
}

/// Columns of stacked parts, scaled to the largest column total.
pub fn stacked_columns(id: &str, caption: &str, columns: &[Column]) -> Markup {
    let max = columns
        .iter()
        .map(|c| c.parts.iter().map(|p| p.value).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = plot_width / columns.len().max(1) as f64;
    let bar = (slot * 0.7).min(48.0);
    let legend: Vec<(&str, &str)> = columns
        .first()
        .map(|c| c.parts.iter().map(|p| (p.name, p.class)).collect())
        .unwrap_or_default();
    html! {
        figure.chart id=(id) {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(caption) {
                (axis(max, plot_height))
                @for (i, column) in columns.iter().enumerate() {
                    @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                    g.column data-label=(column.label) {
                        @for (part, top, h) in stack(&column.parts, max, plot_height) {
                            rect class=(part.class) x=(fmt(x)) y=(fmt(top)) width=(fmt(bar))
                                height=(fmt(h)) data-series=(part.name) data-value=(part.value) {
                                title { (column.label) ": " (part.value) " " (part.name) }
                            }
                        }
                        text.label x=(fmt(x + bar / 2.0)) y=(fmt(HEIGHT - 6.0)) text-anchor="middle" {
                            (column.label)
                        }
                    }
                }
            }
            figcaption {
                (caption)
                @for (name, class) in legend {
                    " " span.key { span class=(format!("swatch {class}")) {} (name) }
                }
            }
        }
    }
}

/// The nonzero parts of a column with the top and height of each, from the bottom up.
fn stack(parts: &[Part], max: i64, plot_height: f64) -> Vec<(&Part, f64, f64)> {
    let mut base = TOP + plot_height;
    parts
        .iter()
        .filter(|p| p.value > 0)
        .map(|part| {
            let h = part.value as f64 / max as f64 * plot_height;
            base -= h;
            (part, base, h)
        })
        .collect()
}

/// One line of a line chart.
#[derive(Clone, Debug)]
pub struct Line {
    /// Its name in the legend.
    pub name: String,
    /// The CSS class that colours it.
    pub class: String,
    /// `(column index, value)` points; columns without a point leave a gap.
    pub points: Vec<(usize, f64)>,
}

/// Lines over `labels.len()` columns, on a fixed value range `min..=max`.
pub fn lines(
    id: &str,
    caption: &str,
    labels: &[String],
    range: (f64, f64),
    series: &[Line],
) -> Markup {
    let (min, max) = range;
    let plot_width = WIDTH - LEFT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let slot = plot_width / labels.len().max(1) as f64;
    let x = |i: usize| LEFT + slot * i as f64 + slot / 2.0;
    let y = |v: f64| TOP + (max - v.clamp(min, max)) / (max - min) * plot_height;
    html! {
        figure.chart id=(id) {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(caption) {
                @for tick in [min, (min + max) / 2.0, max] {
                    line.grid x1=(fmt(LEFT)) x2=(fmt(WIDTH)) y1=(fmt(y(tick))) y2=(fmt(y(tick))) {}
                    text.label x=(fmt(LEFT - 4.0)) y=(fmt(y(tick) + 4.0)) text-anchor="end" { (tick) }
                }
                @for (i, label) in labels.iter().enumerate() {
                    text.label x=(fmt(x(i))) y=(fmt(HEIGHT - 6.0)) text-anchor="middle" { (label) }
                }
                @for line in series {
                    g data-series=(line.name) class=(line.class) {
                        polyline fill="none" points=(line.points.iter()
                            .map(|&(i, v)| format!("{},{}", fmt(x(i)), fmt(y(v))))
                            .collect::<Vec<_>>().join(" ")) {}
                        @for &(i, v) in &line.points {
                            circle cx=(fmt(x(i))) cy=(fmt(y(v))) r="3" data-label=(labels[i])
                                data-value=(format!("{v:.3}")) {
                                title { (line.name) ", " (labels[i]) ": " (format!("{v:.3}")) }
                            }
                        }
                    }
                }
            }
            figcaption {
                (caption)
                @for line in series {
                    " " span.key { span class=(format!("swatch {}", line.class)) {} (line.name) }
                }
            }
        }
    }
}

/// A horizontal meter: `value` of `max`, labelled.
pub fn meter(label: &str, value: f64, max: f64, text: &str) -> Markup {
    let share = if max > 0.0 {
        (value / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    html! {
        div.meter {
            span.meter-label { (label) }
            svg viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label=(format!("{label}: {text}")) {
                rect.track x="0" y="0" width="100" height="8" {}
                rect.fill x="0" y="0" width=(fmt(share * 100.0)) height="8" data-value=(value) {}
            }
            span.meter-text { (text) }
        }
    }
}

/// The value axis of a count chart: zero, half and `max`.
fn axis(max: i64, plot_height: f64) -> Markup {
    html! {
        @for tick in [0, max / 2, max] {
            @let y = TOP + plot_height - tick as f64 / max as f64 * plot_height;
            line.grid x1=(fmt(LEFT)) x2=(fmt(WIDTH)) y1=(fmt(y)) y2=(fmt(y)) {}
            text.label x=(fmt(LEFT - 4.0)) y=(fmt(y + 4.0)) text-anchor="end" { (tick) }
        }
    }
}

/// A coordinate with two decimals: enough for a 640-unit canvas, and short.
fn fmt(v: f64) -> String {
    format!("{v:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(label: &str, values: [i64; 2]) -> Column {
        Column {
            label: label.into(),
            parts: vec![
                Part {
                    name: "passed",
                    class: "pass",
                    value: values[0],
                },
                Part {
                    name: "failed",
                    class: "fail",
                    value: values[1],
                },
            ],
        }
    }

    #[test]
    fn stacked_columns_draw_each_nonzero_part_with_its_value() {
        let svg = stacked_columns(
            "v",
            "Validation",
            &[column("7", [3, 1]), column("8", [0, 2])],
        )
        .into_string();
        assert!(
            svg.contains(r#"data-series="passed" data-value="3""#),
            "{svg}"
        );
        assert!(svg.contains(r#"data-series="failed" data-value="1""#));
        assert!(svg.contains(r#"data-series="failed" data-value="2""#));
        // A zero part draws no rectangle.
        assert!(!svg.contains(r#"data-value="0""#));
        // The tallest column (4) fills the plot: 170 units high from y = 8.
        assert!(svg.contains(r#"y="8.00""#), "{svg}");
    }

    #[test]
    fn labels_are_escaped() {
        let svg = stacked_columns("v", "<b>", &[column("<script>", [1, 1])]).into_string();
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn lines_clamp_to_the_range_and_keep_values() {
        let svg = lines(
            "s",
            "Sentiment",
            &["1".into(), "2".into()],
            (-1.0, 1.0),
            &[Line {
                name: "SN1".into(),
                class: "s0".into(),
                points: vec![(0, 0.5), (1, 3.0)],
            }],
        )
        .into_string();
        assert!(svg.contains(r#"data-value="0.500""#));
        // Clamped to the top of the plot for drawing, but the value says what it is.
        assert!(
            svg.contains(r#"cy="8.00" r="3" data-label="2" data-value="3.000""#),
            "{svg}"
        );
    }

    #[test]
    fn meter_fills_its_share() {
        let svg = meter("Quota", 3.0, 12.0, "3 of 12").into_string();
        assert!(svg.contains(r#"width="25.00""#), "{svg}");
        assert!(
            meter("Empty", 1.0, 0.0, "")
                .into_string()
                .contains(r#"width="0.00""#)
        );
    }
}
