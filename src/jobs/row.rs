//! One job as the Jobs page and the detail page show it: label, state, progress, when it
//! started, how long it ran or has been running (ticking, see `times`), its parameters, its
//! outcome, and Cancel and Retry for the viewer's own jobs.

use super::{
    api::{CancelJob, RetryJob},
    model::{human_amount, human_duration, human_progress, JobState, JobView},
    times::{ago, iso, params_text, timing, wall, Clock},
};
use leptos::{form::ActionForm, prelude::*};

#[component]
pub fn JobRow(
    job: RwSignal<JobView>,
    cancel: ServerAction<CancelJob>,
    retry: ServerAction<RetryJob>,
    viewer: StoredValue<String>,
    /// The label as a link to the job's page; off on that page, whose heading is the label.
    #[prop(default = true)]
    show_label: bool,
) -> impl IntoView {
    let id = job.with_untracked(|j| j.id);
    let state = move || job.with(|j| j.state);
    // Cancel and Retry only on the viewer's own jobs: the server refuses them on others' (403).
    let mine = move || job.with(|j| viewer.with_value(|tag| j.owned_by(tag)));
    view! {
        <li class="job" data-id=id data-state=move || state().as_str()>
            <div class="job-head">
                {show_label.then(|| view! {
                    <a class="job-label" href=format!("/jobs/{id}")>{move || job.with(|j| j.label.clone())}</a>
                })}
                <span class="badge" data-state=move || state().as_str()>{move || state().as_str()}</span>
                {move || job.with(|j| j.shared).then(|| view! { <span class="badge shared-badge">"shared"</span> })}
                {move || job.with(|j| j.external).then(|| view! { <span class="badge">"external"</span> })}
            </div>
            <JobMeta job/>
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

/// When the job started (relative, the exact UTC time in the tooltip), how long it ran or has
/// been running, and the parameters it was started with.
#[component]
fn JobMeta(job: RwSignal<JobView>) -> impl IntoView {
    let clock = expect_context::<Clock>();
    let times = Memo::new(move |_| job.with(|j| timing(j, clock.get())));
    let params = job.with_untracked(|j| params_text(&j.params));
    view! {
        <p class="job-meta">
            <time class="job-started" datetime=move || iso(times.get().at_ms) title=move || wall(times.get().at_ms)>
                {move || times.with(|t| format!("{} {}", t.since, ago(clock.get() - t.at_ms)))}
            </time>
            <span class="job-duration">{move || times.with(|t| t.duration.clone())}</span>
            {params.map(|params| view! { <span class="job-params" title="Parameters"><code>{params}</code></span> })}
        </p>
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
                Some(total) => parts.push(human_progress(p.done as f64, total as f64, &p.unit)),
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
