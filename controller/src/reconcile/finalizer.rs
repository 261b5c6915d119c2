//! [`finalizer`]: split a reconcile into Apply and Cleanup, holding an
//! object's deletion until Cleanup succeeds (kube-runtime's
//! `finalizer.rs`).
//!
//! Both halves must be idempotent, and Cleanup must work even if Apply
//! never ran or stopped half-way: a crash at any point is repaired by the
//! next pass.

use std::future::Future;

use super::Action;
use crate::store::{Kind, Object, Store, StoreError};

/// Which half of the work to do.
#[derive(Debug, Clone)]
pub enum FinalizerEvent<K: Kind> {
    /// The object exists and is wanted: converge it.
    Apply(Object<K>),
    /// Deletion was requested: tear it down.
    Cleanup(Object<K>),
}

/// Why a finalized reconcile failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum FinalizerError<E: std::error::Error + 'static> {
    /// apply failed
    Apply(#[source] E),
    /// cleanup failed; deletion stays pending
    Cleanup(#[source] E),
    /// cannot update finalizers
    Store(#[from] StoreError),
}

/// Reconcile object `name` of kind `K` with `finalizer_name` guarding its
/// deletion.
///
/// - Absent object: nothing to do.
/// - Not being deleted, finalizer missing: add it first (the write triggers
///   the next pass, which applies).
/// - Not being deleted: `reconcile(Apply)`.
/// - Being deleted, finalizer present: `reconcile(Cleanup)`; on success the
///   finalizer is removed, which removes the object once none remain.
pub async fn finalizer<K, E, F, Fut>(
    store: &Store,
    name: &str,
    finalizer_name: &str,
    reconcile: F,
) -> Result<Action, FinalizerError<E>>
where
    K: Kind,
    E: std::error::Error + 'static,
    F: FnOnce(FinalizerEvent<K>) -> Fut,
    Fut: Future<Output = Result<Action, E>>,
{
    let Some(object) = store.get::<K>(name)? else {
        return Ok(Action::await_change());
    };
    let guarded = object.meta.finalizers.iter().any(|f| f == finalizer_name);
    match (object.is_deleting(), guarded) {
        (true, true) => {
            let action = reconcile(FinalizerEvent::Cleanup(object))
                .await
                .map_err(FinalizerError::Cleanup)?;
            store.remove_finalizer::<K>(name, finalizer_name)?;
            Ok(action)
        }
        (true, false) => Ok(Action::await_change()),
        (false, false) => {
            store.add_finalizer::<K>(name, finalizer_name)?;
            Ok(Action::requeue(std::time::Duration::ZERO))
        }
        (false, true) => reconcile(FinalizerEvent::Apply(object))
            .await
            .map_err(FinalizerError::Apply),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::store::DeleteOutcome;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Thing;

    impl Kind for Thing {
        const KIND: &'static str = "things";
        type Status = ();
    }

    #[derive(Debug, thiserror::Error)]
    #[error("teardown failed")]
    struct Failed;

    async fn pass(
        store: &Store,
        fail_cleanup: bool,
    ) -> (Result<Action, FinalizerError<Failed>>, Option<&'static str>) {
        let mut seen = None;
        let result = finalizer::<Thing, Failed, _, _>(store, "t", "slicer/test", |event| {
            seen = Some(match event {
                FinalizerEvent::Apply(_) => "apply",
                FinalizerEvent::Cleanup(_) => "cleanup",
            });
            async move {
                if fail_cleanup && seen == Some("cleanup") {
                    Err(Failed)
                } else {
                    Ok(Action::await_change())
                }
            }
        })
        .await;
        (result, seen)
    }

    #[tokio::test]
    async fn adds_the_finalizer_applies_then_cleans_up_before_removal() {
        let store = Store::temporary().unwrap();
        store.create("t", Thing).unwrap();
        let (result, seen) = pass(&store, false).await;
        assert!(
            result.is_ok() && seen.is_none(),
            "first pass only adds the finalizer"
        );
        assert_eq!(
            store.get::<Thing>("t").unwrap().unwrap().meta.finalizers,
            ["slicer/test"]
        );
        assert_eq!(pass(&store, false).await.1, Some("apply"));

        assert_eq!(
            store.request_delete::<Thing>("t").unwrap(),
            DeleteOutcome::Pending
        );
        let (result, seen) = pass(&store, true).await;
        assert!(matches!(result, Err(FinalizerError::Cleanup(_))));
        assert_eq!(seen, Some("cleanup"));
        assert!(
            store.get::<Thing>("t").unwrap().is_some(),
            "a failed cleanup keeps the object"
        );

        assert_eq!(pass(&store, false).await.1, Some("cleanup"));
        assert!(store.get::<Thing>("t").unwrap().is_none());
        assert_eq!(
            pass(&store, false).await.1,
            None,
            "absent objects are left alone"
        );
    }

    #[tokio::test]
    async fn cleanup_runs_even_if_apply_never_did() {
        let store = Store::temporary().unwrap();
        store.create("t", Thing).unwrap();
        store.add_finalizer::<Thing>("t", "slicer/test").unwrap();
        store.request_delete::<Thing>("t").unwrap();
        assert_eq!(pass(&store, false).await.1, Some("cleanup"));
        assert!(store.get::<Thing>("t").unwrap().is_none());
    }
}
