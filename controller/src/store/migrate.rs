//! The store's schema version and the migrations between versions. Each
//! migration runs once, in order, when a store is opened; the version is
//! written only after its migration succeeded, so a crash mid-way re-runs
//! it (migrations are idempotent).

use super::StoreError;

/// The schema this build writes.
pub const SCHEMA_VERSION: u32 = 1;

const META_TREE: &str = "meta";
const VERSION_KEY: &str = "schema_version";

/// A migration from schema `N` to `N + 1`, indexed by `N - 1`.
type Migration = fn(&sled::Db) -> Result<(), StoreError>;

/// Migrations in order; schema 1 is the first, so there are none yet. A
/// change to a stored shape adds `migrate_1_to_2` here and bumps
/// [`SCHEMA_VERSION`].
const MIGRATIONS: &[Migration] = &[];

fn db_err(source: sled::Error) -> StoreError {
    StoreError::Db {
        kind: META_TREE,
        name: VERSION_KEY.into(),
        source,
    }
}

/// The schema version recorded in `db`; a database without one is new.
pub fn read_version(db: &sled::Db) -> Result<Option<u32>, StoreError> {
    let meta = db.open_tree(META_TREE).map_err(db_err)?;
    Ok(meta
        .get(VERSION_KEY)
        .map_err(db_err)?
        .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
        .map(u32::from_be_bytes))
}

fn write_version(db: &sled::Db, version: u32) -> Result<(), StoreError> {
    let meta = db.open_tree(META_TREE).map_err(db_err)?;
    meta.insert(VERSION_KEY, &version.to_be_bytes())
        .map_err(db_err)?;
    meta.flush().map_err(db_err)?;
    Ok(())
}

/// Bring `db` to [`SCHEMA_VERSION`], or refuse a newer one.
pub fn migrate(db: &sled::Db) -> Result<(), StoreError> {
    migrate_with(db, SCHEMA_VERSION, MIGRATIONS)
}

fn migrate_with(db: &sled::Db, target: u32, migrations: &[Migration]) -> Result<(), StoreError> {
    let mut version = match read_version(db)? {
        None => return write_version(db, target),
        Some(v) if v > target => {
            return Err(StoreError::TooNew {
                found: v,
                supported: target,
            });
        }
        Some(v) => v,
    };
    while version < target {
        let step = usize::try_from(version - 1)
            .ok()
            .and_then(|i| migrations.get(i));
        if let Some(step) = step {
            step(db).map_err(|e| StoreError::Migration {
                from: version,
                source: Box::new(e),
            })?;
        }
        version += 1;
        write_version(db, version)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    #[test]
    fn new_store_gets_the_current_version() {
        let db = db();
        migrate(&db).unwrap();
        assert_eq!(read_version(&db).unwrap(), Some(SCHEMA_VERSION));
    }

    #[test]
    fn newer_store_is_refused() {
        let db = db();
        write_version(&db, SCHEMA_VERSION + 1).unwrap();
        assert!(matches!(migrate(&db), Err(StoreError::TooNew { .. })));
    }

    #[test]
    fn migrations_run_in_order_and_record_each_step() {
        fn add_a(db: &sled::Db) -> Result<(), StoreError> {
            db.insert("a", "1").map(drop).map_err(db_err)
        }
        fn needs_a(db: &sled::Db) -> Result<(), StoreError> {
            assert!(db.get("a").unwrap().is_some(), "ran out of order");
            db.insert("b", "1").map(drop).map_err(db_err)
        }
        let db = db();
        write_version(&db, 1).unwrap();
        migrate_with(&db, 3, &[add_a, needs_a]).unwrap();
        assert_eq!(read_version(&db).unwrap(), Some(3));
        assert!(db.get("b").unwrap().is_some());
    }
}
