//! `/jobs/:id`: one job with its live log tail.
//!
//! The page renders the job and its log on the server, then follows the session's job stream
//! from the snapshot's event id. The job's label is the page's one title (heading and document
//! title; the row below it carries no second copy). Each log line shows the time it was written
//! (UTC). The log box follows its tail: while the reader is at its bottom, new lines scroll into
//! view; once they scroll up, it stays where they are (with a button back to the end), and it
//! follows again as soon as they are back at the bottom.

use super::{
    api::{job_detail, CancelJob, JobEvents, JobIdArg, JobWithLog, RetryJob},
    model::{JobEvent, JobId, LogLine, LOG_TAIL},
    row::JobRow,
    times::{clock_time, iso, wall, Clock},
};
use crate::{
    request_error::{ErrorKind, RequestError},
    streams::{use_event_stream, Json, StreamEvent},
    ui::{Tail, TailState},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn JobDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<JobId>().ok()));
    let detail = Resource::new(id, |id| async move {
        match id {
            Some(id) => job_detail(JobIdArg(id)).await,
            None => Err(RequestError::not_found("no such job")),
        }
    });
    view! {
        <section class="page job-detail">
            <p><a href="/">"← All jobs"</a></p>
            <Suspense fallback=|| view! { <Title text="Job"/><p>"Loading job…"</p> }>
                {move || detail.get().map(|result| match result {
                    Ok(current) => view! { <JobDetailLive detail=current on_reset=Callback::new(move |_| detail.refetch())/> }.into_any(),
                    Err(err) if err.kind == ErrorKind::NotFound => view! { <NotFoundJob/> }.into_any(),
                    Err(err) => view! { <Title text="Job"/><p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Rendered on the server, the page answers 404: the error it shows set the status.
#[component]
fn NotFoundJob() -> impl IntoView {
    view! {
        <Title text="Job not found"/>
        <h1>"Job not found"</h1>
        <p>"There is no such job, or it belongs to another browser session."</p>
    }
}

/// Log lines as the page keeps them: numbered as they arrive, for the list's keys.
type NumberedLines = Vec<(u64, LogLine)>;

#[component]
fn JobDetailLive(detail: JobWithLog, on_reset: Callback<()>) -> impl IntoView {
    let id = detail.job.id;
    Clock::provide(detail.now_ms);
    let job = RwSignal::new(detail.job);
    let received = StoredValue::new(detail.logs.len() as u64);
    let lines =
        RwSignal::new(detail.logs.into_iter().enumerate().map(|(n, line)| (n as u64, line)).collect::<NumberedLines>());
    let viewer = StoredValue::new(detail.viewer);
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    // A retry is a new job: say so and link to it. The page stays on this job, so focus stays on
    // the Retry button just pressed.
    let retried = move || retry.value().with(|v| v.as_ref().and_then(|r| r.as_ref().ok()).copied());
    let refused = move || {
        let cancel_error =
            cancel.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(|e| format!("Cancel: {e}")));
        cancel_error.or_else(|| {
            retry.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(|e| format!("Retry: {e}")))
        })
    };
    use_event_stream(JobEvents {}, Some(detail.as_of), move |event: StreamEvent<Json<JobEvent>>| match event {
        StreamEvent::Item { item: Json(JobEvent::Job { job: update }), .. } if update.id == id => job.set(update),
        StreamEvent::Item { item: Json(JobEvent::Log { id: job_id, lines: more }), .. } if job_id == id => lines
            .update(|all: &mut NumberedLines| {
                for line in more {
                    let n = received.get_value();
                    received.set_value(n + 1);
                    all.push((n, line));
                }
                let excess = all.len().saturating_sub(LOG_TAIL);
                all.drain(..excess);
            }),
        StreamEvent::Reset { .. } => on_reset.run(()),
        _ => {}
    });
    let label = move || job.with(|j| j.label.clone());
    view! {
        <Title text=label/>
        <h1>{label}</h1>
        <ul class="job-list"><JobRow job cancel retry viewer show_label=false/></ul>
        <p class="retried" role="status">
            {move || retried().map(|new_id| view! { "Retried as " <a href=format!("/jobs/{new_id}")>{format!("job {new_id}")}</a> "." })}
        </p>
        <Show when=move || refused().is_some()>
            <p class="error" role="alert">{refused}</p>
        </Show>
        <h2>"Log" <span class="hint">"(times in UTC)"</span></h2>
        <Show when=move || lines.with(|l| !l.is_empty()) fallback=|| view! { <p class="empty">"No log lines yet."</p> }>
            <LogView lines/>
        </Show>
    }
}

/// The log box, following its tail while the reader is at its bottom ([`Tail`]).
#[component]
fn LogView(lines: RwSignal<NumberedLines>) -> impl IntoView {
    let list = NodeRef::<leptos::html::Ol>::new();
    let tail = Tail::follow(list, move || lines.track());
    view! {
        <TailState tail what="lines"/>
        <ol class="log" aria-label="Log" tabindex="0" node_ref=list on:scroll=move |_| tail.scrolled()>
            <For each=move || lines.get() key=|(n, _)| *n let:entry>
                <li>
                    {entry.1.at_ms.map(|at| view! { <time datetime=iso(at) title=wall(at)>{clock_time(at)}</time> })}
                    <span class="log-text">{entry.1.text}</span>
                </li>
            </For>
        </ol>
    }
}
