//! `primes`: counts the primes below a limit with a segmented sieve of Eratosthenes. CPU-bound;
//! progress in numbers sieved, a log line at every tenth of the way; memory stays at one segment
//! however large the limit.

use super::{whole_number, Prepared};
use crate::jobs::job::{FieldError, Job, JobContext, JobEnv, JobFailure, JobFuture};
use serde_json::Value;

pub const KIND: &str = "primes";
pub const MAX_LIMIT: u64 = 10_000_000_000;
const SEGMENT: u64 = 1 << 18;

pub fn prepare(params: &Value, _env: &JobEnv) -> Result<Prepared, FieldError> {
    let limit = whole_number(params, "limit", 10..=MAX_LIMIT)?;
    Ok(Prepared { label: format!("Primes below {limit}"), job: Box::new(Primes { limit }) })
}

struct Primes {
    limit: u64,
}

impl Job for Primes {
    fn run(self: Box<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let limit = self.limit;
            tokio::task::spawn_blocking(move || sieve(limit, &ctx))
                .await
                .map_err(|err| JobFailure::Failed(format!("sieve stopped: {err}")))?
                .map(|(count, largest)| format!("{count} primes below {limit}; largest {largest}"))
        })
    }
}

/// Primes in [0, limit): (count, largest).
fn sieve(limit: u64, ctx: &JobContext) -> Result<(u64, u64), JobFailure> {
    ctx.set_total(Some(limit), "numbers");
    let root = (limit as f64).sqrt() as u64 + 1;
    let base = simple_sieve(root);
    let mut count = 0u64;
    let mut largest = 0u64;
    let mut segment = vec![true; SEGMENT as usize];
    let mut low = 0u64;
    let mut next_tenth = 1u64;
    while low < limit {
        ctx.check()?;
        let high = (low + SEGMENT).min(limit);
        segment.iter_mut().for_each(|v| *v = true);
        for &p in &base {
            if p * p >= high {
                break;
            }
            let start = (low.div_ceil(p) * p).max(p * p);
            let mut multiple = start;
            while multiple < high {
                segment[(multiple - low) as usize] = false;
                multiple += p;
            }
        }
        for n in low.max(2)..high {
            if segment[(n - low) as usize] {
                count += 1;
                largest = n;
            }
        }
        ctx.set_done(high);
        // At most one line per tenth of the way (a segment may pass several on a small limit).
        if high as u128 * 10 >= limit as u128 * next_tenth as u128 {
            ctx.log(format!("{} %: {count} primes below {high}", high as u128 * 100 / limit as u128));
            next_tenth = (high as u128 * 10 / limit as u128) as u64 + 1;
        }
        low = high;
    }
    Ok((count, largest))
}

fn simple_sieve(limit: u64) -> Vec<u64> {
    let mut is_prime = vec![true; limit as usize + 1];
    let mut primes = Vec::new();
    for n in 2..=limit {
        if is_prime[n as usize] {
            primes.push(n);
            let mut m = n * n;
            while m <= limit {
                is_prime[m as usize] = false;
                m += n;
            }
        }
    }
    primes
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    #[test]
    fn counts_known_values() {
        let ctx = JobContext::new(1, CancellationToken::new());
        assert_eq!(sieve(10, &ctx), Ok((4, 7)));
        assert_eq!(sieve(1_000_000, &ctx), Ok((78_498, 999_983)));
        let reported = ctx.take();
        assert_eq!(reported.done, 1_000_000);
        let lines: Vec<&str> = reported.new_lines.iter().map(|l| l.text.as_str()).collect();
        // One segment for 10, four for a million (2^18 numbers each).
        assert_eq!(
            lines,
            [
                "100 %: 4 primes below 10",
                "26 %: 23000 primes below 262144",
                "52 %: 43390 primes below 524288",
                "78 %: 62946 primes below 786432",
                "100 %: 78498 primes below 1000000"
            ],
        );
    }

    #[test]
    fn stops_when_cancelled() {
        let cancel = CancellationToken::new();
        let ctx = JobContext::new(1, cancel.clone());
        cancel.cancel();
        assert_eq!(sieve(1_000_000_000, &ctx), Err(JobFailure::Cancelled));
    }

    #[test]
    fn validates_limit() {
        let env = JobEnv { files_root: ".".into() };
        let err = prepare(&serde_json::json!({"limit": "5"}), &env).err().unwrap();
        assert_eq!((err.field.as_str(), err.message.as_str()), ("limit", "must be between 10 and 10000000000"));
    }
}
