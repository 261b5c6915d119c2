//! Per-VM disks: cloning a base image cheaply and removing clones.

mod clone;

pub use clone::{CloneError, CloneMethod, clone_file};
