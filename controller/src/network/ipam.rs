//! IP address management: leases stored in sled, one key per address, each
//! taken with a compare-and-swap, so no address is ever handed out twice,
//! even across daemon restarts or concurrent allocations.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

use ipnet::Ipv4Net;

use crate::config::NetworkSpec;
use crate::store::{OwnerIndex, Store, StoreError};

const LEASES_TREE: &str = "leases";

/// Errors of address allocation.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum IpamError {
    /// no free address left in pool {pool} ({size} addresses, all leased)
    Exhausted {
        /// The pool (host group).
        pool: String,
        /// How many addresses it has.
        size: usize,
    },
    /// lease store error
    Store(#[from] StoreError),
}

/// The addresses one group may hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    /// Pool name (the host group).
    pub name: String,
    /// The subnet and the gateway's address in it.
    pub gateway: Ipv4Net,
    /// Candidate addresses in allocation order.
    candidates: Vec<Ipv4Addr>,
}

impl Pool {
    /// The pool of a bridge-mode group: the `addresses` list if given, else
    /// `range`, else every host address of the gateway subnet but the
    /// gateway's (`.2`, `.3`, … for a `.1` gateway).
    pub fn for_group(group: &str, network: &NetworkSpec) -> Option<Self> {
        let gateway = network.gateway?;
        let candidates: Vec<Ipv4Addr> = if !network.addresses.is_empty() {
            network.addresses.clone()
        } else if let Some((first, last)) = network.range {
            (u32::from(first)..=u32::from(last))
                .map(Ipv4Addr::from)
                .filter(|ip| *ip != gateway.addr())
                .collect()
        } else {
            gateway.hosts().filter(|ip| *ip != gateway.addr()).collect()
        };
        Some(Self {
            name: group.to_owned(),
            gateway,
            candidates,
        })
    }

    /// A pool over explicit candidates (tests, simulations).
    pub fn new(name: &str, gateway: Ipv4Net, candidates: Vec<Ipv4Addr>) -> Self {
        Self {
            name: name.to_owned(),
            gateway,
            candidates,
        }
    }

    fn key(&self, ip: Ipv4Addr) -> Vec<u8> {
        let mut key = format!("{}/", self.name).into_bytes();
        key.extend_from_slice(&ip.octets());
        key
    }
}

/// A leased address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The address.
    pub address: Ipv4Addr,
    /// Prefix length of the subnet.
    pub prefix_len: u8,
    /// The gateway.
    pub gateway: Ipv4Addr,
}

/// The lease table.
#[derive(Debug, Clone)]
pub struct Ipam {
    leases: OwnerIndex,
    /// Per pool, the candidate index to try first: one past the last
    /// address handed out. Only a hint (process-local, lost on restart),
    /// so filling a pool of n costs O(n) claims instead of O(n²).
    next_free: Arc<Mutex<HashMap<String, usize>>>,
}

fn address_of(key: &[u8]) -> Option<Ipv4Addr> {
    key.get(key.len().saturating_sub(4)..)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(Ipv4Addr::from)
}

impl Ipam {
    /// The lease table of `store`.
    pub fn new(store: &Store) -> Result<Self, IpamError> {
        Ok(Self {
            leases: OwnerIndex::open(store, LEASES_TREE)?,
            next_free: Arc::default(),
        })
    }

    fn lease(pool: &Pool, address: Ipv4Addr) -> Lease {
        Lease {
            address,
            prefix_len: pool.gateway.prefix_len(),
            gateway: pool.gateway.addr(),
        }
    }

    fn prefix(pool: &Pool) -> Vec<u8> {
        format!("{}/", pool.name).into_bytes()
    }

    fn hint(&self, pool: &Pool) -> usize {
        self.next_free
            .lock()
            .map_or(0, |hints| hints.get(&pool.name).copied().unwrap_or(0))
    }

    fn set_hint(&self, pool: &Pool, next: usize) {
        if let Ok(mut hints) = self.next_free.lock() {
            hints.insert(pool.name.clone(), next);
        }
    }

    /// The address `owner` holds in `pool`, if any.
    pub fn find(&self, pool: &Pool, owner: &str) -> Result<Option<Lease>, IpamError> {
        let prefix = Self::prefix(pool);
        Ok(self
            .leases
            .keys_of(owner)?
            .iter()
            .filter(|key| key.starts_with(&prefix) && key.len() == prefix.len() + 4)
            .find_map(|key| address_of(key))
            .map(|address| Self::lease(pool, address)))
    }

