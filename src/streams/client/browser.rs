//! The browser primitives the stream loop is made of (browser only): one `fetch` of a stream
//! with `Last-Event-ID` and an abort signal, a timer, the silence watchdog, and the tab's
//! visibility and online state.

use std::{cell::Cell, rc::Rc, time::Duration};
use wasm_bindgen::{JsCast, JsValue};

pub(super) fn hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
}

pub(super) fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

pub(super) async fn sleep(duration: Duration) {
    let (done, wait) = futures::channel::oneshot::channel::<()>();
    leptos::prelude::set_timeout(
        move || {
            let _ = done.send(());
        },
        duration,
    );
    let _ = wait.await;
}

/// Resolves once nothing has arrived for `limit_ms` (never without a limit).
pub(super) async fn watchdog(last_bytes: Rc<Cell<f64>>, limit_ms: Option<u64>) {
    let Some(limit) = limit_ms.map(|ms| ms as f64) else { return futures::future::pending().await };
    loop {
        let idle = js_sys::Date::now() - last_bytes.get();
        if idle >= limit {
            return;
        }
        sleep(Duration::from_millis((limit - idle).ceil() as u64)).await;
    }
}

pub(super) async fn fetch(
    url: &str,
    last_id: Option<&str>,
    authorization: Option<&str>,
    controller: Option<&web_sys::AbortController>,
) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("accept", crate::streams::CONTENT_TYPE)?;
    if let Some(authorization) = authorization {
        headers.set("authorization", authorization)?;
    }
    if let Some(id) = last_id {
        headers.set("last-event-id", id)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method("GET");
    init.set_headers(&headers);
    init.set_cache(web_sys::RequestCache::NoStore);
    if let Some(controller) = controller {
        init.set_signal(Some(&controller.signal()));
    }
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await?;
    response.dyn_into()
}
