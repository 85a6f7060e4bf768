//! Prints the market benchmark's figures: a progress line per run and per few stall samples
//! (stderr), then Markdown tables ready for BENCHMARKS.md (stdout). Per-subscriber arithmetic
//! lives here as small pure functions, tested below.

use crate::{
    market_results::{LiveResult, StallResult, StallSample},
    report::ms,
};

/// Memory added per subscriber, KiB: (now − base) ÷ subscribers, never negative.
pub fn kib_per(now_kib: u64, base_kib: u64, subscribers: usize) -> f64 {
    now_kib.saturating_sub(base_kib) as f64 / subscribers.max(1) as f64
}

/// Lowest, mean and highest of per-subscriber counts, as rates over `secs`.
pub fn spread_per_sec(counts: &[u64], secs: f64) -> (f64, f64, f64) {
    if counts.is_empty() || secs <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let min = *counts.iter().min().unwrap_or(&0) as f64;
    let max = *counts.iter().max().unwrap_or(&0) as f64;
    let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    (min / secs, mean / secs, max / secs)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

pub fn live_line(r: &LiveResult) -> String {
    let secs = r.span.secs;
    let (_, mean, _) = spread_per_sec(&r.delivered.per_subscriber, secs);
    format!(
        "  {} ticks/s asked (histories full after {:.1} s): {:.0} achieved over {:.1} s; {:.0} updates/s delivered ({:.1} per subscriber), staleness p99 {} ms, {} bad; server CPU {:.2} s; RSS {:.2} KiB/subscriber",
        r.rate,
        r.warmup_secs,
        r.span.per_sec(r.span.grown.ticks),
        secs,
        r.span.per_sec(r.delivered.updates as f64),
        mean,
        ms(r.staleness.p99_us),
        r.delivered.bad,
        r.span.server_cpu,
        kib_per(r.rss_max_kib, r.rss_base_kib, r.connect.connected),
    )
}

pub fn stall_line(sample: &StallSample, rss_base_kib: u64, tcp_base_kib: u64, stalled: usize) -> String {
    format!(
        "  t={:.0} s: RSS {} MiB = {:.2} KiB/stalled subscriber; kernel TCP buffers {:.2} KiB/stalled",
        sample.secs,
        mib(sample.rss_kib),
        kib_per(sample.rss_kib, rss_base_kib, stalled),
        kib_per(sample.tcp_kib, tcp_base_kib, stalled),
    )
}

/// The live runs: throughput and staleness, then resources.
pub fn live_markdown(results: &[LiveResult]) -> String {
    let mut out = String::from(
        "| ticks/s asked | symbols | subs | ticks/s achieved | achieved | other events/s | updates delivered/s | per sub/s min / mean / max | conflated/s | staleness p50 ms | p99 ms | max ms | bad | resets | out of order |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let s = &r.span;
        let (min, mean, max) = spread_per_sec(&r.delivered.per_subscriber, s.secs);
        let ticks = s.per_sec(s.grown.ticks);
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.1} % | {:.1} | {:.0} | {:.1} / {:.1} / {:.1} | {:.0} | {} | {} | {} | {} | {} | {} |\n",
            r.rate,
            r.symbols,
            r.connect.connected,
            ticks,
            ticks / f64::from(r.rate.max(1)) * 100.0,
            s.per_sec(s.grown.published - s.grown.ticks),
            s.per_sec(r.delivered.updates as f64),
            min,
            mean,
            max,
            s.per_sec(s.grown.conflated),
            ms(r.staleness.p50_us),
            ms(r.staleness.p99_us),
            ms(r.staleness.max_us),
            r.delivered.bad,
            r.delivered.resets,
            r.delivered.out_of_order,
        ));
    }
    out.push_str(
        "\n| ticks/s asked | subs | window s | /metrics round trip ms | received MB/s | received MB/h per sub (a tab) | bytes per quote event | server CPU s | server CPU % of a core | tool CPU s | RSS base MiB | RSS KiB/live sub (connected) | (window max) | kernel TCP KiB/live sub | connect s | connect failed | streams ended |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in results {
        let s = &r.span;
        out.push_str(&format!(
            "| {} | {} | {:.2} | {:.0} | {:.2} | {:.1} | {:.0} | {:.2} | {:.0} % | {:.2} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |\n",
            r.rate,
            r.connect.connected,
            s.secs,
            s.round_trip * 1000.0,
            s.per_sec(r.delivered.bytes as f64) / 1e6,
            per_tab_per_hour(s.per_sec(r.delivered.bytes as f64), r.connect.connected) / 1e6,
            per_event(r.delivered.bytes, r.delivered.updates),
            s.server_cpu,
            s.per_sec(s.server_cpu) * 100.0,
            s.tool_cpu,
            mib(r.rss_base_kib),
            kib_per(r.rss_connected_kib, r.rss_base_kib, r.connect.connected),
            kib_per(r.rss_max_kib, r.rss_base_kib, r.connect.connected),
            kib_per(r.tcp_end_kib, r.tcp_base_kib, r.connect.connected),
            r.connect.secs,
            r.connect.failed,
            r.delivered.ended,
        ));
    }
    out
}

