//! Numbers as a person reads them: binary byte sizes, rates, percentages, durations, and the
//! round values chart axes are drawn at.

/// What a number measures, and so how it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSec,
    PerSec,
    Count,
}

impl Unit {
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Percent => format!("{} %", short(value)),
            Self::Bytes => bytes(value),
            Self::BytesPerSec => format!("{}/s", bytes(value)),
            Self::PerSec => format!("{}/s", count(value)),
            Self::Count => count(value),
        }
    }

    /// A round top for an axis showing values up to `max`.
    pub fn axis_max(self, max: f64) -> f64 {
        match self {
            Self::Bytes | Self::BytesPerSec => nice_ceiling_binary(max),
            _ => nice_ceiling(max),
        }
    }

    /// An axis from zero covering `max`, in at most `max_steps` steps of 1, 2 or 5 times a power
    /// of ten *in the unit its labels are written in*: bytes in the one binary prefix that suits
    /// `max` (`0.5 KiB/s` steps, never `640 B/s`), counts in one decimal prefix (`50/s`, not
    /// `62.5/s`). Every label of the axis uses that one prefix.
    pub fn axis(self, max: f64, max_steps: usize) -> Axis {
        let max = if max.is_finite() { max.max(0.0) } else { 0.0 };
        let (scale, prefix) = match self {
            Self::Bytes | Self::BytesPerSec => binary_prefix(max),
            Self::PerSec | Self::Count => decimal_prefix(max),
            Self::Percent => (1.0, ""),
        };
        let step = round_step(max / scale, max_steps.max(1));
        let steps = ((max / scale / step) * (1.0 - 1e-9)).ceil().max(1.0) as usize;
        Axis { unit: self, scale, prefix, step: step * scale, steps }
    }
}

/// A y axis: `steps` equal steps of `step` from zero, labelled in one prefix of the unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    unit: Unit,
    /// What one label unit is worth (1024 for KiB, 1000 for k, 1 otherwise).
    scale: f64,
    prefix: &'static str,
    pub step: f64,
    pub steps: usize,
}

impl Axis {
    pub fn top(&self) -> f64 {
        self.step * self.steps as f64
    }

    /// The values the axis is labelled at, zero first.
    pub fn ticks(&self) -> Vec<f64> {
        (0..=self.steps).map(|k| self.step * k as f64).collect()
    }

    /// A tick's label, in the axis's prefix (`0.5 KiB/s`, `1.5k/s`, `40 %`).
    pub fn label(&self, value: f64) -> String {
        let number = short(value / self.scale);
        match self.unit {
            Unit::Percent => format!("{number} %"),
            Unit::Bytes => format!("{number} {}", self.prefix),
            Unit::BytesPerSec => format!("{number} {}/s", self.prefix),
            Unit::PerSec => format!("{number}{}/s", self.prefix),
            Unit::Count => format!("{number}{}", self.prefix),
        }
    }
}

/// The smallest of 1, 2 and 5 times a power of ten that covers `max` in at most `max_steps`
/// steps (1 for nothing to show).
pub fn round_step(max: f64, max_steps: usize) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let rough = max / max_steps.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| (max / step) * (1.0 - 1e-9) <= max_steps as f64)
        .unwrap_or(10.0 * power)
}

/// The binary prefix `bytes` writes `max` in (B below 1 KiB).
fn binary_prefix(max: f64) -> (f64, &'static str) {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut scale = 1.0;
    let mut unit = 0;
    while max >= scale * 1024.0 && unit < UNITS.len() - 1 {
        scale *= 1024.0;
        unit += 1;
    }
    (scale, UNITS[unit])
}

/// The decimal prefix `count` writes `max` in (none below 1000).
fn decimal_prefix(max: f64) -> (f64, &'static str) {
    match max {
        v if v >= 1e9 => (1e9, "G"),
        v if v >= 1e6 => (1e6, "M"),
        v if v >= 1e3 => (1e3, "k"),
        _ => (1.0, ""),
    }
}

/// Up to three significant digits, no trailing zeros.
fn short(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let text = if value.abs() >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `1536` -> `1.5 KiB`.
pub fn bytes(value: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = if value.is_finite() { value.max(0.0) } else { 0.0 };
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{} {}", short(value), UNITS[unit])
}

/// `12500` -> `12.5k`.
pub fn count(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    match value.abs() {
        v if v >= 1e9 => format!("{}G", short(value / 1e9)),
        v if v >= 1e6 => format!("{}M", short(value / 1e6)),
        v if v >= 1e3 => format!("{}k", short(value / 1e3)),
        _ => short(value),
    }
}

/// Traded volume as a trading board writes it: `950`, `12.5 k`, `28.3 M`, `1.2 B`.
pub fn volume(shares: u64) -> String {
    const UNITS: [(f64, &str); 3] = [(1e3, " k"), (1e6, " M"), (1e9, " B")];
    let value = shares as f64;
    let Some(mut at) = UNITS.iter().rposition(|(size, _)| value >= *size) else { return shares.to_string() };
    // 999 999 rounds to `1000 k`: that is `1 M`.
    if short(value / UNITS[at].0) == "1000" && at + 1 < UNITS.len() {
        at += 1;
    }
    format!("{}{}", short(value / UNITS[at].0), UNITS[at].1)
}

/// `93784` -> `1 d 2 h`: the two largest units.
pub fn duration(secs: u64) -> String {
    let parts = [(secs / 86_400, "d"), (secs / 3600 % 24, "h"), (secs / 60 % 60, "min"), (secs % 60, "s")];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0 || first == 3)
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `1000` -> `1 s`, `250` -> `250 ms`.
pub fn duration_ms(ms: u64) -> String {
    if ms >= 1000 && ms.is_multiple_of(1000) {
        duration(ms / 1000)
    } else if ms >= 1000 {
        format!("{} s", short(ms as f64 / 1000.0))
    } else {
        format!("{ms} ms")
    }
}

/// Smallest of 1, 2, 2.5, 5 times a power of ten that is at least `max` (1 for nothing).
pub fn nice_ceiling(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * power).find(|v| *v >= max * (1.0 - 1e-9)).unwrap_or(10.0 * power)
}

