//! Wall-clock time as the app records it: milliseconds since the Unix epoch (server only;
//! `SystemTime::now` is not available in the browser build).

/// Now, in milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}
