//! Tar streams of copies, the same code on both ends: the CLI packs what
//! it uploads and unpacks what it downloads, the agent the other way round.
//! Blocking `std::io` only; callers run it on a blocking thread fed by a
//! pipe, so no stream is ever held whole.

mod exclude;
mod kind;
mod pack;
mod unpack;

pub use exclude::Excludes;
pub use kind::path_kind;
pub use pack::{pack_tree, unpacked_size_bytes};
pub use unpack::{Owner, UnpackError, unpack_into};
