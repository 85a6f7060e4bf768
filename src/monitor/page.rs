//! The monitor page: gauges of the newest sample, charts of the chosen window, the process and
//! stream figures, of one instance (`?instance=`, the serving one by default). Server-rendered
//! from the snapshot, then live: one stream (latest wins) of that instance's samples that every
//! panel folds. The gauges and the charts subscribe each on their own (`follow_samples`) from the
//! snapshot's id, and share one connection. With several instances sampling (a shared hub), a
//! picker names every live one (from the newest sample, so it follows instances coming and
//! going); with one, the page shows no picker. "Degraded" shows with its reason while the shown
//! instance's newest sample or the server's readiness says so.

use super::{
    api::{monitor_snapshot, MonitorEvents, MonitorView},
    sample::{percent, Point, Sample},
    window::{fold_live, Window, DEFAULT_WINDOW, WINDOW_CHOICES},
};
use crate::{
    streams::{status::ConnectionRegistry, use_event_stream, Json, StreamEvent},
    ui::{units, Gauge, LineChart, Series, Unit},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// A gap between two samples longer than this many intervals (a tab shown again after a while,
/// a reconnect) reloads the snapshot instead of leaving a hole in the charts.
const GAP_INTERVALS: i64 = 10;

/// The lines of one chart: label, style class and the figure of a point each draws.
type SeriesSpec = &'static [(&'static str, &'static str, fn(&Point) -> f64)];

fn window_label(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}

/// The page's address for a window and, unless it is the serving one, an instance (instance
/// names hold only characters a query may carry as they are).
fn page_href(window: &str, instance: Option<&str>) -> String {
    match instance {
        Some(name) => format!("/monitor?window={window}&instance={name}"),
        None => format!("/monitor?window={window}"),
    }
}

#[component]
pub fn MonitorPage() -> impl IntoView {
    let query = use_query_map();
    let window = Memo::new(move |_| {
        query.with(|q| q.get("window")).filter(|w| !w.is_empty()).unwrap_or_else(|| DEFAULT_WINDOW.to_string())
    });
    let instance = Memo::new(move |_| query.with(|q| q.get("instance")).filter(|i| !i.is_empty()));
    let snapshot = Resource::new(
        move || (window.get(), instance.get()),
        |(window, instance)| monitor_snapshot(Some(window), instance),
    );

    view! {
        <Title text="Monitor"/>
        <section class="page monitor">
            <h1>"Monitor"</h1>
            <nav class="window-choice" aria-label="Time window">
                {WINDOW_CHOICES
                    .into_iter()
                    .map(|minutes| {
                        let current = move || window.get() == minutes.to_string();
                        view! {
                            <a
                                href=move || page_href(&minutes.to_string(), instance.get().as_deref())
                                class:active=current
                                aria-current=move || current().then_some("true")
                            >
                                {window_label(minutes)}
                            </a>
                        }
                    })
                    .collect_view()}
            </nav>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || snapshot.get().map(|result| match result {
                    Ok(current) => view! { <Panels snapshot=current on_reset=Callback::new(move |_| snapshot.refetch())/> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Follows the sample stream from the snapshot's id for one panel: `on_sample` gets each sample
/// newer than the panel's `latest`; a reset, or a gap of more than `gap_ms` (a tab shown again after
/// a while, a reconnect), reloads the snapshot instead. Panels calling this with the same snapshot
/// open the stream from the same point, so `use_event_stream` gives them one shared connection.
fn follow_samples(
    instance: String,
    last_id: String,
    latest: RwSignal<Option<Sample>>,
    gap_ms: i64,
    on_reset: Callback<()>,
    on_sample: impl Fn(Sample) + 'static,
) -> Signal<crate::streams::ConnectionState> {
    use_event_stream(
        MonitorEvents { instance: Some(instance) },
        Some(last_id),
        move |event: StreamEvent<Json<Sample>>| match event {
            StreamEvent::Item { item: Json(sample), .. } => {
                let previous = latest.with_untracked(|l| l.as_ref().map(|s| s.at_ms));
                match previous {
                    // Already in the snapshot.
                    Some(at) if sample.at_ms <= at => {}
                    Some(at) if sample.at_ms - at > gap_ms => on_reset.run(()),
                    _ => {
                        on_sample(sample.clone());
                        latest.set(Some(sample));
                    }
                }
            }
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { .. } => {}
        },
    )
}

/// The gauges, per-core bars and figures of the newest sample; the charts are a panel of their own
/// on the same stream.
#[component]
fn Panels(snapshot: MonitorView, on_reset: Callback<()>) -> impl IntoView {
    let window = Window { minutes: snapshot.window_minutes, step_ms: snapshot.step_ms };
    let gap_ms = (GAP_INTERVALS * snapshot.interval_ms as i64).max(window.step_ms);
    let (thresholds, interval_ms) = (snapshot.thresholds, snapshot.interval_ms);
    let latest = RwSignal::new(snapshot.latest.clone());
    let state = follow_samples(snapshot.instance.clone(), snapshot.last_id.clone(), latest, gap_ms, on_reset, |_| {});
    let sample = move |f: fn(&Sample) -> String| move || latest.with(|l| l.as_ref().map_or_else(|| "–".to_string(), f));
    let registry = use_context::<ConnectionRegistry>();
    let degraded = move || {
        latest.with(|l| l.as_ref().and_then(|s| s.degraded.clone())).or_else(|| registry.and_then(|r| r.degraded()))
    };
    // Every live instance, as the shown one's newest sample names them (the snapshot's list first).
    let listed = snapshot.instances.clone();
    let instances = Signal::derive(move || {
        latest
            .with(|l| l.as_ref().map(|s| s.instances.clone()))
            .filter(|list| !list.is_empty())
            .unwrap_or_else(|| listed.clone())
    });
    let shown = StoredValue::new(snapshot.instance.clone());
    let window_minutes = snapshot.window_minutes.to_string();
    view! {
        <Show when=move || instances.with(|list| list.len() > 1)>
            <nav class="instance-choice" aria-label="Instance">
                {
                    let window_minutes = window_minutes.clone();
                    move || instances
                        .get()
                        .into_iter()
                        .map(|name| {
                            let current = shown.with_value(|shown| *shown == name);
                            view! {
                                <a
                                    href=page_href(&window_minutes, Some(&name))
                                    class:active=current
                                    aria-current=current.then_some("true")
                                    data-instance=name.clone()
                                >
                                    {name.clone()}
                                </a>
                            }
                        })
                        .collect_view()
                }
            </nav>
        </Show>
        <p class="stream-state">
            <span class="instance">"Instance "<strong data-figure="instance">{snapshot.instance.clone()}</strong>". "</span>
            "Samples every "{units::duration_ms(interval_ms)}", live: "
            <span class="state" data-state=move || state.get().label()>{crate::ui::live_label(move || state.get().label())}</span>
        </p>
        {move || degraded().map(|why| view! {
            <p class="degraded" role="alert"><strong>"Degraded"</strong>": "<span class="degraded-reason">{why}</span></p>
        })}
        <Show when=move || latest.with(Option::is_none)>
            <p class="empty">"Waiting for the first sample…"</p>
        </Show>
        <div class="gauges">
            <Gauge
                label="CPU"
                percent=Signal::derive(move || latest.with(|l| l.as_ref().map_or(0.0, |s| s.host.cpu_percent)))
                text=Signal::derive(sample(|s| Unit::Percent.format(s.host.cpu_percent)))
                detail=Signal::derive(sample(|s| format!("{} cores", s.host.cores.len())))
                thresholds=thresholds.cpu
            />
            <Gauge
                label="Memory"
                percent=Signal::derive(move || latest.with(|l| l.as_ref().map_or(0.0, |s| percent(s.host.memory_used, s.host.memory_total))))
                text=Signal::derive(sample(|s| Unit::Percent.format(percent(s.host.memory_used, s.host.memory_total))))
                detail=Signal::derive(sample(|s| format!("{} of {}", units::bytes(s.host.memory_used as f64), units::bytes(s.host.memory_total as f64))))
                thresholds=thresholds.memory
            />
            <Gauge
                label="Swap"
                percent=Signal::derive(move || latest.with(|l| l.as_ref().map_or(0.0, |s| percent(s.host.swap_used, s.host.swap_total))))
                text=Signal::derive(sample(|s| if s.host.swap_total == 0 { "none".to_string() } else { Unit::Percent.format(percent(s.host.swap_used, s.host.swap_total)) }))
                detail=Signal::derive(sample(|s| format!("{} of {}", units::bytes(s.host.swap_used as f64), units::bytes(s.host.swap_total as f64))))
                thresholds=thresholds.memory
            />
            <Gauge
                label="Data disk"
                percent=Signal::derive(move || latest.with(|l| l.as_ref().and_then(|s| s.host.disk.as_ref()).map_or(0.0, |d| percent(d.used, d.total))))
                text=Signal::derive(sample(|s| s.host.disk.as_ref().map_or_else(|| "unknown".to_string(), |d| Unit::Percent.format(percent(d.used, d.total)))))
                detail=Signal::derive(sample(|s| s.host.disk.as_ref().map_or_else(String::new, |d| format!("{} of {} on {}", units::bytes(d.used as f64), units::bytes(d.total as f64), d.mount_point))))
                thresholds=thresholds.disk
            />
            <Gauge
                label="Load (1 min)"
                percent=Signal::derive(move || latest.with(|l| l.as_ref().map_or(0.0, load_percent)))
                text=Signal::derive(sample(|s| s.host.load.map_or_else(|| "n/a".to_string(), |l| format!("{:.2}", l[0]))))
                detail=Signal::derive(sample(|s| s.host.load.map_or_else(String::new, |l| format!("5 min {:.2} · 15 min {:.2}", l[1], l[2]))))
                thresholds=thresholds.cpu
            />
        </div>
        <ol class="cores" aria-label="CPU per core">
            {move || latest.with(|l| l.as_ref().map(|s| s.host.cores.clone()).unwrap_or_default())
                .into_iter()
                .enumerate()
                .map(|(n, usage)| {
                    let level = thresholds.cpu.level(usage).as_str();
                    view! {
                        <li data-level=level>
                            <span class="core-name">{format!("cpu{n}")}</span>
                            <span class="bar"><span class=format!("bar-fill level-{level}") style=format!("width: {:.1}%", usage.clamp(0.0, 100.0))></span></span>
                            <span class="core-value">{Unit::Percent.format(usage)}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        <Charts snapshot window gap_ms on_reset/>
        <div class="figures">
            <table class="process" aria-label="Process">
                <caption>"Process"</caption>
                <tbody>
                    <tr><th scope="row">"Resident memory"</th><td data-figure="rss">{sample(|s| units::bytes(s.process.rss_bytes as f64))}</td></tr>
                    <tr><th scope="row">"Open files"</th><td data-figure="fds">{sample(|s| s.process.open_fds.map_or_else(|| "n/a".to_string(), |n| n.to_string()))}</td></tr>
                    <tr><th scope="row">"Threads"</th><td data-figure="threads">{sample(|s| s.process.threads.map_or_else(|| "n/a".to_string(), |n| n.to_string()))}</td></tr>
                    <tr><th scope="row">"Uptime"</th><td data-figure="uptime">{sample(|s| units::duration(s.process.uptime_secs))}</td></tr>
                </tbody>
            </table>
            <table class="streams" aria-label="Streams">
                <caption>"Streams"</caption>
                <tbody>
                    <tr><th scope="row">"Topics"</th><td data-figure="topics">{sample(|s| s.streams.topics.to_string())}</td></tr>
                    <tr><th scope="row">"Open streams"</th><td data-figure="streams">{sample(|s| s.streams.streams.to_string())}</td></tr>
                    <tr><th scope="row">"Subscribers"</th><td data-figure="subscribers">{sample(|s| s.streams.subscribers.to_string())}</td></tr>
                    <tr><th scope="row">"Events in history"</th><td data-figure="history">{sample(|s| s.streams.history_events.to_string())}</td></tr>
                    <tr><th scope="row">"Published"</th><td data-figure="published">{sample(|s| format!("{} ({})", s.streams.published_total, Unit::PerSec.format(s.streams.published_per_sec)))}</td></tr>
                    <tr><th scope="row">"Delivered"</th><td data-figure="delivered">{sample(|s| format!("{} ({})", s.streams.delivered_total, Unit::PerSec.format(s.streams.delivered_per_sec)))}</td></tr>
                    <tr><th scope="row">"Conflated"</th><td data-figure="conflated">{sample(|s| s.streams.conflated_total.to_string())}</td></tr>
                    <tr><th scope="row">"Resets"</th><td data-figure="resets">{sample(|s| s.streams.resets_total.to_string())}</td></tr>
                    <tr><th scope="row">"Resumes"</th><td data-figure="resumes">{sample(|s| s.streams.resumes_total.to_string())}</td></tr>
                    <tr><th scope="row">"Jobs queued"</th><td data-figure="jobs-queued">{sample(|s| s.streams.jobs_queued.to_string())}</td></tr>
                    <tr><th scope="row">"Jobs running"</th><td data-figure="jobs-running">{sample(|s| s.streams.jobs_running.to_string())}</td></tr>
                </tbody>
            </table>
            <table class="topics" aria-label="Busiest topics">
                <caption>"Busiest topics"</caption>
                <thead><tr><th scope="col">"Topic"</th><th scope="col">"Subscribers"</th><th scope="col">"History"</th></tr></thead>
                <tbody>
                    {move || latest.with(|l| l.as_ref().map(|s| s.streams.top_topics.clone()).unwrap_or_default())
                        .into_iter()
                        .map(|t| view! {
                            <tr>
                                <td><a href=format!("/inspect?topic={}", t.topic)>{dotted(&t.topic)}</a></td>
                                <td>{t.subscribers}</td>
                                <td>{t.history_events}</td>
                            </tr>
                        })
                        .collect_view()}
                    // Private topics belong to their owners: one row counts them, no names, no link.
                    {move || latest.with(|l| l.as_ref().map(|s| s.streams.private_topics)).filter(|p| p.topics > 0).map(|p| view! {
                        <tr class="private-topics">
                            <td>{format!("private ({} topic{})", p.topics, if p.topics == 1 { "" } else { "s" })}</td>
                            <td>{p.subscribers}</td>
                            <td>{p.history_events}</td>
                        </tr>
                    })}
                </tbody>
            </table>
        </div>
    }
}

/// A dotted name with a line break allowed after each dot, where a long topic name wraps best.
fn dotted(name: &str) -> impl IntoView {
    name.split_inclusive('.').map(|part| view! { {part.to_string()}<wbr/> }).collect_view()
}

/// The charts of the window: the snapshot's points, then each live sample folded in.
#[component]
fn Charts(snapshot: MonitorView, window: Window, gap_ms: i64, on_reset: Callback<()>) -> impl IntoView {
    let thresholds = snapshot.thresholds;
    let points = RwSignal::new(snapshot.points);
    let latest = RwSignal::new(snapshot.latest);
    follow_samples(snapshot.instance, snapshot.last_id, latest, gap_ms, on_reset, move |sample| {
        points.update(|p| fold_live(p, sample.point(), window));
    });
    let end_ms = Signal::derive(move || latest.with(|l| l.as_ref().map_or(0, |s| s.at_ms)));
    let series = move |list: SeriesSpec| {
        Signal::derive(move || {
            let now = latest.with(|l| l.as_ref().map(Sample::point));
            points.with(|p| {
                list.iter()
                    .map(|(label, class, value)| Series {
                        label,
                        class,
                        points: p.iter().map(|point| (point.at_ms, value(point))).collect(),
                        current: now.as_ref().map(value),
                    })
                    .collect::<Vec<_>>()
            })
        })
    };
    let span_ms = window.span_ms();
    view! {
        <div class="charts">
            <LineChart title="CPU" unit=Unit::Percent span_ms end_ms y_max=100.0 thresholds=thresholds.cpu
                series=series(&[("total", "series-1", |p| p.cpu_percent)])/>
            <LineChart title="Memory" unit=Unit::Percent span_ms end_ms y_max=100.0 thresholds=thresholds.memory
                series=series(&[("used", "series-1", |p| p.memory_percent)])/>
            <LineChart title="Network" unit=Unit::BytesPerSec span_ms end_ms
                series=series(&[("received", "series-1", |p| p.net_rx_per_sec), ("sent", "series-2", |p| p.net_tx_per_sec)])/>
            <LineChart title="Events" unit=Unit::PerSec span_ms end_ms
                series=series(&[("published", "series-1", |p| p.published_per_sec), ("delivered", "series-2", |p| p.delivered_per_sec)])/>
            <LineChart title="Subscribers" unit=Unit::Count span_ms end_ms
                series=series(&[("subscribers", "series-1", |p| p.subscribers)])/>
        </div>
    }
}

/// The 1-minute load as a percentage of the cores (100: every core busy).
fn load_percent(sample: &Sample) -> f64 {
    let cores = sample.host.cores.len().max(1) as f64;
    sample.host.load.map_or(0.0, |l| l[0] * 100.0 / cores)
}
