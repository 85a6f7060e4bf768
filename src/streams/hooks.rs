//! Topics whose published bodies must pass a check, and feed something besides the hub
//! (e.g. `ticks`, which drives the market board). The publish API runs a topic's hook before
//! publishing; a refusal is a 400 with the hook's message and nothing is published.

use super::names::TopicName;
use std::{collections::HashMap, future::Future, pin::Pin, sync::Arc};

pub type HookFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
pub type PublishHook = Arc<dyn Fn(String) -> HookFuture + Send + Sync>;

#[derive(Clone, Default)]
pub struct PublishHooks {
    hooks: Arc<HashMap<TopicName, PublishHook>>,
}

impl PublishHooks {
    pub fn new(hooks: impl IntoIterator<Item = (TopicName, PublishHook)>) -> Self {
        Self { hooks: Arc::new(hooks.into_iter().collect()) }
    }

    /// Runs the topic's hook, if it has one.
    pub async fn check(&self, topic: &TopicName, data: &str) -> Result<(), String> {
        match self.hooks.get(topic) {
            Some(hook) => hook(data.to_string()).await,
            None => Ok(()),
        }
    }
}
