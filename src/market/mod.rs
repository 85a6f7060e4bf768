//! Stock-style tickers: a simulated (or outside) market feed, per-symbol state with
//! sparklines, latest-wins delivery and the Markets board.
//!
//! Shared: `model` (quotes, changes and their merge), `api` (server functions), `page` and `row`
//! (the board). Server only: `sim` (seeded GBM),
//! `board` (per-symbol state, tick checks), `feed` (publishing, simulator task, `ticks` hook),
//! and for several instances over Redis: `lease` (a leader lease in Redis), `cluster` (the feed
//! on the lease holder, continued from the last published quotes) and `mirror` (the board every
//! instance shows, fed from the hub).

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
pub mod mirror;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod sim;

pub use page::MarketsPage;
