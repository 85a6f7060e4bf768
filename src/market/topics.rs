//! The market's topic names: one per symbol for its quotes, and the one outside feeds publish
//! ticks to (server only). Every room of the market names its topics from here.

use crate::streams::{TopicConst, TopicName};

/// The topic outside feeds publish ticks to.
pub const TICKS_TOPIC: TopicConst = TopicConst::new("ticks");

/// Every symbol's quote topic starts with this.
pub const QUOTE_TOPIC_PREFIX: &str = "market.quote.";

/// The quote topic of `symbol` (`None` if the symbol makes no valid topic name).
pub fn quote_topic(symbol: &str) -> Option<TopicName> {
    TopicName::new(&format!("{QUOTE_TOPIC_PREFIX}{symbol}")).ok()
}
