//! The Jobs page (start forms, the live list) and the job detail page (live log tail).
//!
//! Both render their snapshot on the server, then follow the session's job stream from the
//! snapshot's event id. Forms post to server functions, so they work before hydration and
//! without JavaScript (the server redirects back to the page).

use super::{
    api::{job_detail, list_jobs, CancelJob, JobEvents, JobIdArg, JobWithLog, JobsSnapshot, RetryJob, StartJob},
    model::{human_amount, human_duration, JobEvent, JobId, JobState, JobView},
};
use crate::{
    request_error::{ErrorKind, RequestError},
    streams::{use_event_stream, ConnectionState, Json, StreamEvent},
};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

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
                <p class="hint">"Counts primes below a limit (CPU-bound)."</p>
                <input type="hidden" name="kind" value="primes"/>
                <label for="limit">"Limit"</label>
                <input id="limit" name="limit" inputmode="numeric" value="200000000" aria-describedby="limit-error"/>
                {error_of("limit")}
                <SharedBox id="shared-primes"/>
                <button type="submit">"Start primes"</button>
            </ActionForm>
            <ActionForm action=start attr:class="start-form" attr:aria-label="Run a pipeline">
                <h2>"Pipeline"</h2>
                <p class="hint">"Stages with log lines: fetch, transform, verify…"</p>
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

#[component]
fn JobRow(
    job: RwSignal<JobView>,
    cancel: ServerAction<CancelJob>,
    retry: ServerAction<RetryJob>,
    viewer: StoredValue<String>,
) -> impl IntoView {
    let id = job.with_untracked(|j| j.id);
    let state = move || job.with(|j| j.state);
    // Cancel and Retry only on the viewer's own jobs: the server refuses them on others' (403).
    let mine = move || job.with(|j| viewer.with_value(|tag| j.owned_by(tag)));
    view! {
        <li class="job" data-id=id data-state=move || state().as_str()>
            <div class="job-head">
                <a class="job-label" href=format!("/jobs/{id}")>{move || job.with(|j| j.label.clone())}</a>
                <span class="badge" data-state=move || state().as_str()>{move || state().as_str()}</span>
                {move || job.with(|j| j.shared).then(|| view! { <span class="badge shared-badge">"shared"</span> })}
                {move || job.with(|j| j.external).then(|| view! { <span class="badge">"external"</span> })}
            </div>
            <ProgressBar job/>
            <Show when=move || job.with(|j| j.result.is_some() || j.error.is_some())>
                <p class="job-outcome">{move || job.with(|j| j.result.clone().or_else(|| j.error.clone()).unwrap_or_default())}</p>
            </Show>
            <div class="actions">
                <Show when=move || !state().is_terminal() && mine()>
                    <ActionForm action=cancel>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" aria-label=move || format!("Cancel {}", job.with(|j| j.label.clone()))>"Cancel"</button>
                    </ActionForm>
                </Show>
                <Show when=move || state().can_retry() && !job.with(|j| j.external) && mine()>
                    <ActionForm action=retry>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" aria-label=move || format!("Retry {}", job.with(|j| j.label.clone()))>"Retry"</button>
                    </ActionForm>
                </Show>
            </div>
        </li>
    }
}

/// A progress bar screen readers understand, with the figures beside it.
#[component]
fn ProgressBar(job: RwSignal<JobView>) -> impl IntoView {
    let percent = move || job.with(|j| j.progress.percent());
    let label = move || format!("{} progress", job.with(|j| j.label.clone()));
    let figures = move || {
        job.with(|j| {
            let p = &j.progress;
            let mut parts = Vec::new();
            match p.total {
                Some(total) => parts.push(format!(
                    "{} of {}",
                    human_amount(p.done as f64, &p.unit),
                    human_amount(total as f64, &p.unit)
                )),
                None if p.done > 0 => parts.push(human_amount(p.done as f64, &p.unit)),
                None => {}
            }
            if let (Some(rate), false) = (p.per_second, j.state.is_terminal()) {
                parts.push(format!("{}/s", human_amount(rate, &p.unit)));
            }
            if let (Some(eta), JobState::Running) = (p.eta_secs, j.state) {
                parts.push(format!("ETA {}", human_duration(eta)));
            }
            if let (Some(stage), false) = (&j.stage, j.state.is_terminal()) {
                parts.push(format!("stage: {stage}"));
            }
            parts.join(" · ")
        })
    };
    view! {
        <div class="progress-row">
            <div
                class="progress"
                role="progressbar"
                aria-label=label
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || percent().map(|p| format!("{:.0}", p.floor()))
            >
                <div class="bar" style=move || format!("width: {:.1}%", percent().unwrap_or(0.0))></div>
            </div>
            <span class="percent">{move || percent().map(|p| format!("{:.0} %", p.floor())).unwrap_or_else(|| "…".into())}</span>
        </div>
        <p class="job-figures">{figures}</p>
    }
}

/// `/jobs/:id`: one job with its live log tail.
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
        <Title text="Job"/>
        <section class="page job-detail">
            <p><a href="/">"← All jobs"</a></p>
            <Suspense fallback=|| view! { <p>"Loading job…"</p> }>
                {move || detail.get().map(|result| match result {
                    Ok(current) => view! { <JobDetailLive detail=current on_reset=Callback::new(move |_| detail.refetch())/> }.into_any(),
                    Err(err) if err.kind == ErrorKind::NotFound => view! { <NotFoundJob/> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Rendered on the server, the page answers 404: the error it shows set the status.
#[component]
fn NotFoundJob() -> impl IntoView {
    view! {
        <h1>"Job not found"</h1>
        <p>"There is no such job, or it belongs to another browser session."</p>
    }
}

#[component]
fn JobDetailLive(detail: JobWithLog, on_reset: Callback<()>) -> impl IntoView {
    let id = detail.job.id;
    let job = RwSignal::new(detail.job);
    let logs = RwSignal::new(detail.logs);
    let viewer = StoredValue::new(detail.viewer);
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    use_event_stream(JobEvents {}, Some(detail.as_of), move |event: StreamEvent<Json<JobEvent>>| match event {
        StreamEvent::Item { item: Json(JobEvent::Job { job: update }), .. } if update.id == id => job.set(update),
        StreamEvent::Item { item: Json(JobEvent::Log { id: job_id, lines }), .. } if job_id == id => {
            logs.update(|all| {
                all.extend(lines);
                let excess = all.len().saturating_sub(super::model::LOG_TAIL);
                all.drain(..excess);
            })
        }
        StreamEvent::Reset { .. } => on_reset.run(()),
        _ => {}
    });
    view! {
        <h1>{move || job.with(|j| j.label.clone())}</h1>
        <ul class="job-list"><JobRow job cancel retry viewer/></ul>
        <h2>"Log"</h2>
        <Show when=move || logs.with(|l| !l.is_empty()) fallback=|| view! { <p class="empty">"No log lines yet."</p> }>
            <pre class="log" aria-label="Log" tabindex="0">{move || logs.with(|l| l.join("\n"))}</pre>
        </Show>
    }
}
