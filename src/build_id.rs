//! The build id: one value for the browser build and the server build of the same sources.
//!
//! `build.rs` computes it (a digest of `src/`, `Cargo.toml` and `Cargo.lock`) for each of the two
//! compiles cargo-leptos makes. The wasm keeps [`MARKER`] in its data (the hydrate entry point
//! logs it, so it cannot be optimised away); the server finds it in the site's wasm at start and
//! refuses a site from another build (`server::assets`). Runs everywhere; no I/O here.

/// This build's id: 32 lowercase hex digits.
pub const BUILD_ID: &str = env!("BUILD_ID_OF_THIS_SOURCE");

/// What precedes the id in the wasm's data.
pub const MARKER_PREFIX: &str = "pulseboard-build-id:";

/// The marker as it appears, byte for byte, in the wasm of this build.
pub const MARKER: &str = concat!("pulseboard-build-id:", env!("BUILD_ID_OF_THIS_SOURCE"));

/// Length of an id in characters.
pub const ID_LEN: usize = 32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_the_prefix_and_the_id() {
        assert_eq!(MARKER, format!("{MARKER_PREFIX}{BUILD_ID}"));
        assert_eq!(BUILD_ID.len(), ID_LEN);
        assert!(BUILD_ID.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{BUILD_ID}");
    }
}
