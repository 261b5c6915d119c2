//! The VM controller: one reconcile drives one VM through disk, lease,
//! TAP, VMM launch or adoption, agent readiness and provisioning, handles
//! the end of a run by its role (services relaunch, ephemeral sandboxes go,
//! persistent ones stay stopped), and tears everything down behind a
//! finalizer on delete.

mod converge;
mod decide;
mod error;
mod exit;
mod launch;
mod shutdown;
mod teardown;

use async_trait::async_trait;
pub use error::{VmError, chain as error_chain};
pub use shutdown::stop_for_daemon_shutdown;
pub use teardown::teardown;

use super::Context;
use crate::model::{VM_FINALIZER, Vm};
use crate::reconcile::{Action, Backoff, FinalizerError, FinalizerEvent, Reconciler, finalizer};

/// The VM controller, for [`crate::reconcile::run`].
#[derive(Debug, Clone)]
pub struct VmReconciler {
    ctx: Context,
}

impl VmReconciler {
    /// A controller working with `ctx`.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

#[async_trait]
impl Reconciler for VmReconciler {
    type Error = FinalizerError<VmError>;

    async fn reconcile(&self, key: &str) -> Result<Action, Self::Error> {
        let ctx = &self.ctx;
        finalizer::<Vm, VmError, _, _>(&ctx.store, key, VM_FINALIZER, |event| async move {
            match event {
                FinalizerEvent::Apply(vm) => converge::converge(ctx, vm).await,
                FinalizerEvent::Cleanup(vm) => teardown(ctx, &vm.meta.name, &vm.status)
                    .await
                    .map(|_| Action::await_change()),
            }
        })
        .await
    }

    async fn keys(&self) -> Vec<String> {
        self.ctx.store.names::<Vm>().unwrap_or_default()
    }

    fn error_policy(&self, key: &str, error: &Self::Error, attempt: u32) -> Action {
        let message = error::chain(error);
        // Write only a new message: every write wakes the VM again, which
        // would defeat the backoff.
        if let Ok(Some(vm)) = self.ctx.store.get::<Vm>(key)
            && vm.status.message != message
        {
            let _ = self
                .ctx
                .store
                .update_status::<Vm>(key, |vm| vm.status.message = message.clone());
        }
        Action::requeue(
            Backoff {
                initial: std::time::Duration::from_secs(1),
                max: std::time::Duration::from_secs(60),
            }
            .delay(attempt),
        )
    }
}