    /// Lease an address to `owner`: the one it already holds, else the
    /// next free candidate after the last one handed out, wrapping around
    /// (so a freed address is reused once the pool comes round to it, not
    /// at once). Callers serialise allocations per owner (the reconciler
    /// runs one reconcile per VM at a time); different owners may
    /// allocate concurrently.
    pub fn allocate(&self, pool: &Pool, owner: &str) -> Result<Lease, IpamError> {
        if let Some(lease) = self.find(pool, owner)? {
            return Ok(lease);
        }
        let size = pool.candidates.len();
        let start = self.hint(pool) % size.max(1);
        for i in (start..size).chain(0..start) {
            let ip = pool.candidates[i];
            if self.leases.claim(&pool.key(ip), owner)? {
                self.set_hint(pool, i + 1);
                return Ok(Self::lease(pool, ip));
            }
        }
        Err(IpamError::Exhausted {
            pool: pool.name.clone(),
            size,
        })
    }

    /// Release whatever `owner` holds in `pool`; returns the address.
    pub fn release(&self, pool: &Pool, owner: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        let Some(lease) = self.find(pool, owner)? else {
            return Ok(None);
        };
        self.leases.release(&pool.key(lease.address), Some(owner))?;
        Ok(Some(lease.address))
    }

    /// Release every lease `owner` holds in any pool (teardown after its
    /// group is gone); returns how many were released.
    pub fn release_owner(&self, owner: &str) -> Result<usize, IpamError> {
        let mut released = 0;
        for key in self.leases.keys_of(owner)? {
            released += usize::from(self.leases.release(&key, Some(owner))?);
        }
        Ok(released)
    }

    /// Every owner holding a lease, in any pool.
    pub fn owners(&self) -> Result<Vec<String>, IpamError> {
        let mut owners: Vec<String> = self
            .leases
            .scan(&[])?
            .into_iter()
            .map(|(_, owner)| owner)
            .collect();
        owners.sort();
        owners.dedup();
        Ok(owners)
    }

