//! One topic's events: the snapshot, then live events at the end, like a log.
//!
//! The list sits in a box of its own that follows its tail like the Jobs log ([`Tail`]): it opens
//! at the newest event and keeps it in view as events arrive, unless the reader scrolled up (then
//! it stays where they are, with "Jump to the latest"). Pause keeps the stream open and holds
//! what arrives ([`EventLog`]): the count shows on the button's line, and Resume puts the held
//! events where they belong.

use super::{
    api::{InspectedEvent, TopicEvents, TopicHistory},
    log::EventLog,
};
use crate::{
    streams::{use_event_stream, RawEvent, StreamEvent},
    ui::{Tail, TailState},
};
use leptos::{html, prelude::*};

#[component]
pub fn LiveTopic(snapshot: TopicHistory, on_reset: Callback<()>) -> impl IntoView {
    let log = RwSignal::new(EventLog::new(snapshot.events));
    let topic = snapshot.topic.clone();
    let state = use_event_stream(
        TopicEvents { topic: snapshot.topic },
        Some(snapshot.last_id),
        move |event: StreamEvent<RawEvent>| match event {
            StreamEvent::Item { id, item, .. } => {
                log.update(|log| log.push(InspectedEvent { id, event_type: item.event_type, data: item.data }))
            }
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { .. } => {}
        },
    );
    let paused = Memo::new(move |_| log.with(EventLog::paused));
    let held = Memo::new(move |_| log.with(EventLog::held_count));
    let toggle = move |_| log.update(|log| if log.paused() { log.resume() } else { log.pause() });

    // The box follows its tail as the Jobs log does.
    let scroller = NodeRef::<html::Div>::new();
    let tail = Tail::follow(scroller, move || log.track());

    view! {
        <div class="stream-bar">
            <p class="stream-state">
                "Stream of "<code>{topic}</code>": "
                <span class="state" data-state=move || state.get().label()>{crate::ui::live_label(move || state.get().label())}</span>
            </p>
            <button type="button" class="pause" on:click=toggle>
                {move || if paused.get() { "Resume" } else { "Pause" }}
            </button>
            <p class="held" role="status" aria-live="polite">
                {move || paused.get().then(|| match held.get() {
                    0 => "Paused: new events are held until you resume.".to_string(),
                    1 => "Paused: 1 new event held.".to_string(),
                    n => format!("Paused: {n} new events held."),
                })}
            </p>
        </div>
        <Show
            when=move || log.with(|log| !log.shown().is_empty())
            fallback=|| view! { <p class="empty">"No events on this topic yet."</p> }
        >
            <TailState tail what="events"/>
            <div class="events-box" node_ref=scroller on:scroll=move |_| tail.scrolled() tabindex="0" role="region" aria-label="Events, newest at the bottom">
                <ol class="events" aria-label="Events">
                    <For each=move || log.with(|log| log.shown().to_vec()) key=|event| event.id.clone() let:event>
                        <li data-id=event.id.clone()>
                            <span class="event-type">{event.event_type}</span>
                            <code class="event-data">{event.data}</code>
                            <span class="event-id">{event.id.clone()}</span>
                        </li>
                    </For>
                </ol>
            </div>
        </Show>
    }
}
