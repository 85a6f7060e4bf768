//! Prints results: a progress line per step while running, then Markdown tables (all steps,
//! and pulseboard-to-reference ratios) ready to paste into BENCHMARKS.md.

use crate::{scenario::ScenarioResult, server_proc::ServerKind};

pub fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

pub fn scenario_lines(result: &ScenarioResult) -> Vec<String> {
    let mut lines = vec![format!(
        "{} N={}: connected {} ({} failed{}) in {:.2} s; RSS base {} KiB, idle {} KiB = {:.2} KiB/subscriber",
        result.server.name(),
        result.subscribers,
        result.connected,
        result.connect_failed,
        result.first_connect_error.as_deref().map(|e| format!(", first: {e}")).unwrap_or_default(),
        result.connect_secs,
        result.rss_base_kib,
        result.rss_idle_kib,
        result.kib_per_subscriber(result.rss_idle_kib),
    )];
    if result.ended_early > 0 {
        lines.push(format!("  {} streams ended before the run was over", result.ended_early));
    }
    for step in &result.steps {
        lines.push(format!(
            "  rate {}/s: published {} (failed {}, {:.0}/s), delivered {} = {:.0}/s, latency p50 {} ms p99 {} ms max {} ms, lost {}, dup {}, resets {}, invalid {}, RSS {:.2} KiB/sub, CPU {:.2} s{}",
            step.rate,
            step.published,
            step.publish_failed,
            step.publish_rate,
            step.delivered,
            step.delivered_per_sec,
            ms(step.latency.p50_us),
            ms(step.latency.p99_us),
            ms(step.latency.max_us),
            step.lost,
            step.duplicates,
            step.resets,
            step.invalid,
            result.kib_per_subscriber(step.rss_load_kib),
            step.cpu_seconds,
            if step.drained { "" } else { " (drain timed out)" },
        ));
    }
    lines
}

pub fn markdown(results: &[ScenarioResult]) -> String {
    let mut out = String::from(
        "| server | subs | rate ev/s | asked deliveries/s | delivered/s | p50 ms | p99 ms | max ms | lost | dup | connect s | RSS idle KiB/sub | RSS load KiB/sub | CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for result in results {
        for step in &result.steps {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} |\n",
                result.server.name(),
                result.connected,
                step.rate,
                u64::from(step.rate) * result.connected as u64,
                step.delivered_per_sec,
                ms(step.latency.p50_us),
                ms(step.latency.p99_us),
                ms(step.latency.max_us),
                step.lost + step.resets,
                step.duplicates,
                result.connect_secs,
                result.kib_per_subscriber(result.rss_idle_kib),
                result.kib_per_subscriber(step.rss_load_kib),
                step.cpu_seconds,
            ));
        }
    }
    out.push_str("\nRatios pulseboard / reference (same N, same rate):\n\n| subs | rate ev/s | delivered/s | p99 | RSS idle/sub | CPU s |\n|---:|---:|---:|---:|---:|---:|\n");
    for pulse in results.iter().filter(|r| r.server == ServerKind::Pulseboard) {
        let Some(reference) =
            results.iter().find(|r| r.server == ServerKind::Reference && r.subscribers == pulse.subscribers)
        else {
            continue;
        };
        for (p, r) in pulse.steps.iter().zip(&reference.steps) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                pulse.subscribers,
                p.rate,
                ratio(p.delivered_per_sec, r.delivered_per_sec),
                ratio(p.latency.p99_us as f64, r.latency.p99_us as f64),
                ratio(
                    pulse.kib_per_subscriber(pulse.rss_idle_kib),
                    reference.kib_per_subscriber(reference.rss_idle_kib)
                ),
                ratio(p.cpu_seconds, r.cpu_seconds),
            ));
        }
    }
    out
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "n/a".into()
    }
}
