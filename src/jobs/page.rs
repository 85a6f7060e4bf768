//! The Jobs page: start forms and the live list (rows in `row`; the job detail page is in
//! `detail`).
//!
//! It renders its snapshot on the server, then follows the session's job stream from the
//! snapshot's event id. Forms post to server functions, so they work before hydration and
//! without JavaScript (the server redirects back to the page).

use super::{
    api::{list_jobs, CancelJob, JobEvents, JobsSnapshot, RetryJob, StartJob},
    model::JobEvent,
    row::JobRow,
    times::Clock,
};
use crate::streams::{use_event_stream, ConnectionState, Json, StreamEvent};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

#[component]
pub fn JobsPage() -> impl IntoView {
    let snapshot = Resource::new(|| (), |_| list_jobs());
    let start = ServerAction::<StartJob>::new();
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();

    view! {
        <Title text="Jobs"/>
        <section class="page jobs">
            <h1>"Jobs"</h1>
            <p class="lede">"Start work on the server and watch it live. Jobs are private to this browser unless shared."</p>
            <StartForms start/>
            <ActionErrors cancel retry/>
            <Suspense fallback=|| view! { <p>"Loading jobs…"</p> }>
                {move || snapshot.get().map(|result| match result {
                    Ok(current) => view! {
                        <JobBoard snapshot=current cancel retry on_reset=Callback::new(move |_| snapshot.refetch())/>
                    }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

fn field_error(start: ServerAction<StartJob>, field: &'static str) -> impl Fn() -> Option<String> + Copy {
    move || start.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).and_then(|e| e.for_field(field)))
}

/// One form per kind of job; each error shows beside its field.
#[component]
fn StartForms(start: ServerAction<StartJob>) -> impl IntoView {
    let error_of = move |field: &'static str| {
        let message = field_error(start, field);
        view! {
            <Show when=move || message().is_some()>
                <span class="field-error" id=format!("{field}-error") role="alert">{message}</span>
            </Show>
        }
    };
    let other_error = move || {
        start.value().with(|v| match v {
            Some(Err(err)) if err.field.is_none() => Some(err.to_string()),
            _ => None,
        })
    };
    view! {
        <div class="start-forms">
            <ActionForm action=start attr:class="start-form" attr:aria-label="Checksum a directory">
                <h2>"Checksum"</h2>
                <p class="hint">"SHA-256 of every file under a directory of the jobs root."</p>
                <input type="hidden" name="kind" value="checksum"/>
                <label for="dir">"Directory"</label>
                <input id="dir" name="dir" placeholder="." aria-describedby="dir-error"/>
                {error_of("dir")}
                <SharedBox id="shared-checksum"/>
                <button type="submit">"Start checksum"</button>
            </ActionForm>
            <ActionForm action=start attr:class="start-form" attr:aria-label="Count primes">
                <h2>"Primes"</h2>
                <p class="hint">"Counts primes below a limit (CPU-bound: the default keeps a core busy for several seconds)."</p>
                <input type="hidden" name="kind" value="primes"/>
                <label for="limit">"Limit"</label>
                <input id="limit" name="limit" inputmode="numeric" value="3000000000" aria-describedby="limit-error"/>
                {error_of("limit")}
                <SharedBox id="shared-primes"/>
                <button type="submit">"Start primes"</button>
            </ActionForm>
            <ActionForm action=start attr:class="start-form" attr:aria-label="Run a pipeline">
                <h2>"Pipeline"</h2>
                <p class="hint">"Stages (fetch, transform, verify, publish, …) that write a log line per step."</p>
                <input type="hidden" name="kind" value="pipeline"/>
                <label for="stages">"Stages"</label>
                <input id="stages" name="stages" inputmode="numeric" value="4" aria-describedby="stages-error"/>
                {error_of("stages")}
                <label for="step_ms">"Step (ms)"</label>
                <input id="step_ms" name="step_ms" inputmode="numeric" value="300" aria-describedby="step_ms-error"/>
                {error_of("step_ms")}
                <SharedBox id="shared-pipeline"/>
                <button type="submit">"Start pipeline"</button>
            </ActionForm>
        </div>
        <Show when=move || other_error().is_some()>
            <p class="error" role="alert">{other_error}</p>
        </Show>
    }
}

#[component]
fn SharedBox(id: &'static str) -> impl IntoView {
    view! {
        <label class="shared" for=id>
            <input type="checkbox" id=id name="shared" value="on"/>
            " Shared (every visitor sees it)"
        </label>
    }
}

#[component]
fn ActionErrors(cancel: ServerAction<CancelJob>, retry: ServerAction<RetryJob>) -> impl IntoView {
    let message = move || {
        let cancel_error =
            cancel.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(|e| format!("Cancel: {e}")));
        cancel_error.or_else(|| {
            retry.value().with(|v| v.as_ref().and_then(|r| r.as_ref().err()).map(|e| format!("Retry: {e}")))
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="error" role="alert">{message}</p>
        </Show>
    }
}

/// The live list: rows keyed by job id, each with its own signal so a progress tick updates one
/// row in place.
#[component]
fn JobBoard(
    snapshot: JobsSnapshot,
    cancel: ServerAction<CancelJob>,
    retry: ServerAction<RetryJob>,
    on_reset: Callback<()>,
) -> impl IntoView {
    let jobs = RwSignal::new(snapshot.jobs.into_iter().map(|job| (job.id, RwSignal::new(job))).collect::<Vec<_>>());
    let viewer = StoredValue::new(snapshot.viewer);
    Clock::provide(snapshot.now_ms);
    let announcement = RwSignal::new(String::new());
    let connection =
        use_event_stream(JobEvents {}, Some(snapshot.as_of), move |event: StreamEvent<Json<JobEvent>>| match event {
            StreamEvent::Item { item: Json(JobEvent::Job { job }), .. } => {
                let existing = jobs.with_untracked(|list| list.iter().find(|(id, _)| *id == job.id).map(|(_, s)| *s));
                match existing {
                    Some(row) => {
                        let before = row.with_untracked(|j| j.state);
                        if before != job.state {
                            announcement.set(format!("{}: {}", job.label, job.state.as_str()));
                        }
                        row.set(job);
                    }
                    None => {
                        announcement.set(format!("{}: {}", job.label, job.state.as_str()));
                        jobs.update(|list| {
                            let at = list.iter().position(|(id, _)| *id < job.id).unwrap_or(list.len());
                            list.insert(at, (job.id, RwSignal::new(job)));
                        });
                    }
                }
            }
            StreamEvent::Item { .. } => {}
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { error, .. } => leptos::logging::warn!("bad job event: {error}"),
        });

    view! {
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">{move || announcement.get()}</div>
        <p class="stream-state">"Updates: "<span class="state">{crate::ui::live_label(move || connection.get().label())}</span>
            {move || (connection.get() == ConnectionState::Offline).then_some(" (reload the page to see new progress)")}
        </p>
        <Show
            when=move || jobs.with(|list| !list.is_empty())
            fallback=|| view! { <p class="empty">"No jobs yet."</p> }
        >
            <ul class="job-list" aria-label="Jobs">
                <For each=move || jobs.get() key=|(id, _)| *id let:entry>
                    <JobRow job=entry.1 cancel retry viewer/>
                </For>
            </ul>
        </Show>
    }
}
