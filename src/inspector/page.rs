//! The inspector page: pick a topic (from the list the server knows, or by typing its name), see
//! how to publish to it, then its recent events and new ones as they arrive.
//!
//! The address says which topic (`/inspect?topic=NAME`). Without one the page asks for a pick;
//! a name that breaks the topic grammar is refused here, in the browser and on the server alike
//! (the same [`TopicName`] check), with the reason shown, and nothing is subscribed: there is no
//! fallback to some other topic.

use super::{
    api::{inspector_setup, topic_snapshot, SiteAndTopics},
    live::LiveTopic,
};
use crate::streams::{TopicName, PUBLISH_PATH};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};

#[component]
pub fn InspectorPage() -> impl IntoView {
    let query = use_query_map();
    // The name as the address gives it, valid or not; none when no topic was asked for.
    let asked = Memo::new(move |_| query.with(|q| q.get("topic")));
    let checked =
        Memo::new(move |_| asked.get().map(|name| TopicName::new(&name).map(|_| name).map_err(|err| err.to_string())));
    let topic = Memo::new(move |_| checked.get().and_then(Result::ok));
    // Refetched on every pick, so the list includes topics that appeared since.
    let setup = Resource::new(move || topic.get(), |_| inspector_setup());
    let snapshot = Resource::new(
        move || topic.get(),
        |topic| async move {
            match topic {
                Some(topic) => Some(topic_snapshot(topic).await),
                None => None,
            }
        },
    );
    let refused = move || matches!(checked.get(), Some(Err(_)));

    view! {
        <Title text="Inspector"/>
        <section class="page inspector">
            <h1>"Topic inspector"</h1>
            <Form method="GET" action="/inspect">
                <label for="topic">"Topic"</label>
                <input
                    id="topic"
                    name="topic"
                    prop:value=move || asked.get().unwrap_or_default()
                    autocomplete="off"
                    spellcheck="false"
                    list="known-topics"
                    aria-invalid=move || refused().then_some("true")
                    aria-describedby=move || refused().then_some("topic-problem")
                />
                <button type="submit">"Inspect"</button>
            </Form>
            {move || match checked.get() {
                None => Some(view! {
                    <p class="prompt">
                        "Pick a topic or type its name: its recent events show here, then new ones as they arrive."
                    </p>
                }.into_any()),
                Some(Err(why)) => Some(view! {
                    <p class="error" id="topic-problem" role="alert">"Not inspecting this name: "{why}</p>
                }.into_any()),
                Some(Ok(_)) => None,
            }}
            <Suspense fallback=|| ()>
                {move || setup.get().map(|result| match result {
                    Ok(setup) => view! { <TopicChoice setup=setup current=topic.get()/> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || snapshot.get().flatten().map(|result| match result {
                    Ok(current) => view! { <LiveTopic snapshot=current on_reset=Callback::new(move |_| snapshot.refetch())/> }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The known topics to pick from (also offered while typing), and how to publish to the current one.
#[component]
fn TopicChoice(setup: SiteAndTopics, current: Option<String>) -> impl IntoView {
    let SiteAndTopics { site, topics, own } = setup;
    let known = topics.len() + own.len();
    let listed = current.as_ref().is_some_and(|name| topics.contains(name) || own.contains(name));
    let suggestions: Vec<_> =
        own.iter().chain(&topics).map(|name| view! { <option value=name.clone()></option> }).collect();
    let options = |names: Vec<String>| {
        names
            .into_iter()
            .map(|name| {
                let selected = current.as_deref() == Some(name.as_str());
                let label = name.clone();
                view! { <option value=name selected=selected>{label}</option> }
            })
            .collect::<Vec<_>>()
    };
    let (own_options, public_options) = (options(own), options(topics));
    let picker = if known == 0 {
        view! { <p class="hint">"No topic holds events yet: publish to one, or type a name to wait for its first event."</p> }
            .into_any()
    } else {
        let own_group = (!own_options.is_empty())
            .then(move || view! { <optgroup label="Yours (private)">{own_options}</optgroup> });
        view! {
            <Form method="GET" action="/inspect">
                <label for="pick">"Known topics"</label>
                <select id="pick" name="topic">
                    <option value="" disabled=true selected=!listed>{format!("Pick one of {known}…")}</option>
                    {own_group}
                    <optgroup label="Public">{public_options}</optgroup>
                </select>
                <button type="submit">"Open"</button>
            </Form>
        }
        .into_any()
    };
    let publish = current.map(|topic| {
        view! {
            <p class="hint publish">
                "Publish to it (with a token that may publish here; README, \"Tokens\"): "
                <code class="curl">{curl_command(&site, &topic)}</code>
            </p>
        }
    });
    view! {
        {picker}
        <datalist id="known-topics">{suggestions}</datalist>
        {publish}
    }
}

/// A `curl` command that publishes `hello` to `topic` on the site at `site` (`scheme://host`).
fn curl_command(site: &str, topic: &str) -> String {
    format!("curl -X POST -H 'authorization: Bearer TOKEN' --data-binary 'hello' '{site}{PUBLISH_PATH}?topic={topic}'")
}

#[cfg(test)]
mod tests {
    use super::curl_command;

    #[test]
    fn the_curl_command_names_the_site_and_the_topic() {
        assert_eq!(
            curl_command("https://pulse.example:8443", "jobs.shared"),
            "curl -X POST -H 'authorization: Bearer TOKEN' --data-binary 'hello' \
             'https://pulse.example:8443/api/publish?topic=jobs.shared'"
        );
    }
}
