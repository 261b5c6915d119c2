//! IP address management: leases stored in sled, one key per address, each
//! taken with a compare-and-swap, so no address is ever handed out twice,
//! even across daemon restarts or concurrent allocations.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::config::NetworkSpec;
use crate::store::{Store, StoreError};

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
    /// lease store i/o failed for pool {pool}
    Db {
        /// The pool.
        pool: String,
        /// The underlying error.
        #[source]
        source: sled::Error,
    },
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
    leases: sled::Tree,
}

impl Ipam {
    /// The lease table of `store`.
    pub fn new(store: &Store) -> Result<Self, IpamError> {
        Ok(Self {
            leases: store.raw_tree(LEASES_TREE)?,
        })
    }

    fn db_err(pool: &Pool) -> impl Fn(sled::Error) -> IpamError + '_ {
        move |source| IpamError::Db {
            pool: pool.name.clone(),
            source,
        }
    }

    fn lease(pool: &Pool, address: Ipv4Addr) -> Lease {
        Lease {
            address,
            prefix_len: pool.gateway.prefix_len(),
            gateway: pool.gateway.addr(),
        }
    }

    /// The address `owner` holds in `pool`, if any.
    pub fn find(&self, pool: &Pool, owner: &str) -> Result<Option<Lease>, IpamError> {
        for entry in self.leases.scan_prefix(format!("{}/", pool.name)) {
            let (key, value) = entry.map_err(Self::db_err(pool))?;
            if value.as_ref() == owner.as_bytes()
                && let Some(octets) = key
                    .get(key.len().saturating_sub(4)..)
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
            {
                return Ok(Some(Self::lease(pool, Ipv4Addr::from(octets))));
            }
        }
        Ok(None)
    }

    /// Lease an address to `owner`: the one it already holds, else the
    /// first free candidate. Callers serialise allocations per owner (the
    /// reconciler runs one reconcile per VM at a time); different owners
    /// may allocate concurrently.
    pub fn allocate(&self, pool: &Pool, owner: &str) -> Result<Lease, IpamError> {
        if let Some(lease) = self.find(pool, owner)? {
            return Ok(lease);
        }
        for ip in &pool.candidates {
            let taken = self
                .leases
                .compare_and_swap(pool.key(*ip), None::<&[u8]>, Some(owner.as_bytes()))
                .map_err(Self::db_err(pool))?;
            if taken.is_ok() {
                return Ok(Self::lease(pool, *ip));
            }
        }
        Err(IpamError::Exhausted {
            pool: pool.name.clone(),
            size: pool.candidates.len(),
        })
    }

    /// Release whatever `owner` holds in `pool`; returns the address.
    pub fn release(&self, pool: &Pool, owner: &str) -> Result<Option<Ipv4Addr>, IpamError> {
        let Some(lease) = self.find(pool, owner)? else {
            return Ok(None);
        };
        // Only remove it if it is still ours.
        let _ = self
            .leases
            .compare_and_swap(
                pool.key(lease.address),
                Some(owner.as_bytes()),
                None::<&[u8]>,
            )
            .map_err(Self::db_err(pool))?;
        Ok(Some(lease.address))
    }

    /// Release every lease `owner` holds in any pool (teardown after its
    /// group is gone); returns how many were released.
    pub fn release_owner(&self, owner: &str) -> Result<usize, IpamError> {
        let db_err = |source| IpamError::Db {
            pool: "*".to_owned(),
            source,
        };
        let mut released = 0;
        for entry in self.leases.iter() {
            let (key, value) = entry.map_err(db_err)?;
            if value.as_ref() == owner.as_bytes()
                && self
                    .leases
                    .compare_and_swap(&key, Some(value), None::<&[u8]>)
                    .map_err(db_err)?
                    .is_ok()
            {
                released += 1;
            }
        }
        Ok(released)
    }

    /// Every owner holding a lease, in any pool.
    pub fn owners(&self) -> Result<Vec<String>, IpamError> {
        let mut owners = Vec::new();
        for value in self.leases.iter().values() {
            let value = value.map_err(|source| IpamError::Db {
                pool: "*".to_owned(),
                source,
            })?;
            owners.push(String::from_utf8_lossy(&value).into_owned());
        }
        owners.sort();
        owners.dedup();
        Ok(owners)
    }

    /// Every lease of `pool` as (address, owner).
    pub fn leases(&self, pool: &Pool) -> Result<Vec<(Ipv4Addr, String)>, IpamError> {
        let mut out = Vec::new();
        for entry in self.leases.scan_prefix(format!("{}/", pool.name)) {
            let (key, value) = entry.map_err(Self::db_err(pool))?;
            if let Some(octets) = key
                .get(key.len().saturating_sub(4)..)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
            {
                out.push((
                    Ipv4Addr::from(octets),
                    String::from_utf8_lossy(&value).into_owned(),
                ));
            }
        }
        Ok(out)
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
