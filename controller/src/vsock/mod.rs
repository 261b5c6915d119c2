//! Host side of vsock: reaching a guest's vsock port through the VMM's
//! Unix socket (the "hybrid vsock" protocol shared by Firecracker, Cloud
//! Hypervisor and `vhost-device-vsock`).

mod hybrid;

pub use hybrid::{HybridVsockError, connect};
