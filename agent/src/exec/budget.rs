//! [`RingBudget`]: the bytes all background-exec rings may hold together,
//! reserved when an exec starts and released when it is reaped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a ring could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, displaydoc::Display)]
pub enum RingBudgetError {
    /// ring_bytes {requested} is larger than the total ring budget of {budget} bytes
    TooLarge {
        /// Bytes asked for.
        requested: u64,
        /// The whole budget.
        budget: u64,
    },
    /// ring budget exhausted: {requested} bytes requested, {in_use} of {budget} in use
    Exhausted {
        /// Bytes asked for.
        requested: u64,
        /// Bytes reserved by live rings.
        in_use: u64,
        /// The whole budget.
        budget: u64,
    },
}

/// A shared byte budget.
#[derive(Debug, Clone)]
pub struct RingBudget {
    total: u64,
    in_use: Arc<AtomicU64>,
}

/// Bytes held from a [`RingBudget`]; dropping it gives them back.
#[derive(Debug)]
pub struct RingReservation {
    bytes: u64,
    in_use: Arc<AtomicU64>,
}

impl RingBudget {
    /// A budget of `total` bytes.
    pub fn new(total: u64) -> Self {
        Self {
            total,
            in_use: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Reserve `bytes`, failing when they exceed the budget or what is left.
    pub fn reserve(&self, bytes: u64) -> Result<RingReservation, RingBudgetError> {
        if bytes > self.total {
            return Err(RingBudgetError::TooLarge {
                requested: bytes,
                budget: self.total,
            });
        }
        self.in_use
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used + bytes <= self.total).then_some(used + bytes)
            })
            .map_err(|in_use| RingBudgetError::Exhausted {
                requested: bytes,
                in_use,
                budget: self.total,
            })?;
        Ok(RingReservation {
            bytes,
            in_use: self.in_use.clone(),
        })
    }

    /// Bytes currently reserved.
    #[cfg(test)]
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::SeqCst)
    }
}

impl Drop for RingReservation {
    fn drop(&mut self) {
        self.in_use.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_release_on_drop() {
        let budget = RingBudget::new(100);
        let a = budget.reserve(60).unwrap();
        assert!(matches!(
            budget.reserve(50),
            Err(RingBudgetError::Exhausted { in_use: 60, .. })
        ));
        let b = budget.reserve(40).unwrap();
        assert_eq!(budget.in_use(), 100);
        drop(a);
        drop(b);
        assert_eq!(budget.in_use(), 0);
        assert!(matches!(
            budget.reserve(101),
            Err(RingBudgetError::TooLarge { .. })
        ));
    }
}
