//! Deterministic MAC addresses: the same hostname always gets the same MAC,
//! across restarts and hosts, so DHCP reservations and ARP caches hold
//! (`reference/slicer.md` §11 item 3).

use sha2::{Digest, Sha256};

use crate::hypervisor::spec::MacAddr;

/// The MAC of `hostname`: locally administered, unicast (first byte 0x02),
/// the rest from a hash of the name.
pub fn mac_for(hostname: &str) -> MacAddr {
    let digest = Sha256::digest(format!("slicer:{hostname}").as_bytes());
    MacAddr([0x02, digest[0], digest[1], digest[2], digest[3], digest[4]])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn stable_local_unicast_and_distinct() {
        assert_eq!(mac_for("vm-1"), mac_for("vm-1"));
        assert_eq!(mac_for("vm-1").0[0], 0x02);
        let macs: HashSet<_> = (1..=1000).map(|i| mac_for(&format!("vm-{i}"))).collect();
        assert_eq!(macs.len(), 1000);
    }
}
