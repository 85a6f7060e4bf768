//! `pipeline`: a multi-stage job (fetch, transform, verify, publish) that announces each stage
//! and logs every step. Each step does real work (rounds of SHA-256 over a buffer, the result
//! chained into the next step) and waits `step_ms`, standing in for I/O of a real pipeline.

use super::{whole_number, Prepared};
use crate::jobs::job::{FieldError, Job, JobContext, JobEnv, JobFailure, JobFuture};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const KIND: &str = "pipeline";
const STAGE_NAMES: [&str; 6] = ["fetch", "transform", "verify", "publish", "index", "archive"];
const STEPS_PER_STAGE: u64 = 5;

pub fn prepare(params: &Value, _env: &JobEnv) -> Result<Prepared, FieldError> {
    let stages = whole_number(params, "stages", 1..=STAGE_NAMES.len() as u64)?;
    let step_ms = whole_number(params, "step_ms", 10..=10_000)?;
    Ok(Prepared {
        label: format!("Pipeline of {}", stage_count(stages as usize)),
        job: Box::new(Pipeline { stages: stages as usize, step: Duration::from_millis(step_ms) }),
    })
}

/// "1 stage", "4 stages": the job's label and result read as a sentence.
fn stage_count(stages: usize) -> String {
    if stages == 1 {
        "1 stage".to_string()
    } else {
        format!("{stages} stages")
    }
}

struct Pipeline {
    stages: usize,
    step: Duration,
}

impl Job for Pipeline {
    fn run(self: Box<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            ctx.set_total(Some(self.stages as u64 * STEPS_PER_STAGE), "steps");
            let mut state = [0u8; 32];
            for (index, stage) in STAGE_NAMES.iter().take(self.stages).enumerate() {
                ctx.set_stage(stage);
                for step in 1..=STEPS_PER_STAGE {
                    tokio::select! {
                        _ = tokio::time::sleep(self.step) => {}
                        _ = ctx.token().cancelled() => return Err(JobFailure::Cancelled),
                    }
                    let mut hasher = Sha256::new();
                    for _ in 0..2_000 {
                        hasher.update(state);
                        state = hasher.finalize_reset().into();
                    }
                    ctx.advance(1);
                    ctx.log(format!("{stage} {step}/{STEPS_PER_STAGE}: {}", &hex::encode(state)[..16]));
                }
                ctx.log(format!("stage {} of {} done", index + 1, self.stages));
            }
            Ok(format!("{}, final digest {}", stage_count(self.stages), &hex::encode(state)[..16]))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::stage_count;

    #[test]
    fn one_stage_is_singular_and_more_are_plural() {
        assert_eq!(stage_count(1), "1 stage");
        assert_eq!(stage_count(4), "4 stages");
    }
}
