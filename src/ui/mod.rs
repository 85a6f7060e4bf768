//! Components and helpers shared by pages: charts, gauges, levels, number formats, the theme,
//! the no-JavaScript state label, the focus keeper and the box that follows its tail.

mod chart;
mod focus;
mod gauge;
mod level;
mod live;
mod readout;
mod series;
mod tail;
mod theme;
pub mod units;

pub use chart::{ago_label, x_ticks, LineChart};
pub use focus::keep_focus;
pub use gauge::{arc_path, Gauge};
pub use level::{Level, Thresholds};
pub use live::{live_label, Hydrated, NEEDS_JAVASCRIPT};
pub use series::Series;
pub use tail::{Tail, TailState};
pub use theme::{Theme, ThemeState, ThemeToggle};
pub use units::Unit;
