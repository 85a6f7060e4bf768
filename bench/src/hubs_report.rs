//! Prints what `hubs` measured: a progress line per step, then Markdown tables ready for
//! BENCHMARKS.md: every step; the cost per instance and what Redis ran per published event; and
//! each Redis mode against the embedded hub (same subscribers and rate).

use crate::{
    hubs::{HubScenario, HubStep, Mode},
    redis_info,
    report::ms,
};

fn per(value: f64, count: u64, scale: f64) -> String {
    if count == 0 {
        "n/a".into()
    } else {
        format!("{:.2}", value * scale / count as f64)
    }
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}

fn name(scenario: &HubScenario) -> String {
    format!("{} ({})", scenario.mode.name(), scenario.binary)
}

fn redis_commands_per_event(step: &HubStep) -> String {
    step.redis_calls.as_ref().map_or("-".into(), |calls| per(redis_info::total(calls) as f64, step.published, 1.0))
}

pub fn progress(scenario: &HubScenario) -> Vec<String> {
    let mut lines = vec![format!(
        "{} N={}: connected {:?} ({} failed{})",
        name(scenario),
        scenario.subscribers,
        scenario.connected,
        scenario.connect_failed,
        scenario.first_connect_error.as_deref().map(|e| format!(", first: {e}")).unwrap_or_default(),
    )];
    if scenario.ended_early > 0 {
        lines.push(format!("  {} streams ended before the run was over", scenario.ended_early));
    }
    for step in &scenario.steps {
        lines.push(format!(
            "  rate {}/s: published {} (failed {}), delivered {} = {:.0}/s, p50 {} ms p99 {} ms, lost {}, dup {}, \
             resets {}, invalid {}, CPU {:?} s, Redis CPU {} s, Redis commands/event {}{}",
            step.rate,
            step.published,
            step.publish_failed,
            step.delivered,
            step.delivered_per_sec,
            ms(step.latency.p50_us),
            ms(step.latency.p99_us),
            step.lost,
            step.duplicates,
            step.resets,
            step.invalid,
            step.instance_cpu.iter().map(|c| format!("{c:.2}")).collect::<Vec<_>>(),
            step.redis_cpu.map_or("-".into(), |c| format!("{c:.2}")),
            redis_commands_per_event(step),
            if step.drained { "" } else { " (drain timed out)" },
        ));
        if let Some(calls) = &step.redis_calls {
            lines.push(format!("    per event: {}", redis_info::per_event(calls, step.published)));
        }
    }
    lines
}

pub fn markdown(results: &[HubScenario]) -> String {
    let mut out = String::from(
        "| mode | instances | subs | rate ev/s | published | delivered/s | p50 ms | p99 ms | max ms | lost | dup | \
         server CPU s | server CPU µs/delivery | Redis CPU s | Redis CPU µs/event | Redis commands/event |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for scenario in results {
        for step in &scenario.steps {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {} | {} | {} | {} |\n",
                name(scenario),
                scenario.connected.len(),
                scenario.connected_total(),
                step.rate,
                step.published,
                step.delivered_per_sec,
                ms(step.latency.p50_us),
                ms(step.latency.p99_us),
                ms(step.latency.max_us),
                step.lost + step.resets + step.invalid + step.publish_failed,
                step.duplicates,
                step.server_cpu(),
                per(step.server_cpu(), step.delivered, 1e6),
                step.redis_cpu.map_or("-".into(), |c| format!("{c:.2}")),
                step.redis_cpu.map_or("-".into(), |c| per(c, step.published, 1e6)),
                redis_commands_per_event(step),
            ));
        }
    }
    out.push_str(
        "\nPer instance (the publisher's instance is #0) and what Redis ran per published event:\n\n\
         | mode | subs | rate ev/s | instance | its subs | CPU s | CPU µs per delivery it made | Redis calls per event |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for scenario in results.iter().filter(|s| s.mode != Mode::Embedded) {
        for step in &scenario.steps {
            for (at, (cpu, delivered)) in step.instance_cpu.iter().zip(&step.instance_delivered).enumerate() {
                let calls = match (&step.redis_calls, at) {
                    (Some(calls), 0) => redis_info::per_event(calls, step.published),
                    _ => String::new(),
                };
                out.push_str(&format!(
                    "| {} | {} | {} | #{at} | {} | {cpu:.2} | {} | {calls} |\n",
                    name(scenario),
                    scenario.connected_total(),
                    step.rate,
                    scenario.connected[at],
                    per(*cpu, *delivered, 1e6),
                ));
            }
        }
    }
    out.push_str(
        "\nRatios to the embedded hub (its run at the same subscriber count and rate):\n\n\
         | mode | subs | rate ev/s | delivered/s | p99 | server CPU per delivery | server + Redis CPU per delivery |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for scenario in results.iter().filter(|s| s.mode != Mode::Embedded) {
        let Some(embedded) = results.iter().find(|e| e.mode == Mode::Embedded && e.subscribers == scenario.subscribers)
        else {
            continue;
        };
        for (step, base) in scenario.steps.iter().zip(&embedded.steps) {
            let cost = |s: &HubStep| {
                if s.delivered > 0 {
                    (s.server_cpu() + s.redis_cpu.unwrap_or(0.0)) / s.delivered as f64
                } else {
                    0.0
                }
            };
            let server = |s: &HubStep| if s.delivered > 0 { s.server_cpu() / s.delivered as f64 } else { 0.0 };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                name(scenario),
                scenario.connected_total(),
                step.rate,
                ratio(step.delivered_per_sec, base.delivered_per_sec),
                ratio(step.latency.p99_us as f64, base.latency.p99_us as f64),
                ratio(server(step), server(base)),
                ratio(cost(step), cost(base)),
            ));
        }
    }
    out
}
