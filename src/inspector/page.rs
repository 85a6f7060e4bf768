//! The inspector page: pick a topic, see its recent events, then new ones as they arrive.

use super::api::{topic_snapshot, InspectedEvent, TopicEvents, TopicHistory, SHOWN_EVENTS};
use crate::streams::{use_event_stream, RawEvent, StreamEvent};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

pub const DEFAULT_TOPIC: &str = "demo";

#[component]
pub fn InspectorPage() -> impl IntoView {
    let query = use_query_map();
    let topic = Memo::new(move |_| {
        query.with(|q| q.get("topic")).filter(|t| !t.is_empty()).unwrap_or_else(|| DEFAULT_TOPIC.to_string())
    });
    let snapshot = Resource::new(move || topic.get(), topic_snapshot);

    view! {
        <Title text="Inspector"/>
        <section class="page inspector">
            <h1>"Topic inspector"</h1>
            <Form method="GET" action="/inspect">
                <label for="topic">"Topic"</label>
                <input id="topic" name="topic" prop:value=move || topic.get() autocomplete="off"/>
                <button type="submit">"Inspect"</button>
            </Form>
            <p class="hint">
                "Publish to it: "
                <code>{move || format!(
                    "curl -X POST -H 'authorization: Bearer TOKEN' --data-binary 'hello' 'http://HOST/api/publish?topic={}'",
                    topic.get(),
                )}</code>
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || snapshot.get().map(|result| match result {
                    Ok(current) => view! { <LiveTopic snapshot=current on_reset=Callback::new(move |_| snapshot.refetch())/> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The events of one topic: the snapshot, then live events appended as they arrive.
#[component]
fn LiveTopic(snapshot: TopicHistory, on_reset: Callback<()>) -> impl IntoView {
    let events = RwSignal::new(snapshot.events);
    let topic = snapshot.topic.clone();
    let state = use_event_stream(
        TopicEvents { topic: snapshot.topic },
        Some(snapshot.last_id),
        move |event: StreamEvent<RawEvent>| match event {
            StreamEvent::Item { id, item, .. } => events.update(|list| {
                list.push(InspectedEvent { id, event_type: item.event_type, data: item.data });
                let excess = list.len().saturating_sub(SHOWN_EVENTS);
                list.drain(..excess);
            }),
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { .. } => {}
        },
    );
    view! {
        <p class="stream-state">
            "Stream of "<code>{topic}</code>": "
            <span class="state" data-state=move || state.get().label()>{crate::ui::live_label(move || state.get().label())}</span>
        </p>
        <Show
            when=move || events.with(|list| !list.is_empty())
            fallback=|| view! { <p class="empty">"No events on this topic yet."</p> }
        >
            <ol class="events" aria-label="Events">
                <For each=move || events.get() key=|event| event.id.clone() let:event>
                    <li data-id=event.id.clone()>
                        <span class="event-type">{event.event_type}</span>
                        <code class="event-data">{event.data}</code>
                        <span class="event-id">{event.id.clone()}</span>
                    </li>
                </For>
            </ol>
        </Show>
    }
}
