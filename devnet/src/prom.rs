//! Reading counters from Prometheus text, as `/metrics` serves it.

/// The sum of every sample of `name` whose labels include each of `labels` (`key="value"`
/// pairs, in any order). A series never incremented is absent from the text and counts 0,
/// as Prometheus treats it.
pub fn sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, series_labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            if series_name != name {
                return None;
            }
            let wanted = labels.iter().all(|(key, value)| {
                series_labels
                    .split(',')
                    .any(|pair| pair.trim() == format!("{key}=\"{value}\""))
            });
            wanted.then(|| value.trim().parse::<f64>().ok()).flatten()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"# HELP pulse_submissions Submissions by outcome.
# TYPE pulse_submissions counter
pulse_submissions_total{outcome="new"} 12
pulse_submissions_total{outcome="duplicate"} 3
pulse_submissions_total{outcome="rate_limited"} 1
pulse_validation_verdicts_total{outcome="fail",code="text_mismatch"} 2
pulse_validation_verdicts_total{outcome="fail",code="tokens_mismatch"} 1
pulse_current_block 4512
# EOF
"#;

    #[test]
    fn samples_are_summed_over_matching_labels() {
        assert_eq!(
            sum(TEXT, "pulse_submissions_total", &[("outcome", "duplicate")]),
            3.0
        );
        assert_eq!(sum(TEXT, "pulse_submissions_total", &[]), 16.0);
        assert_eq!(
            sum(
                TEXT,
                "pulse_validation_verdicts_total",
                &[("outcome", "fail")]
            ),
            3.0
        );
        assert_eq!(sum(TEXT, "pulse_current_block", &[]), 4512.0);
        assert_eq!(
            sum(TEXT, "pulse_submissions_total", &[("outcome", "conflict")]),
            0.0
        );
    }
}
