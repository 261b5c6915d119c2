//! Applying host groups: the diff between a validated file and the store,
//! and one transaction that writes it (or, for a dry run, nothing).

use std::collections::BTreeMap;

use slicer_api::types::{ApplyAction, ApplyChange};

use crate::config::HostGroupSpec;
use crate::store::{Store, StoreError};

/// Why an apply failed.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ApplyError {
    /// cannot read or write host groups
    Store(#[from] StoreError),
}

fn fields(spec: &HostGroupSpec) -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(spec) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn diff(old: &HostGroupSpec, new: &HostGroupSpec) -> Vec<String> {
    let (old, new) = (fields(old), fields(new));
    new.iter()
        .filter(|(key, value)| old.get(*key) != Some(value))
        .map(|(key, value)| {
            let before = old
                .get(key)
                .map_or("(none)".to_owned(), ToString::to_string);
            format!("{key}: {before} -> {value}")
        })
        .collect()
}

/// What applying `groups` would change; with `prune`, stored groups not
/// in `groups` are deleted.
pub fn plan_groups(
    store: &Store,
    groups: &[HostGroupSpec],
    prune: bool,
) -> Result<Vec<ApplyChange>, ApplyError> {
    let stored = store.list::<HostGroupSpec>()?;
    let mut changes = Vec::new();
    for group in groups {
        let change = match stored.iter().find(|s| s.meta.name == group.name) {
            None => ApplyChange {
                group: group.name.clone(),
                action: ApplyAction::Created,
                diff: Vec::new(),
            },
            Some(old) if old.spec == *group && !old.is_deleting() => ApplyChange {
                group: group.name.clone(),
                action: ApplyAction::Unchanged,
                diff: Vec::new(),
            },
            Some(old) => ApplyChange {
                group: group.name.clone(),
                action: ApplyAction::Updated,
                diff: diff(&old.spec, group),
            },
        };
        changes.push(change);
    }
    if prune {
        for old in stored
            .iter()
            .filter(|s| !s.is_deleting() && !groups.iter().any(|g| g.name == s.meta.name))
        {
            changes.push(ApplyChange {
                group: old.meta.name.clone(),
                action: ApplyAction::Deleted,
                diff: Vec::new(),
            });
        }
    }
    Ok(changes)
}

/// Apply `groups` in one transaction; returns what changed.
pub fn apply_groups(
    store: &Store,
    groups: &[HostGroupSpec],
    prune: bool,
) -> Result<Vec<ApplyChange>, ApplyError> {
    let changes = plan_groups(store, groups, prune)?;
    let upserts: Vec<(String, HostGroupSpec)> = groups
        .iter()
        .filter(|g| {
            changes
                .iter()
                .any(|c| c.group == g.name && c.action != ApplyAction::Unchanged)
        })
        .map(|g| (g.name.clone(), g.clone()))
        .collect();
    let deletes: Vec<String> = changes
        .iter()
        .filter(|c| c.action == ApplyAction::Deleted)
        .map(|c| c.group.clone())
        .collect();
    if !upserts.is_empty() || !deletes.is_empty() {
        store.write_specs(&upserts, &deletes)?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse;

    fn groups(yaml: &str) -> Vec<HostGroupSpec> {
        parse(yaml, Path::new("h.yaml"), Path::new(".")).unwrap().1
    }

    #[test]
    fn apply_creates_then_reports_unchanged_updated_and_pruned() {
        let store = Store::temporary().unwrap();
        let one = groups(
            "config:\n  host_groups:\n    - name: a\n      storage_size: 1G\n    - name: b\n      storage_size: 1G\n",
        );
        let first = apply_groups(&store, &one, false).unwrap();
        assert!(first.iter().all(|c| c.action == ApplyAction::Created));
        let again = apply_groups(&store, &one, false).unwrap();
        assert!(again.iter().all(|c| c.action == ApplyAction::Unchanged));
        let two = groups(
            "config:\n  host_groups:\n    - name: a\n      storage_size: 1G\n      count: 3\n",
        );
        let dry = plan_groups(&store, &two, true).unwrap();
        assert_eq!(dry[0].action, ApplyAction::Updated);
        assert_eq!(dry[0].diff, ["count: 1 -> 3"]);
        assert_eq!(dry[1].action, ApplyAction::Deleted);
        assert_eq!(
            store.get::<HostGroupSpec>("a").unwrap().unwrap().spec.count,
            1,
            "a plan writes nothing"
        );
        apply_groups(&store, &two, true).unwrap();
        assert_eq!(
            store.get::<HostGroupSpec>("a").unwrap().unwrap().spec.count,
            3
        );
        assert!(store.get::<HostGroupSpec>("b").unwrap().is_none());
    }
}
