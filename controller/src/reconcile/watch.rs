//! From committed store writes to reconcile triggers for one kind.

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use crate::store::{Kind, Store};

/// Forward the names of changed objects of kind `K` to a channel. If the
/// watcher falls behind the store's event buffer, every name is sent again
/// so nothing is missed.
pub fn watch_kind<K: Kind>(store: &Store) -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut events = store.subscribe();
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) if event.kind == K::KIND => {
                    if tx.send(event.name).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        kind = K::KIND,
                        missed,
                        "store watch lagged; requeueing everything"
                    );
                    for name in store.names::<K>().unwrap_or_default() {
                        if tx.send(name).is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Apple;
    impl Kind for Apple {
        const KIND: &'static str = "apples";
        type Status = ();
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Pear;
    impl Kind for Pear {
        const KIND: &'static str = "pears";
        type Status = ();
    }

    #[tokio::test]
    async fn forwards_only_its_own_kind() {
        let store = Store::temporary().unwrap();
        let mut apples = watch_kind::<Apple>(&store);
        store.create("p", Pear).unwrap();
        store.create("a1", Apple).unwrap();
        store.request_delete::<Apple>("a1").unwrap();
        // Create, the deletion mark, and the removal.
        for _ in 0..3 {
            assert_eq!(apples.recv().await.as_deref(), Some("a1"));
        }
        tokio::task::yield_now().await;
        assert!(apples.try_recv().is_err(), "no pear events");
    }
}
