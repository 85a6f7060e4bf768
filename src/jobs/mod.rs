//! Task progress: jobs users start, watch and cancel.
//!
//! Shared: `model` (what a job looks like on the wire), `api` (server functions), `page` (the
//! Jobs page), `detail` (the job detail page and its log), `row` (one job as both show it),
//! `times` (started, running for, log times; the ticking clock). Server only: `job` (the trait
//! applications implement), `builtin` (kinds of job), `runner` (the one handle: built-in jobs on the server's workers,
//! external producers with a token, the live table and the ordered outbox that saves and
//! publishes every change; with a shared store, the cluster's queue), `store` (the backend seam:
//! SQLite on the blocking pool, or Redis shared by every instance), `progress` (throughput and
//! ETA), `confine` (file jobs stay under their root), `http_api` (external producers' routes),
//! `json_body` (how those routes read a body).

pub mod api;
mod detail;
pub mod model;
mod page;
mod row;
mod times;

#[cfg(feature = "ssr")]
pub mod builtin;
#[cfg(feature = "ssr")]
pub mod confine;
#[cfg(feature = "ssr")]
pub mod http_api;
#[cfg(feature = "ssr")]
pub mod job;
#[cfg(feature = "ssr")]
mod json_body;
#[cfg(feature = "ssr")]
pub mod progress;
#[cfg(feature = "ssr")]
pub mod runner;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod store;

pub use detail::JobDetailPage;
pub use page::JobsPage;
