//! The page's watch on the server's readiness: while the tab is visible it asks `/readyz` every
//! [`EVERY_MS`] (every [`DEGRADED_EVERY_MS`] while degraded, so recovery shows soon) and tells the
//! header's indicator (and the Monitor page, which reads the same registry) whether the server is
//! degraded and why. A 503 names the failing check (the hub's backend down, the job database
//! gone); a 200 clears it. When the server cannot be reached at all the page's streams say so
//! (reconnecting, offline), so a failed request changes nothing here.
//!
//! The streams layer only shows what this sets: it knows nothing of `/readyz`.

use crate::streams::status::ConnectionRegistry;

pub const EVERY_MS: i32 = 5_000;
pub const DEGRADED_EVERY_MS: i32 = 1_000;

/// The reason a `/readyz` answer gives for not being ready: each failing check, by name.
pub fn reason(ready: bool, body: &serde_json::Value) -> Option<String> {
    if ready {
        return None;
    }
    let failing: Vec<String> = body
        .get("checks")
        .and_then(|checks| checks.as_object())
        .map(|checks| {
            checks
                .iter()
                .filter_map(|(name, state)| state.as_str().filter(|s| *s != "ok").map(|why| format!("{name}: {why}")))
                .collect()
        })
        .unwrap_or_default();
    Some(if failing.is_empty() { "the server is not ready".to_string() } else { failing.join("; ") })
}

/// Starts the watch (in the browser; on the server it does nothing).
pub fn watch(registry: ConnectionRegistry) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(browser::run(registry));
    #[cfg(not(feature = "hydrate"))]
    let _ = registry;
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    pub(super) async fn run(registry: ConnectionRegistry) {
        loop {
            let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
            if !hidden {
                if let Some(answer) = ask().await {
                    registry.set_degraded(answer);
                }
            }
            let degraded = registry.is_degraded_untracked();
            sleep(if degraded { DEGRADED_EVERY_MS } else { EVERY_MS }).await;
        }
    }

    /// `Some(reason or None)` from `/readyz`, or `None` when it did not answer.
    async fn ask() -> Option<Option<String>> {
        let window = web_sys::window()?;
        let response: web_sys::Response =
            JsFuture::from(window.fetch_with_str("/readyz")).await.ok()?.dyn_into().ok()?;
        let status = response.status();
        if status != 200 && status != 503 {
            return None;
        }
        let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Some(reason(status == 200, &body))
    }

    async fn sleep(ms: i32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(window) = web_sys::window() {
                let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
            }
        });
        let _ = JsFuture::from(promise).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_names_each_failing_check() {
        let ok = serde_json::json!({"ready": true, "checks": {"hub": "ok", "database": "ok"}});
        assert_eq!(reason(true, &ok), None);
        let down = serde_json::json!({"ready": false, "checks": {"hub": "the event hub is unavailable: Redis at 127.0.0.1:6379 did not answer", "database": "ok"}});
        assert_eq!(
            reason(false, &down).as_deref(),
            Some("hub: the event hub is unavailable: Redis at 127.0.0.1:6379 did not answer")
        );
        assert_eq!(reason(false, &serde_json::Value::Null).as_deref(), Some("the server is not ready"));
    }
}
