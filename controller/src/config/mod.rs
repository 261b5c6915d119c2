//! The Slicer-format YAML configuration (`config.host_groups`, `image`,
//! `hypervisor`, `api`, …; `reference/slicer.md` §2): parsing, validation
//! with errors that name the file, the group and the field, and the
//! resolved host-group specs the controller stores.

mod file;
mod render;
mod resolve;
mod size;

pub use file::{
    ApiConfig, AuthConfig, CaConfig, DaemonConfig, HostGroupConfig, NetworkConfig, SlicerConfig,
};
pub use render::render;
pub use resolve::{
    ConfigError, FieldError, HostGroupSpec, HypervisorName, NetworkMode, NetworkSpec, StorageKind,
    load, parse,
};
pub use size::parse_size;

#[cfg(test)]
mod tests;
