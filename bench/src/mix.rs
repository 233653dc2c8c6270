//! What kinds of request a run sends, and in which proportions.

use std::fmt;

/// A kind of request the generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// A post never sent before, from a hotkey with quota left in the window: `200 new`.
    New,
    /// A stored post sent again with the same data: `200 duplicate`, the original receipt.
    Duplicate,
    /// A stored post id sent with different data (one more like): `409`.
    Conflict,
    /// A post never sent before, from a hotkey whose window quota is used: `429`.
    OverQuota,
    /// Public `GET /v2/status`.
    Status,
    /// Signed `GET /v2/status`: the hotkey's quota use.
    QuotaStatus,
}

impl Op {
    /// Every kind, in the order reports list them.
    pub const ALL: [Op; 6] = [
        Op::New,
        Op::Duplicate,
        Op::Conflict,
        Op::OverQuota,
        Op::Status,
        Op::QuotaStatus,
    ];

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::New => "new",
            Op::Duplicate => "duplicate",
            Op::Conflict => "conflict",
            Op::OverQuota => "over-quota",
            Op::Status => "status",
            Op::QuotaStatus => "quota-status",
        }
    }

    fn index(self) -> usize {
        Op::ALL.iter().position(|op| *op == self).expect("listed")
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Relative weights of each [`Op`]; at least one is positive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    weights: [u32; 6],
}

impl Mix {
    /// Parses `new=70,duplicate=10,...`; kinds left out weigh 0.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut weights = [0u32; 6];
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not name=weight"))?;
            let name = name.trim();
            let op = Op::ALL
                .into_iter()
                .find(|op| op.as_str() == name || (name == "dup" && *op == Op::Duplicate))
                .ok_or_else(|| {
                    format!(
                        "unknown request kind {name:?} (one of {})",
                        Op::ALL.map(Op::as_str).join(", ")
                    )
                })?;
            weights[op.index()] = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of {name} must be a whole number, not {weight:?}"))?;
        }
        if weights.iter().all(|w| *w == 0) {
            return Err("the mix needs at least one positive weight".into());
        }
        Ok(Self { weights })
    }

    /// The weight of `op`.
    pub fn weight(&self, op: Op) -> u32 {
        self.weights[op.index()]
    }

    /// The share of `op` in [0, 1].
    pub fn share(&self, op: Op) -> f64 {
        f64::from(self.weight(op)) / f64::from(self.weights.iter().sum::<u32>())
    }

    /// The kinds with a positive weight and their weights.
    pub fn entries(&self) -> impl Iterator<Item = (Op, u32)> + '_ {
        Op::ALL
            .into_iter()
            .map(|op| (op, self.weight(op)))
            .filter(|(_, w)| *w > 0)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.entries().map(|(op, w)| format!("{op}={w}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// Picks kinds in exact proportion to their weights, evenly interleaved (smooth weighted
/// round robin, as nginx balances upstreams): after any n picks every kind is within one
/// of its share of n. Random draws would make a short run's counts vary, and the tests
/// compare exact counts.
#[derive(Debug, Clone)]
pub struct Sequence {
    weights: [i64; 6],
    current: [i64; 6],
    total: i64,
}

impl Sequence {
    /// A sequence following `mix`.
    pub fn new(mix: &Mix) -> Self {
        let weights = mix.weights.map(i64::from);
        Self {
            weights,
            current: [0; 6],
            total: weights.iter().sum(),
        }
    }

    /// The next kind.
    pub fn next_op(&mut self) -> Op {
        for (current, weight) in self.current.iter_mut().zip(self.weights) {
            *current += weight;
        }
        // The first of the largest wins, so ties go to the kind listed first (`new`).
        let mut best = 0;
        for i in 1..self.current.len() {
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        Op::ALL[best]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_parses_names_and_weights() {
        let mix = Mix::parse("new=70, dup=10,conflict=5,over-quota=10,status=5").unwrap();
        assert_eq!(mix.weight(Op::New), 70);
        assert_eq!(mix.weight(Op::Duplicate), 10);
        assert_eq!(mix.weight(Op::QuotaStatus), 0);
        assert!((mix.share(Op::New) - 0.7).abs() < 1e-12);
        assert_eq!(
            mix.to_string(),
            "new=70,duplicate=10,conflict=5,over-quota=10,status=5"
        );
    }

    #[test]
    fn a_mix_without_weight_or_with_unknown_kinds_is_refused() {
        assert!(Mix::parse("new=0").is_err());
        assert!(Mix::parse("").is_err());
        assert!(Mix::parse("spam=3").is_err());
        assert!(Mix::parse("new=lots").is_err());
        assert!(Mix::parse("new").is_err());
    }

    #[test]
    fn the_sequence_keeps_exact_proportions_at_every_multiple_of_the_total() {
        let mix = Mix::parse("new=50,duplicate=20,conflict=20,status=5,quota-status=5").unwrap();
        let mut sequence = Sequence::new(&mix);
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..200 {
            *counts.entry(sequence.next_op()).or_insert(0) += 1;
        }
        assert_eq!(
            counts,
            [
                (Op::New, 100),
                (Op::Duplicate, 40),
                (Op::Conflict, 40),
                (Op::Status, 10),
                (Op::QuotaStatus, 10)
            ]
            .into()
        );
    }

    #[test]
    fn the_sequence_starts_with_the_heaviest_kind() {
        let mix = Mix::parse("duplicate=1,new=3").unwrap();
        let mut sequence = Sequence::new(&mix);
        let first: Vec<Op> = (0..4).map(|_| sequence.next_op()).collect();
        assert_eq!(first, [Op::New, Op::New, Op::Duplicate, Op::New]);
    }
}
