//! [`SimulatedNetwork`]: a [`HostNetwork`] whose bridges and TAPs are
//! entries in memory, so scale runs touch no host link.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Mutex;

use async_trait::async_trait;
use ipnet::Ipv4Net;
use slicer_controller::network::{EgressStatus, HostNetwork, NetworkError};

#[derive(Debug, Default)]
struct Links {
    bridges: BTreeMap<String, Ipv4Net>,
    taps: BTreeMap<String, String>,
}

/// Bridges and TAPs that exist only in memory.
#[derive(Debug, Default)]
pub struct SimulatedNetwork {
    links: Mutex<Links>,
}

impl SimulatedNetwork {
    fn links(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// TAPs that exist now (leftovers after a delete).
    pub fn tap_count(&self) -> usize {
        self.links().taps.len()
    }

    /// Bridges that exist now.
    pub fn bridge_count(&self) -> usize {
        self.links().bridges.len()
    }
}

#[async_trait]
impl HostNetwork for SimulatedNetwork {
    async fn ensure_bridge(&self, name: &str, gateway: Ipv4Net) -> Result<(), NetworkError> {
        self.links().bridges.insert(name.to_owned(), gateway);
        Ok(())
    }

    async fn remove_bridge(&self, name: &str) -> Result<(), NetworkError> {
        self.links().bridges.remove(name);
        Ok(())
    }

    async fn ensure_tap(&self, name: &str, bridge: &str) -> Result<(), NetworkError> {
        let mut links = self.links();
        if !links.bridges.contains_key(bridge) {
            return Err(NetworkError::NoBridge {
                bridge: bridge.to_owned(),
                tap: name.to_owned(),
            });
        }
        links.taps.insert(name.to_owned(), bridge.to_owned());
        Ok(())
    }

    async fn remove_tap(&self, name: &str) -> Result<(), NetworkError> {
        self.links().taps.remove(name);
        Ok(())
    }

    async fn taps_with_prefix(&self, prefix: &str) -> Result<Vec<String>, NetworkError> {
        Ok(self
            .links()
            .taps
            .keys()
            .filter(|t| t.starts_with(prefix))
            .cloned()
            .collect())
    }

    async fn ensure_egress(&self, _bridge: &str, _subnet: Ipv4Net) -> EgressStatus {
        EgressStatus::ForwardingOnly {
            reason: "simulated network".to_owned(),
        }
    }

    async fn addresses(&self, name: &str) -> Result<Vec<Ipv4Addr>, NetworkError> {
        Ok(self
            .links()
            .bridges
            .get(name)
            .map(|net| vec![net.addr()])
            .into_iter()
            .flatten()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect())
    }
}
