//! [`run`]: the worker loop that turns due keys into reconciles.
//!
//! Guarantees: a key is never reconciled by two workers at once (a trigger
//! for a running key marks it dirty and it runs again right after);
//! triggers for a queued key collapse into one run; at most
//! `RunnerConfig::workers` reconciles run at once; errors go through the
//! reconciler's error policy; every key is resynced periodically.

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{Action, Backoff, Scheduler};

/// What a controller implements.
#[async_trait]
pub trait Reconciler: Send + Sync + 'static {
    /// Why a reconcile failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Drive the object named `key` toward its desired state.
    async fn reconcile(&self, key: &str) -> Result<Action, Self::Error>;

    /// Every key that exists now, for the periodic resync.
    async fn keys(&self) -> Vec<String>;

    /// What to do after the `attempt`-th consecutive failure of `key`;
    /// by default, retry with [`Backoff::default`].
    fn error_policy(&self, _key: &str, _error: &Self::Error, attempt: u32) -> Action {
        Action::requeue(Backoff::default().delay(attempt))
    }
}

/// `err` and its causes on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Runner settings.
#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    /// Reconciles that may run at once (different keys).
    pub workers: usize,
    /// How often every key is reconciled even without a change.
    pub resync_every: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            workers: 8,
            resync_every: Duration::from_secs(60),
        }
    }
}

type Outcome<E> = (String, Result<Result<Action, E>, String>);