    /// Every lease of `pool` as (address, owner).
    pub fn leases(&self, pool: &Pool) -> Result<Vec<(Ipv4Addr, String)>, IpamError> {
        Ok(self
            .leases
            .scan(&Self::prefix(pool))?
            .into_iter()
            .filter_map(|(key, owner)| Some((address_of(&key)?, owner)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::config::NetworkMode;

    fn net(
        gateway: &str,
        range: Option<(Ipv4Addr, Ipv4Addr)>,
        addresses: Vec<Ipv4Addr>,
    ) -> NetworkSpec {
        NetworkSpec {
            mode: NetworkMode::Bridge,
            bridge: Some("br0".into()),
            tap_prefix: "tap".into(),
            gateway: Some(gateway.parse().unwrap()),
            addresses,
            range,
            isolated_range: None,
            drop: vec![],
            allow: vec![],
            parent: None,
        }
    }

    #[test]
    fn pools_follow_addresses_then_range_then_subnet() {
        let subnet = Pool::for_group("g", &net("192.168.137.1/24", None, vec![])).unwrap();
        assert_eq!(
            subnet.candidates.first(),
            Some(&Ipv4Addr::new(192, 168, 137, 2))
        );
        assert_eq!(subnet.candidates.len(), 253);
        let range = Pool::for_group(
            "g",
            &net(
                "10.0.0.1/24",
                Some(("10.0.0.10".parse().unwrap(), "10.0.0.12".parse().unwrap())),
                vec![],
            ),
        )
        .unwrap();
        assert_eq!(range.candidates.len(), 3);
        let list = Pool::for_group(
            "g",
            &net("10.0.0.1/24", None, vec!["10.0.0.7".parse().unwrap()]),
        )
        .unwrap();
        assert_eq!(list.candidates, [Ipv4Addr::new(10, 0, 0, 7)]);
    }

    #[test]
    fn allocation_is_idempotent_reuses_freed_addresses_and_reports_exhaustion() {
        let store = Store::temporary().unwrap();
        let ipam = Ipam::new(&store).unwrap();
        let pool = Pool::new(
            "g",
            "10.0.0.1/29".parse().unwrap(),
            (2..=3).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect(),
        );
        let a = ipam.allocate(&pool, "g-1").unwrap();
        assert_eq!(
            (a.address, a.prefix_len, a.gateway),
            (Ipv4Addr::new(10, 0, 0, 2), 29, Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(
            ipam.allocate(&pool, "g-1").unwrap(),
            a,
            "same owner, same lease"
        );
        ipam.allocate(&pool, "g-2").unwrap();
        let err = ipam.allocate(&pool, "g-3").unwrap_err();
        assert!(
            err.to_string().contains("no free address left in pool g"),
            "{err}"
        );
        assert_eq!(ipam.release(&pool, "g-1").unwrap(), Some(a.address));
        assert_eq!(ipam.allocate(&pool, "g-3").unwrap().address, a.address);
        assert_eq!(ipam.owners().unwrap(), ["g-2", "g-3"]);
        assert_eq!(ipam.release_owner("g-3").unwrap(), 1);
        assert_eq!(ipam.release_owner("g-3").unwrap(), 0);
        assert_eq!(ipam.owners().unwrap(), ["g-2"]);
    }

    #[test]
    fn allocation_moves_on_from_the_last_address_and_wraps_round() {
        let store = Store::temporary().unwrap();
        let ipam = Ipam::new(&store).unwrap();
        let pool = Pool::new(
            "g",
            "10.0.0.1/29".parse().unwrap(),
            (2..=5).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect(),
        );
        let addr = |owner: &str| ipam.allocate(&pool, owner).unwrap().address.octets()[3];
        assert_eq!([addr("g-1"), addr("g-2"), addr("g-3")], [2, 3, 4]);
        ipam.release(&pool, "g-1").unwrap();
        assert_eq!(addr("g-4"), 5, "the cursor goes on before reusing .2");
        assert_eq!(addr("g-5"), 2, "then wraps round to the freed one");
        assert_eq!(
            ipam.find(&pool, "g-3").unwrap().unwrap().address.octets()[3],
            4
        );
        // Another Ipam over the same store (a restarted daemon) starts from
        // the first candidate and skips what is leased.
        let again = Ipam::new(&store).unwrap();
        ipam.release(&pool, "g-3").unwrap();
        assert_eq!(again.allocate(&pool, "g-6").unwrap().address.octets()[3], 4);
        assert_eq!(again.release_owner("g-6").unwrap(), 1);
        assert!(again.find(&pool, "g-6").unwrap().is_none());
    }

    #[test]
    fn leases_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(
            "g",
            "10.0.0.1/24".parse().unwrap(),
            (2..=9).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect(),
        );
        let first = {
            let store = Store::open(dir.path()).unwrap();
            let lease = Ipam::new(&store).unwrap().allocate(&pool, "g-1").unwrap();
            store.flush().unwrap();
            lease
        };
        let store = Store::open(dir.path()).unwrap();
        let ipam = Ipam::new(&store).unwrap();
        assert_eq!(ipam.find(&pool, "g-1").unwrap(), Some(first.clone()));
        assert_ne!(ipam.allocate(&pool, "g-2").unwrap().address, first.address);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Concurrent allocations for distinct owners never share an
        /// address, and either all succeed or the pool is full.
        #[test]
        fn concurrent_allocations_never_collide(threads in 2usize..6, per_thread in 1usize..20, size in 10u8..60) {
            let store = Store::temporary().unwrap();
            let ipam = Ipam::new(&store).unwrap();
            let pool = Pool::new("g", "10.1.0.1/24".parse().unwrap(), (2..2 + size).map(|i| Ipv4Addr::new(10, 1, 0, i)).collect());
            let results: Vec<Result<Lease, String>> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads).map(|t| {
                    let (ipam, pool) = (&ipam, &pool);
                    scope.spawn(move || (0..per_thread).map(|i| ipam.allocate(pool, &format!("g-{t}-{i}")).map_err(|e| e.to_string())).collect::<Vec<_>>())
                }).collect();
                handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
            });
            let granted: Vec<Ipv4Addr> = results.iter().filter_map(|r| r.as_ref().ok().map(|l| l.address)).collect();
            let unique: HashSet<_> = granted.iter().collect();
            prop_assert_eq!(unique.len(), granted.len(), "an address was handed out twice");
            prop_assert_eq!(granted.len(), (threads * per_thread).min(usize::from(size)));
            prop_assert_eq!(ipam.leases(&pool).unwrap().len(), granted.len());
        }
    }
}
