//! Files moved between host and guest: path checks, single files, tar
//! streams.

pub mod binary;
pub mod paths;
pub mod tarball;