/// Run `reconciler` on keys from `triggers` until `shutdown` is cancelled;
/// running reconciles are allowed to finish.
pub async fn run<R: Reconciler>(
    reconciler: Arc<R>,
    config: RunnerConfig,
    mut triggers: mpsc::UnboundedReceiver<String>,
    shutdown: CancellationToken,
) {
    let mut scheduler = Scheduler::new();
    let mut running: HashSet<String> = HashSet::new();
    let mut dirty: HashSet<String> = HashSet::new();
    let mut failures: HashMap<String, u32> = HashMap::new();
    let mut tasks: JoinSet<Outcome<R::Error>> = JoinSet::new();
    let mut resync = tokio::time::interval(config.resync_every);
    let mut triggers_open = true;
    let workers = config.workers.max(1);
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                let Ok((key, outcome)) = joined else { continue };
                running.remove(&key);
                let action = match outcome {
                    Ok(Ok(action)) => {
                        failures.remove(&key);
                        action
                    }
                    Ok(Err(err)) => {
                        let attempt = failures.entry(key.clone()).or_insert(0);
                        *attempt += 1;
                        tracing::warn!(object = %key, attempt = *attempt, error = %chain(&err), "reconcile failed");
                        reconciler.error_policy(&key, &err, *attempt)
                    }
                    Err(panic) => {
                        tracing::error!(object = %key, panic, "reconcile panicked");
                        Action::requeue(Backoff::default().max)
                    }
                };
                if dirty.remove(&key) {
                    scheduler.schedule(key, Instant::now());
                } else if let Some(delay) = action.requeue_after() {
                    scheduler.schedule(key, Instant::now() + delay);
                }
            }
            trigger = triggers.recv(), if triggers_open => match trigger {
                Some(key) => scheduler.schedule(key, Instant::now()),
                None => triggers_open = false,
            },
            _ = resync.tick() => {
                for key in reconciler.keys().await {
                    scheduler.schedule(key, Instant::now());
                }
            }
            key = scheduler.next_due(), if running.len() < workers && !scheduler.is_empty() => {
                if running.contains(&key) {
                    dirty.insert(key);
                    continue;
                }
                running.insert(key.clone());
                let reconciler = reconciler.clone();
                tasks.spawn(async move {
                    let span = tracing::info_span!("reconcile", object = %key);
                    let outcome = AssertUnwindSafe(reconciler.reconcile(&key).instrument(span))
                        .catch_unwind()
                        .await
                        .map_err(|panic| {
                            panic.downcast_ref::<&str>().map(|s| (*s).to_owned())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic".to_owned())
                        });
                    (key, outcome)
                });
            }
        }
    }
    while tasks.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Records every call; per key, how many run at once.
    #[derive(Debug, Default)]
    struct Recorder {
        calls: Mutex<Vec<(String, Instant)>>,
        in_flight: Mutex<HashMap<String, u32>>,
        max_in_flight_per_key: Mutex<u32>,
        max_in_flight_total: Mutex<u32>,
        work: Duration,
        action: Option<Action>,
        fail: bool,
        keys: Vec<String>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("boom")]
    struct Boom;

    #[async_trait]
    impl Reconciler for Recorder {
        type Error = Boom;

        async fn reconcile(&self, key: &str) -> Result<Action, Boom> {
            self.calls
                .lock()
                .unwrap()
                .push((key.to_owned(), Instant::now()));
            {
                let mut in_flight = self.in_flight.lock().unwrap();
                let n = in_flight.entry(key.to_owned()).or_insert(0);
                *n += 1;
                let mut max = self.max_in_flight_per_key.lock().unwrap();
                *max = (*max).max(*n);
                let total: u32 = in_flight.values().sum();
                let mut max_total = self.max_in_flight_total.lock().unwrap();
                *max_total = (*max_total).max(total);
            }
            tokio::time::sleep(self.work).await;
            *self.in_flight.lock().unwrap().get_mut(key).unwrap() -= 1;
            if self.fail {
                return Err(Boom);
            }
            Ok(self.action.unwrap_or_else(Action::await_change))
        }

        async fn keys(&self) -> Vec<String> {
            self.keys.clone()
        }

        fn error_policy(&self, _key: &str, _error: &Boom, attempt: u32) -> Action {
            Action::requeue(
                Backoff {
                    initial: Duration::from_millis(100),
                    max: Duration::from_millis(400),
                }
                .delay(attempt),
            )
        }
    }

    fn config() -> RunnerConfig {
        RunnerConfig {
            workers: 4,
            resync_every: Duration::from_secs(3600),
        }
    }

    async fn drive(
        recorder: Arc<Recorder>,
        for_how_long: Duration,
        send: impl FnOnce(&mpsc::UnboundedSender<String>),
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(recorder, config(), rx, shutdown.clone()));
        send(&tx);
        tokio::time::sleep(for_how_long).await;
        shutdown.cancel();
        task.await.unwrap();
    }

    fn count(recorder: &Recorder, key: &str) -> usize {
        recorder
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn triggers_collapse_and_one_key_never_runs_twice_at_once() {
        let recorder = Arc::new(Recorder {
            work: Duration::from_millis(50),
            ..Recorder::default()
        });
        drive(recorder.clone(), Duration::from_secs(2), |tx| {
            for _ in 0..100 {
                tx.send("a".into()).unwrap();
                tx.send("b".into()).unwrap();
            }
        })
        .await;
        assert!(
            (1..=2).contains(&count(&recorder, "a")),
            "{}",
            count(&recorder, "a")
        );
        assert_eq!(*recorder.max_in_flight_per_key.lock().unwrap(), 1);
        assert_eq!(
            *recorder.max_in_flight_total.lock().unwrap(),
            2,
            "different keys run concurrently"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_trigger_during_a_run_reruns_right_after() {
        let recorder = Arc::new(Recorder {
            work: Duration::from_millis(100),
            ..Recorder::default()
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(recorder.clone(), config(), rx, shutdown.clone()));
        tx.send("a".into()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send("a".into()).unwrap(); // arrives mid-run
        tokio::time::sleep(Duration::from_secs(1)).await;
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(count(&recorder, "a"), 2);
        assert_eq!(*recorder.max_in_flight_per_key.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn requeue_after_runs_again_on_time() {
        let recorder = Arc::new(Recorder {
            action: Some(Action::requeue(Duration::from_secs(1))),
            ..Recorder::default()
        });
        drive(recorder.clone(), Duration::from_millis(3500), |tx| {
            tx.send("a".into()).unwrap()
        })
        .await;
        assert_eq!(count(&recorder, "a"), 4); // t = 0, 1, 2, 3
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_exponentially_up_to_the_cap() {
        let recorder = Arc::new(Recorder {
            fail: true,
            ..Recorder::default()
        });
        drive(recorder.clone(), Duration::from_millis(1600), |tx| {
            tx.send("a".into()).unwrap()
        })
        .await;
        let calls = recorder.calls.lock().unwrap();
        let gaps: Vec<u128> = calls
            .windows(2)
            .map(|w| (w[1].1 - w[0].1).as_millis())
            .collect();
        assert_eq!(gaps, [100, 200, 400, 400, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn resync_reconciles_every_key_without_triggers() {
        let recorder = Arc::new(Recorder {
            keys: vec!["a".into(), "b".into()],
            ..Recorder::default()
        });
        let (_tx, rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let config = RunnerConfig {
            workers: 2,
            resync_every: Duration::from_secs(10),
        };
        let task = tokio::spawn(run(recorder.clone(), config, rx, shutdown.clone()));
        tokio::time::sleep(Duration::from_secs(25)).await;
        shutdown.cancel();
        task.await.unwrap();
        assert_eq!(count(&recorder, "a"), 3); // t = 0, 10, 20
        assert_eq!(count(&recorder, "b"), 3);
    }
}