/// What one subscriber (a browser tab showing every symbol) receives in an hour at `per_sec`
/// bytes a second shared by `subscribers`.
pub fn per_tab_per_hour(per_sec: f64, subscribers: usize) -> f64 {
    if subscribers == 0 {
        0.0
    } else {
        per_sec / subscribers as f64 * 3600.0
    }
}

/// Wire bytes (SSE framing included) per quote event received.
pub fn per_event(bytes: u64, events: u64) -> f64 {
    if events == 0 {
        0.0
    } else {
        bytes as f64 / events as f64
    }
}

/// The stall run: summary, the memory series, and what the resumed subscribers got.
pub fn stall_markdown(r: &StallResult) -> String {
    let n = r.connect.connected;
    let s = &r.span;
    let first = r.samples.first();
    let last = r.samples.last();
    let max_rss = r.samples.iter().map(|x| x.rss_kib).max().unwrap_or(0);
    let per = |sample: Option<&StallSample>| sample.map_or(0.0, |x| kib_per(x.rss_kib, r.rss_base_kib, n));
    let tcp_per = |sample: Option<&StallSample>| sample.map_or(0.0, |x| kib_per(x.tcp_kib, r.tcp_base_kib, n));
    let mut out = format!(
        "| ticks/s asked | ticks/s achieved | symbols | stalled subs | SO_RCVBUF asked | stall s | RSS base MiB | RSS KiB/stalled sub at start | at end | max | kernel TCP KiB/stalled at start | at end | delivered/s (all streams) | conflated/s | ticks an every-event stream would owe each |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {:.0} | {} | {} | {} | {:.1} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} |\n",
        r.rate,
        s.per_sec(s.grown.ticks),
        r.symbols,
        n,
        r.recv_buffer,
        s.secs,
        mib(r.rss_base_kib),
        per(first),
        per(last),
        kib_per(max_rss, r.rss_base_kib, n),
        tcp_per(first),
        tcp_per(last),
        s.per_sec(s.grown.delivered),
        s.per_sec(s.grown.conflated),
        s.grown.ticks,
    );
    out.push_str("\n| t s | RSS MiB | RSS KiB/stalled sub | kernel TCP KiB/stalled sub |\n|---:|---:|---:|---:|\n");
    for sample in &r.samples {
        out.push_str(&format!(
            "| {:.0} | {} | {:.2} | {:.2} |\n",
            sample.secs,
            mib(sample.rss_kib),
            kib_per(sample.rss_kib, r.rss_base_kib, n),
            kib_per(sample.tcp_kib, r.tcp_base_kib, n),
        ));
    }
    if !r.resumed.is_empty() {
        out.push_str(
            "\n| resumed sub | quotes read | backlog quotes | backlog bytes | oldest backlog ms | every symbol fresh after ms | first fresh quote staleness ms (max) | out of order | bad | resets |\n\
             |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for (n, o) in r.resumed.iter().enumerate() {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                n + 1,
                o.quotes,
                o.backlog_quotes,
                o.backlog_bytes,
                o.oldest_ms,
                o.all_fresh_ms.map_or("never".into(), |v| format!("{v:.1}")),
                o.first_fresh_staleness_ms.map_or("n/a".into(), |v| format!("{v:.1}")),
                o.out_of_order,
                o.bad,
                o.resets,
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_subscriber_memory() {
        assert_eq!(kib_per(30_000, 20_000, 1000), 10.0);
        assert_eq!(kib_per(10_000, 20_000, 1000), 0.0, "below the base counts as nothing");
        assert_eq!(kib_per(30_000, 20_000, 0), 10_000.0, "no division by zero");
    }

    #[test]
    fn spread_of_per_subscriber_rates() {
        assert_eq!(spread_per_sec(&[10, 20, 30], 10.0), (1.0, 2.0, 3.0));
        assert_eq!(spread_per_sec(&[], 10.0), (0.0, 0.0, 0.0));
        assert_eq!(spread_per_sec(&[5], 0.0), (0.0, 0.0, 0.0));
    }

    #[test]
    fn bytes_per_tab_per_hour_and_per_event() {
        assert_eq!(per_tab_per_hour(2000.0, 10), 720_000.0);
        assert_eq!(per_tab_per_hour(2000.0, 0), 0.0);
        assert_eq!(per_event(1500, 10), 150.0);
        assert_eq!(per_event(1500, 0), 0.0);
    }
}
