//! Pulse's one retry policy, for every request to a service Pulse does not run: the
//! coordination API (miner submissions and status reads, validator status reads and
//! verdicts), X (the miner's search, the validator's lookups) and the LLM.
//!
//! A caller runs its request through [`Policy::run`] and says what each failure means
//! ([`Failure`]); the policy decides whether to try again and how long to wait first. What
//! a failure means stays the caller's call: a 429 from the coordination API ends a miner's
//! window, a 429 from X is a wait until its reset, a 429 from an LLM gateway is one more
//! transient failure.
//!
//! # The rules
//! - [`Failure::Permanent`] is never retried.
//! - [`Failure::Transient`] (no reply, a 5xx): the n-th transient failure waits the n-th of
//!   the policy's waits and tries again; once the waits are used up the last error is the
//!   answer. A `Retry-After` from the server lengthens the wait to what it asked; a server
//!   asking for more than the policy's longest wait ends the retries at once, since it
//!   expects to be down for longer than retrying covers.
//! - [`Failure::RateLimited`] (an allowance spent until a reset the server named, in
//!   `Retry-After` or X's `x-rate-limit-reset`): the policy waits for the reset, at least a
//!   second (a reset that a skewed clock places in the past still gets a pause), at most
//!   [`Policy::with_rate_limit_waits`] times (none by default), never without a reset time
//!   and never longer than the longest wait. Rate-limit waits do not use up the transient
//!   waits.
//! - No wait may end after the policy's deadline ([`Policy::until`]): the call gives up
//!   instead, and the caller's next round starts afresh.
//! - A cancellation (shutdown) ends a wait at once and the call with it; a request in
//!   flight is never cut short by the policy.
//!
//! # Why a crate of its own
//! The analyzer's LLM client and the Pulse API client (which reads `Retry-After` into its
//! errors) both need the policy, and neither may pull in the other or the command-line
//! crates that the binaries' `service` crate carries; a policy with no dependency but
//! `http`, `tokio` and `tracing` can sit under all of them.

#![warn(missing_docs)]

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use tokio::time::Instant;
pub use tokio_util::sync::CancellationToken;

/// The longest wait a server may ask for by default: longer, and the call gives up.
pub const DEFAULT_LONGEST_WAIT: Duration = Duration::from_secs(60);
/// The shortest rate-limit wait: resets are whole seconds, and clocks differ.
pub const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// X's rate-limit header: the Unix second at which the spent allowance resets.
pub const X_RATE_LIMIT_RESET: &str = "x-rate-limit-reset";

/// What a failed attempt means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Trying again cannot help (a refused signature, a conflict, an unreadable reply...).
    Permanent,
    /// The next attempt may succeed: no reply at all, or a 5xx.
    Transient {
        /// How long the server asked to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// The allowance is spent until a reset.
    RateLimited {
        /// Time until the reset, if the server named it.
        reset_in: Option<Duration>,
    },
}

/// Why [`Policy::run`] returned without a success.
#[derive(Debug)]
pub struct GaveUp<E> {
    /// The last attempt's error.
    pub error: E,
    /// Attempts made, the first included.
    pub attempts: u32,
    /// Whether a cancellation cut a wait short (rather than the failure being permanent or
    /// the policy allowing no further attempt).
    pub cancelled: bool,
}

/// Attempts, waits and limits of one kind of request; see the crate docs for the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Waits after the first, second, ... transient failure: one more attempt than waits.
    waits: Vec<Duration>,
    /// Rate-limit resets waited for per call at most.
    rate_limit_waits: u32,
    /// The longest wait a server may ask for.
    longest_wait: Duration,
    /// No wait ends after this.
    deadline: Option<Instant>,
}

/// Failures counted so far in one call.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    transient: usize,
    rate_limited: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self::reference()
    }
}

impl Policy {
    /// The reference's submission policy (docs/protocol.md#submission-retries): 3 attempts, waiting 3 s then 6 s.
    pub fn reference() -> Self {
        Self::new(vec![Duration::from_secs(3), Duration::from_secs(6)])
    }

    /// Tries once, then once more after each of `waits`.
    pub fn new(waits: Vec<Duration>) -> Self {
        Self {
            waits,
            rate_limit_waits: 0,
            longest_wait: DEFAULT_LONGEST_WAIT,
            deadline: None,
        }
    }

