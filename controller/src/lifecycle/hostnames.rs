//! Allocating sandbox hostnames (`reference/slicer.md` §11 item 5): a
//! persisted per-group counter that only grows, above the group's service
//! indexes, and a create that fails rather than reuse a name that exists.

use crate::config::HostGroupSpec;
use crate::model::{Vm, hostname};
use crate::store::{Store, StoreError};

/// Create sandbox `spec` in `group` under a new hostname; returns it.
/// Safe under concurrency: the counter is atomic and the create is a
/// compare-and-swap, so two callers never get the same name.
pub fn create_sandbox(
    store: &Store,
    group: &HostGroupSpec,
    spec: &Vm,
) -> Result<String, StoreError> {
    loop {
        let n = store.next_counter(&format!("hostnames/{}", group.name))?;
        if n <= u64::from(group.count) {
            continue;
        }
        let name = hostname(&group.name, n);
        let vm = Vm {
            group: group.name.clone(),
            index: n,
            ..spec.clone()
        };
        match store.create(&name, vm) {
            Ok(_) => return Ok(name),
            Err(StoreError::AlreadyExists { .. }) => continue,
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use proptest::prelude::*;

    use super::*;
    use crate::lifecycle::template_for;

    fn group(count: u32) -> HostGroupSpec {
        let yaml = format!(
            "config:\n  host_groups:\n    - name: pool\n      count: {count}\n      storage_size: 1G\n"
        );
        crate::config::parse(&yaml, Path::new("h.yaml"), Path::new("."))
            .unwrap()
            .1
            .remove(0)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Concurrent creates never share a hostname, never take a
        /// service's name, and every one of them is stored.
        #[test]
        fn concurrent_sandboxes_get_distinct_hostnames(threads in 2usize..6, per_thread in 1usize..25, count in 0u32..4) {
            let store = Store::temporary().unwrap();
            let group = group(count);
            let spec = template_for(&group, 0);
            let names: Vec<String> = std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|_| scope.spawn(|| (0..per_thread).map(|_| create_sandbox(&store, &group, &spec).unwrap()).collect::<Vec<_>>()))
                    .collect();
                handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
            });
            let unique: HashSet<&String> = names.iter().collect();
            prop_assert_eq!(unique.len(), names.len());
            for name in &names {
                let index: u64 = name.rsplit('-').next().unwrap().parse().unwrap();
                prop_assert!(index > u64::from(count), "{} collides with a service", name);
            }
            prop_assert_eq!(store.names::<Vm>().unwrap().len(), names.len());
        }
    }

    #[test]
    fn a_hostname_is_never_reused_after_a_delete() {
        let store = Store::temporary().unwrap();
        let group = group(0);
        let spec = template_for(&group, 0);
        let first = create_sandbox(&store, &group, &spec).unwrap();
        store.request_delete::<Vm>(&first).unwrap();
        let second = create_sandbox(&store, &group, &spec).unwrap();
        assert_ne!(first, second);
    }
}
