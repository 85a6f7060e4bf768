//! Components and helpers shared by pages: charts, gauges, levels, number formats, the theme,
//! the no-JavaScript state label and the focus keeper.

mod chart;
mod focus;
mod gauge;
mod level;
mod live;
mod readout;
mod series;
mod theme;
pub mod units;

pub use chart::{ago_label, x_ticks, LineChart};
pub use focus::keep_focus;
pub use gauge::{arc_path, Gauge};
pub use level::{Level, Thresholds};
pub use live::{live_label, Hydrated, NEEDS_JAVASCRIPT};
pub use series::Series;
pub use theme::{Theme, ThemeState, ThemeToggle};
pub use units::Unit;
