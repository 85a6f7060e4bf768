//! Stock-style tickers: a simulated (or outside) market feed, per-symbol state with
//! sparklines, latest-wins delivery and the Markets board.
//!
//! Shared: `model` (quotes, changes and their merge), `api` (server functions), `page` and `row`
//! (the board). Server only: `sim` (seeded GBM),
//! `board` (per-symbol state, tick checks), `feed` (publishing, simulator task, `ticks` hook).

pub mod api;
pub mod model;
mod page;
mod row;

#[cfg(feature = "ssr")]
pub mod board;
#[cfg(feature = "ssr")]
pub mod feed;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod sim;

pub use page::MarketsPage;