/// Like [`nice_ceiling`] in units of 1024^k, so byte axes read `512 KiB`, `1 MiB`.
pub fn nice_ceiling_binary(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1024.0;
    }
    let scale = 1024f64.powf((max.log(1024.0)).floor().max(0.0));
    nice_ceiling(max / scale) * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_at_a_glance() {
        assert_eq!(Unit::Percent.format(42.0), "42 %");
        assert_eq!(Unit::Percent.format(7.256), "7.26 %");
        assert_eq!(Unit::Bytes.format(1536.0), "1.5 KiB");
        assert_eq!(Unit::Bytes.format(3.0 * 1024.0 * 1024.0 * 1024.0), "3 GiB");
        assert_eq!(Unit::BytesPerSec.format(0.0), "0 B/s");
        assert_eq!(Unit::PerSec.format(12_500.0), "12.5k/s");
        assert_eq!(Unit::Count.format(f64::NAN), "0");
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(3600), "1 h");
        assert_eq!(duration(3725), "1 h 2 min");
        assert_eq!(duration(93_784), "1 d 2 h");
        assert_eq!(duration_ms(1000), "1 s");
        assert_eq!(duration_ms(1500), "1.5 s");
        assert_eq!(duration_ms(250), "250 ms");
    }

    #[test]
    fn volumes_read_like_a_trading_board() {
        assert_eq!(volume(0), "0");
        assert_eq!(volume(950), "950");
        assert_eq!(volume(12_500), "12.5 k");
        assert_eq!(volume(28_312_400), "28.3 M");
        assert_eq!(volume(1_234_000_000), "1.23 B");
        assert_eq!(volume(999_999), "1 M");
        assert_eq!(volume(999), "999");
    }

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(11.0), 20.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
        assert_eq!(nice_ceiling_binary(1500.0), 2048.0);
        assert_eq!(nice_ceiling_binary(600.0), 1000.0);
        assert_eq!(Unit::BytesPerSec.axis_max(3.0 * 1024.0 * 1024.0), 5.0 * 1024.0 * 1024.0);
    }

    fn labels(unit: Unit, max: f64) -> Vec<String> {
        let axis = unit.axis(max, 5);
        axis.ticks().iter().map(|v| axis.label(*v)).collect()
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(round_step(0.0, 5), 1.0);
        assert_eq!(round_step(f64::NAN, 5), 1.0);
        assert_eq!(round_step(100.0, 5), 20.0);
        assert_eq!(round_step(125.0, 5), 50.0);
        assert_eq!(round_step(250.0, 5), 50.0);
        assert_eq!(round_step(251.0, 5), 100.0);
        assert_eq!(round_step(2.44, 5), 0.5);
        assert_eq!(round_step(0.03, 5), 0.01);
        assert_eq!(round_step(7.0, 4), 2.0);
        for max in [0.013, 0.7, 1.0, 3.3, 9.99, 42.0, 99.0, 640.0, 1234.5, 98_765.0] {
            for steps in 3..=6 {
                let step = round_step(max, steps);
                let mantissa = step / 10f64.powf((step.log10() + 1e-9).floor());
                assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{max}: {step}");
                assert!(max / step <= steps as f64 + 1e-9, "{max} in {steps} steps of {step}");
                // The next smaller round step would need more steps than allowed.
                let smaller = if (mantissa - 5.0).abs() < 1e-9 { step * 0.4 } else { step / 2.0 };
                assert!(max / smaller > steps as f64, "{max}: {smaller} would do in {steps} steps");
            }
        }
    }

    #[test]
    fn axis_labels_are_round_in_the_unit_shown() {
        // 62.5/s steps were what a top of 250 in four parts gave.
        assert_eq!(labels(Unit::PerSec, 240.0), ["0/s", "50/s", "100/s", "150/s", "200/s", "250/s"]);
        assert_eq!(labels(Unit::PerSec, 12_500.0), ["0k/s", "5k/s", "10k/s", "15k/s"]);
        assert_eq!(labels(Unit::Percent, 100.0), ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]);
        // Bytes in one binary prefix: half-KiB steps, never 512 B or 640 B.
        assert_eq!(labels(Unit::BytesPerSec, 2000.0), ["0 KiB/s", "0.5 KiB/s", "1 KiB/s", "1.5 KiB/s", "2 KiB/s"]);
        assert_eq!(labels(Unit::BytesPerSec, 600.0), ["0 B/s", "200 B/s", "400 B/s", "600 B/s"]);
        assert_eq!(labels(Unit::Bytes, 3.5 * 1024.0 * 1024.0), ["0 MiB", "1 MiB", "2 MiB", "3 MiB", "4 MiB"]);
        assert_eq!(labels(Unit::Count, 0.0), ["0", "1"]);
        assert_eq!(labels(Unit::Count, 3.0), ["0", "1", "2", "3"]);
        let axis = Unit::BytesPerSec.axis(2000.0, 5);
        assert_eq!((axis.step, axis.steps, axis.top()), (512.0, 4, 2048.0));
    }
}
