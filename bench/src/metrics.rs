//! Reads pulseboard's `GET /metrics` (Prometheus text format): one series' value by its exact
//! name and labels, and the few figures the market benchmark takes at the start and end of a
//! window. The parser is pure and tested here.

use crate::{error::BenchError, exchange};
use std::{net::SocketAddr, time::Duration};

/// The value of the series written exactly `series` (name, plus `{labels}` if it has any), e.g.
/// `pulseboard_hub_events_published_total` or
/// `pulseboard_hub_topic_history_events{topic="market.quote.ACME"}`. `None` if it is absent or
/// its value is not a number. Comments (`# HELP`, `# TYPE`) and other series are skipped; a
/// timestamp after the value is allowed.
pub fn series_value(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let rest = line.strip_prefix(series)?;
        // The name must end here: `foo_total` is not a match for `foo`.
        let rest = rest.strip_prefix([' ', '\t'])?;
        rest.split_whitespace().next()?.parse::<f64>().ok()
    })
}

/// The counters read at both ends of a measuring window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counters {
    /// `pulseboard_market_ticks_total`: ticks the market applied (one quote event each).
    pub ticks: f64,
    /// `pulseboard_hub_events_published_total`: every event, the monitor's samples included.
    pub published: f64,
    /// `pulseboard_hub_events_delivered_total`: events written to streams.
    pub delivered: f64,
    /// `pulseboard_hub_events_conflated_total`: events latest-wins streams skipped.
    pub conflated: f64,
}

impl Counters {
    pub fn parse(text: &str) -> Result<Self, BenchError> {
        let get = |name: &str| {
            series_value(text, name)
                .ok_or_else(|| BenchError::BadAnswer(format!("no `{name}` in /metrics (is the server current?)")))
        };
        Ok(Self {
            ticks: get("pulseboard_market_ticks_total")?,
            published: get("pulseboard_hub_events_published_total")?,
            delivered: get("pulseboard_hub_events_delivered_total")?,
            conflated: get("pulseboard_hub_events_conflated_total")?,
        })
    }

    /// What grew from `earlier` to `self`.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            ticks: self.ticks - earlier.ticks,
            published: self.published - earlier.published,
            delivered: self.delivered - earlier.delivered,
            conflated: self.conflated - earlier.conflated,
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// The text of `GET /metrics`.
pub async fn scrape(addr: SocketAddr) -> Result<String, BenchError> {
    let body = exchange::get(addr, "/metrics", "GET /metrics", TIMEOUT).await?;
    String::from_utf8(body).map_err(|_| BenchError::BadAnswer("/metrics is not UTF-8".into()))
}

/// Events kept in the histories of `topics`, summed (absent topics count 0).
pub fn history_events(text: &str, topics: &[String]) -> f64 {
    topics
        .iter()
        .filter_map(|topic| series_value(text, &format!("pulseboard_hub_topic_history_events{{topic=\"{topic}\"}}")))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# HELP pulseboard_hub_events_published_total Events published.
# TYPE pulseboard_hub_events_published_total counter
pulseboard_hub_events_published_total 12345
pulseboard_hub_events_published_total_extra 1
pulseboard_hub_events_delivered_total 9.5e6
pulseboard_hub_events_conflated_total 77 1700000000000
pulseboard_market_ticks_total 12000
pulseboard_hub_topic_history_events{topic=\"market.quote.ACME\"} 1024
pulseboard_hub_topic_history_events{topic=\"market.quote.BOLT\"} 512
pulseboard_broken NaNish
";

    #[test]
    fn series_are_found_by_exact_name_and_labels() {
        assert_eq!(series_value(SAMPLE, "pulseboard_hub_events_published_total"), Some(12345.0));
        assert_eq!(series_value(SAMPLE, "pulseboard_hub_events_delivered_total"), Some(9.5e6));
        assert_eq!(series_value(SAMPLE, "pulseboard_hub_events_conflated_total"), Some(77.0), "timestamp ignored");
        assert_eq!(
            series_value(SAMPLE, r#"pulseboard_hub_topic_history_events{topic="market.quote.BOLT"}"#),
            Some(512.0)
        );
        assert_eq!(series_value(SAMPLE, "pulseboard_hub_events"), None, "a prefix is not a name");
        assert_eq!(series_value(SAMPLE, "pulseboard_broken"), None);
        assert_eq!(series_value(SAMPLE, "absent"), None);
        assert_eq!(series_value("", "absent"), None);
    }

    #[test]
    fn counters_parse_and_subtract() {
        let start = Counters::parse(SAMPLE).unwrap();
        assert_eq!(start.ticks, 12000.0);
        let later = Counters { ticks: 32000.0, published: 32350.0, delivered: 1.0e7, conflated: 100.0 };
        let grown = later.since(&start);
        assert_eq!((grown.ticks, grown.published, grown.conflated), (20000.0, 20005.0, 23.0));
        let err = Counters::parse("pulseboard_hub_events_published_total 1\n").unwrap_err();
        assert!(err.to_string().contains("pulseboard_market_ticks_total"), "{err}");
    }

    #[test]
    fn history_is_summed_over_topics() {
        let topics = ["market.quote.ACME".to_string(), "market.quote.BOLT".into(), "market.quote.NONE".into()];
        assert_eq!(history_events(SAMPLE, &topics), 1536.0);
    }
}
