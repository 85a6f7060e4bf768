//! Components shared by pages.

mod chart;
mod gauge;
mod level;
mod theme;
pub mod units;

pub use chart::{ago_label, x_ticks, LineChart, Series};
pub use gauge::{arc_path, Gauge};
pub use level::{Level, Thresholds};
pub use theme::ThemeToggle;
pub use units::Unit;
