//! pulseboard: live dashboards over server-sent events, in one Leptos crate.
//!
//! Runs everywhere: `app` (with `front_end`, the files its shell links), the pages, the typed stream layer, `request_error` (the one error
//! server functions answer with), `json_text` (their JSON codec) and `stream_token` (the session's subscribe token). Server only (`ssr`): `config`, `server`, `state`, `session`,
//! `time`, `private_file` and the hub and HTTP side of `streams`. Browser only (`hydrate`): the
//! `hydrate` entry point and the fetch side of `streams::client`.

// Leptos view types nest deeply; the release (wasm-release) build needs more than the default.
#![recursion_limit = "256"]

pub mod app;
pub mod build_id;
pub mod front_end;
pub mod inspector;
pub mod jobs;
pub mod json_text;
pub mod market;
pub mod monitor;
pub mod request_error;
pub mod stream_token;
pub mod streams;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod private_file;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod session;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod time;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Keeps the build id in the wasm, where the server looks for it (build_id), and shows it to
    // whoever opens the console.
    web_sys::console::debug_1(&build_id::MARKER.into());
    leptos::mount::hydrate_body(app::App);
}
