//! Components shared by pages.

mod theme;

pub use theme::ThemeToggle;
