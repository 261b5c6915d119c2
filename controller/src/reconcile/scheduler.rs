//! [`Scheduler`]: keys due at instants, one entry per key, the earliest
//! request winning.

use std::collections::HashMap;

use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Key;

/// A de-duplicating delay queue of object keys.
#[derive(Debug, Default)]
pub struct Scheduler {
    queue: DelayQueue<String>,
    entries: HashMap<String, (Key, Instant)>,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Make `key` due at `at`; if it is already due earlier, nothing
    /// changes, and if due later, it moves earlier.
    pub fn schedule(&mut self, key: String, at: Instant) {
        match self.entries.get_mut(&key) {
            Some((_, due)) if *due <= at => {}
            Some((queue_key, due)) => {
                self.queue.reset_at(queue_key, at);
                *due = at;
            }
            None => {
                let queue_key = self.queue.insert_at(key.clone(), at);
                self.entries.insert(key, (queue_key, at));
            }
        }
    }

    /// Whether nothing is scheduled.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next key whose time has come. Never resolves while empty.
    pub async fn next_due(&mut self) -> String {
        loop {
            if let Some(expired) = self.queue.next().await {
                let key = expired.into_inner();
                self.entries.remove(&key);
                return key;
            }
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn duplicates_collapse_and_the_earliest_time_wins() {
        let mut scheduler = Scheduler::new();
        let now = Instant::now();
        scheduler.schedule("a".into(), now + Duration::from_secs(10));
        scheduler.schedule("a".into(), now + Duration::from_secs(1));
        scheduler.schedule("a".into(), now + Duration::from_secs(5));
        scheduler.schedule("b".into(), now + Duration::from_secs(2));
        assert_eq!(scheduler.next_due().await, "a");
        assert_eq!(Instant::now() - now, Duration::from_secs(1));
        assert_eq!(scheduler.next_due().await, "b");
        assert!(scheduler.is_empty());
    }
}