    /// `attempts` in all (0 counts as 1), waiting `first` after the first failure and twice
    /// as long after each further one.
    pub fn exponential(first: Duration, attempts: u32) -> Self {
        let waits = (0..attempts.saturating_sub(1))
            .map(|n| first.saturating_mul(1 << n.min(31)))
            .collect();
        Self::new(waits)
    }

    /// Waits for a spent rate limit's reset up to `waits` times per call.
    pub fn with_rate_limit_waits(mut self, waits: u32) -> Self {
        self.rate_limit_waits = waits;
        self
    }

    /// Accepts server-requested waits up to `longest`.
    pub fn with_longest_wait(mut self, longest: Duration) -> Self {
        self.longest_wait = longest;
        self
    }

    /// This policy for one call that must be over by `deadline`: no wait ends later.
    pub fn until(&self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// Attempts in all when every failure is transient.
    pub fn attempts(&self) -> usize {
        self.waits.len() + 1
    }

    /// The waits between transient failures.
    pub fn waits(&self) -> &[Duration] {
        &self.waits
    }

    /// The wait before the next attempt after `failure`, or `None` to give up.
    fn next_wait(&self, tally: &mut Tally, failure: Failure, now: Instant) -> Option<Duration> {
        let wait = match failure {
            Failure::Permanent => return None,
            Failure::Transient { retry_after } => {
                let backoff = *self.waits.get(tally.transient)?;
                tally.transient += 1;
                match retry_after {
                    Some(asked) if asked > self.longest_wait => return None,
                    Some(asked) => backoff.max(asked),
                    None => backoff,
                }
            }
            Failure::RateLimited { reset_in } => {
                let reset_in = reset_in?;
                if tally.rate_limited >= self.rate_limit_waits || reset_in > self.longest_wait {
                    return None;
                }
                tally.rate_limited += 1;
                reset_in.max(MIN_RATE_LIMIT_WAIT)
            }
        };
        match self.deadline {
            Some(deadline) if now.checked_add(wait).is_none_or(|end| end > deadline) => None,
            _ => Some(wait),
        }
    }

    /// Runs `attempt` until it succeeds or the policy gives up, classifying each error with
    /// `classify`. Waits give way to `cancel`. `what` names the request in the log line of
    /// each retry (`"submission"`, `"X search"`).
    pub async fn run<T, E, F, Fut>(
        &self,
        what: &str,
        cancel: &CancellationToken,
        classify: impl Fn(&E) -> Failure,
        mut attempt: F,
    ) -> Result<T, GaveUp<E>>
    where
        E: Display,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut tally = Tally::default();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let error = match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let failure = classify(&error);
            let Some(wait) = self.next_wait(&mut tally, failure, Instant::now()) else {
                return Err(GaveUp {
                    error,
                    attempts,
                    cancelled: false,
                });
            };
            if matches!(failure, Failure::RateLimited { .. }) {
                tracing::info!(attempt = attempts, wait_secs = wait.as_secs(), %error,
                    "{what}: rate limit spent; waiting for its reset");
            } else {
                tracing::warn!(attempt = attempts, retry_in = ?wait, %error, "{what} failed; retrying");
            }
            if !sleep(cancel, wait).await {
                return Err(GaveUp {
                    error,
                    attempts,
                    cancelled: true,
                });
            }
        }
    }
}

/// Sleeps for `duration` unless `cancel` comes first; true when the whole time passed.
pub async fn sleep(cancel: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        // A token cancelled already wins over a wait that is over already.
        biased;
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(duration) => true,
    }
}

