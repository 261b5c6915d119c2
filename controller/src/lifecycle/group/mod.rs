//! The host-group controller: the group's bridge and egress, its service
//! VMs `<group>-1..count` (created, scaled down from the highest index,
//! rolled one at a time to a new spec), and on delete every VM of the
//! group and its bridge, behind a finalizer.

mod converge;
mod error;
mod template;

use async_trait::async_trait;
pub use error::GroupError;
pub use template::template_for;

use super::Context;
use crate::config::HostGroupSpec;
use crate::model::HOST_GROUP_FINALIZER;
use crate::reconcile::{Action, FinalizerError, FinalizerEvent, Reconciler, finalizer};

/// The host-group controller, for [`crate::reconcile::run`].
#[derive(Debug, Clone)]
pub struct GroupReconciler {
    ctx: Context,
}

impl GroupReconciler {
    /// A controller working with `ctx`.
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }
}

#[async_trait]
impl Reconciler for GroupReconciler {
    type Error = FinalizerError<GroupError>;

    async fn reconcile(&self, key: &str) -> Result<Action, Self::Error> {
        let ctx = &self.ctx;
        finalizer::<HostGroupSpec, GroupError, _, _>(
            &ctx.store,
            key,
            HOST_GROUP_FINALIZER,
            |event| async move {
                match event {
                    FinalizerEvent::Apply(group) => converge::converge(ctx, group).await,
                    FinalizerEvent::Cleanup(group) => converge::cleanup(ctx, group).await,
                }
            },
        )
        .await
    }

    async fn keys(&self) -> Vec<String> {
        self.ctx.store.names::<HostGroupSpec>().unwrap_or_default()
    }
}
