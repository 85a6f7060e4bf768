//! Stock-style tickers: a simulated (or outside) market feed, per-symbol state with
//! sparklines, latest-wins delivery and the Markets board.
//!
//! Shared: `model` (quotes, changes and their merge), `api` (server functions), `page` and `row`
//! (the board). Server only: `topics` (quote and tick topic names), `sim` (seeded GBM), `board`
//! (per-symbol state, tick checks), `feed` (the market handle: publishing, simulator task, `ticks`
//! hook), `tasks` (starting the market and its tasks), and for several instances over Redis:
//! `lease` (a leader lease in Redis), `membership` (an instance's lease and shown board),
//! `cluster` (the feed on the lease holder, continued from the last published quotes) and
//! `mirror` (the board every instance shows, fed from the hub).

pub mod api;
pub mod model;
mod page;
mod row;

#[cfg(feature = "ssr")]
pub mod board;
#[cfg(feature = "ssr")]
pub mod cluster;
#[cfg(feature = "ssr")]
pub mod feed;
#[cfg(feature = "ssr")]
pub mod lease;
#[cfg(feature = "ssr")]
pub mod membership;
#[cfg(feature = "ssr")]
pub mod mirror;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod sim;
#[cfg(feature = "ssr")]
pub mod tasks;
#[cfg(feature = "ssr")]
pub mod topics;

pub use page::MarketsPage;