/// The wait a `Retry-After` header asks for, as of `now`: delay-seconds (`120`) or an HTTP
/// date (`Wed, 21 Oct 2015 07:28:00 GMT`; one in the past asks for no wait). `None` when
/// the header is absent or unreadable.
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// X's `x-rate-limit-reset`: the Unix second at which a spent allowance resets.
pub fn rate_limit_reset(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(X_RATE_LIMIT_RESET)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The time from `now` until the Unix second `reset` (zero when it has passed).
pub fn until_unix(reset: i64, now: SystemTime) -> Duration {
    let reset = UNIX_EPOCH + Duration::from_secs(reset.max(0).unsigned_abs());
    reset.duration_since(now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use http::HeaderValue;

    use super::*;

    const DOWN: &str = "down";
    const REFUSED: &str = "refused";
    const SPENT: &str = "spent";

    /// Runs `policy` over scripted results, returning the outcome and when each attempt
    /// started (relative to the start).
    async fn script(
        policy: &Policy,
        cancel: &CancellationToken,
        classify: impl Fn(&&'static str) -> Failure,
        results: Vec<Result<u32, &'static str>>,
    ) -> (Result<u32, GaveUp<&'static str>>, Vec<Duration>) {
        let start = Instant::now();
        let started = Mutex::new(Vec::new());
        let mut results = results.into_iter();
        let outcome = policy
            .run("test request", cancel, classify, || {
                started.lock().unwrap().push(start.elapsed());
                let result = results.next().expect("the script has a result per attempt");
                async move { result }
            })
            .await;
        (outcome, started.into_inner().unwrap())
    }

    fn transient(_: &&'static str) -> Failure {
        Failure::Transient { retry_after: None }
    }

    fn secs(list: &[u64]) -> Vec<Duration> {
        list.iter().copied().map(Duration::from_secs).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_reference_policy_tries_three_times_waiting_3_then_6_seconds() {
        let never = CancellationToken::new();
        let (outcome, started) = script(
            &Policy::reference(),
            &never,
            transient,
            vec![Err(DOWN), Err(DOWN), Err(DOWN)],
        )
        .await;
        let gave_up = outcome.unwrap_err();
        assert_eq!((gave_up.attempts, gave_up.cancelled), (3, false));
        assert_eq!(started, secs(&[0, 3, 9]));

        let (outcome, started) = script(
            &Policy::reference(),
            &never,
            transient,
            vec![Err(DOWN), Ok(7)],
        )
        .await;
        assert_eq!(outcome.unwrap(), 7);
        assert_eq!(started, secs(&[0, 3]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_is_not_retried() {
        let (outcome, started) = script(
            &Policy::reference(),
            &CancellationToken::new(),
            |_| Failure::Permanent,
            vec![Err(REFUSED)],
        )
        .await;
        assert_eq!(outcome.unwrap_err().attempts, 1);
        assert_eq!(started, secs(&[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_lengthens_a_wait_and_too_long_a_retry_after_ends_the_call() {
        let never = CancellationToken::new();
        let asked = |secs: u64| {
            move |_: &&'static str| Failure::Transient {
                retry_after: Some(Duration::from_secs(secs)),
            }
        };
        // Longer than the backoff: the server's wait; shorter: the backoff's.
        let (_, started) = script(&Policy::reference(), &never, asked(5), vec![Err(DOWN); 3]).await;
        assert_eq!(started, secs(&[0, 5, 11]));

        let (outcome, started) =
            script(&Policy::reference(), &never, asked(61), vec![Err(DOWN)]).await;
        assert_eq!(outcome.unwrap_err().attempts, 1);
        assert_eq!(started, secs(&[0]));

        let patient = Policy::reference().with_longest_wait(Duration::from_secs(600));
        let (outcome, started) = script(&patient, &never, asked(61), vec![Err(DOWN), Ok(1)]).await;
        assert_eq!(outcome.unwrap(), 1);
        assert_eq!(started, secs(&[0, 61]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_is_waited_out_only_when_allowed_and_its_reset_is_known() {
        let never = CancellationToken::new();
        let reset_in = |reset: Option<u64>| {
            move |error: &&'static str| match *error {
                SPENT => Failure::RateLimited {
                    reset_in: reset.map(Duration::from_secs),
                },
                _ => Failure::Transient { retry_after: None },
            }
        };
        // By default a rate limit is the caller's to handle.
        let (outcome, _) = script(
            &Policy::reference(),
            &never,
            reset_in(Some(5)),
            vec![Err(SPENT)],
        )
        .await;
        assert_eq!(outcome.unwrap_err().attempts, 1);

        // Allowed: it waits for each reset, without using up the transient waits.
        let policy = Policy::reference().with_rate_limit_waits(2);
        let (outcome, started) = script(
            &policy,
            &never,
            reset_in(Some(5)),
            vec![Err(SPENT), Err(DOWN), Err(SPENT), Err(DOWN), Ok(3)],
        )
        .await;
        assert_eq!(outcome.unwrap(), 3);
        assert_eq!(started, secs(&[0, 5, 8, 13, 19]));

        // The third reset is one too many; an unknown reset is not waited for.
        let (outcome, started) =
            script(&policy, &never, reset_in(Some(5)), vec![Err(SPENT); 3]).await;
        assert_eq!(outcome.unwrap_err().attempts, 3);
        assert_eq!(started, secs(&[0, 5, 10]));
        let (outcome, _) = script(&policy, &never, reset_in(None), vec![Err(SPENT)]).await;
        assert_eq!(outcome.unwrap_err().attempts, 1);

        // A reset already passed still gets a second's pause.
        let (_, started) =
            script(&policy, &never, reset_in(Some(0)), vec![Err(SPENT), Ok(1)]).await;
        assert_eq!(started, secs(&[0, 1]));
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_ends_after_the_deadline() {
        let never = CancellationToken::new();
        let policy = Policy::reference().until(Instant::now() + Duration::from_secs(5));
        // 3 s fits before the deadline, 3 + 6 does not.
        let (outcome, started) = script(&policy, &never, transient, vec![Err(DOWN); 3]).await;
        assert_eq!(outcome.unwrap_err().attempts, 2);
        assert_eq!(started, secs(&[0, 3]));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancellation_ends_a_wait_at_once() {
        let cancel = CancellationToken::new();
        let cancelling = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            cancelling.cancel();
        });
        let start = Instant::now();
        let (outcome, started) =
            script(&Policy::reference(), &cancel, transient, vec![Err(DOWN)]).await;
        let gave_up = outcome.unwrap_err();
        assert!(gave_up.cancelled);
        assert_eq!(gave_up.attempts, 1);
        assert_eq!(started, secs(&[0]));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn exponential_waits_double() {
        let policy = Policy::exponential(Duration::from_secs(1), 3);
        assert_eq!(policy.waits(), secs(&[1, 2]));
        assert_eq!(policy.attempts(), 3);
        assert_eq!(Policy::exponential(Duration::from_secs(1), 0).attempts(), 1);
        assert_eq!(Policy::new(vec![]).attempts(), 1);
    }

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        // 2015-10-21T07:28:00Z, the example of RFC 9110.
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            retry_after(&headers("retry-after", "120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT"),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after(
                &headers("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT"),
                now
            ),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers("retry-after", "soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn x_rate_limit_reset_is_a_unix_second() {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_115_200);
        let reset = rate_limit_reset(&headers(X_RATE_LIMIT_RESET, " 1764115290 "));
        assert_eq!(reset, Some(1_764_115_290));
        assert_eq!(until_unix(1_764_115_290, now), Duration::from_secs(90));
        assert_eq!(until_unix(1_764_115_000, now), Duration::ZERO);
        assert_eq!(
            rate_limit_reset(&headers(X_RATE_LIMIT_RESET, "later")),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn headers_drive_the_waits_end_to_end() {
        // What a caller does with a 503 carrying an HTTP-date Retry-After and with X's 429.
        let now = SystemTime::now();
        let in_ten = httpdate::fmt_http_date(now + Duration::from_secs(10));
        let unavailable = headers("retry-after", &in_ten);
        let reset = now
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .saturating_add(20) as i64;
        let spent = headers(X_RATE_LIMIT_RESET, &reset.to_string());
        let policy = Policy::reference().with_rate_limit_waits(1);
        let (outcome, started) = script(
            &policy,
            &CancellationToken::new(),
            |error| match *error {
                DOWN => Failure::Transient {
                    retry_after: retry_after(&unavailable, now),
                },
                _ => Failure::RateLimited {
                    reset_in: rate_limit_reset(&spent).map(|r| until_unix(r, now)),
                },
            },
            vec![Err(DOWN), Err(SPENT), Ok(1)],
        )
        .await;
        assert_eq!(outcome.unwrap(), 1);
        // HTTP dates are whole seconds: the 10 s wait may come out a fraction shorter.
        assert!(started[1] > Duration::from_secs(9) && started[1] <= Duration::from_secs(10));
        let rate_wait = started[2] - started[1];
        assert!(rate_wait > Duration::from_secs(19) && rate_wait <= Duration::from_secs(20));
    }
}
