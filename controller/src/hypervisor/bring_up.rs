//! The start-up sequence shared by the API-driven drivers (Firecracker,
//! Cloud Hypervisor): wait for a freshly spawned VMM's API socket, send
//! the driver's requests, and on any failure kill the VMM and report with
//! the tail of its output; on success save the handle.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use super::api_socket::{ApiSocket, ApiSocketError};
use super::api_vmm::ApiVmmError;
use super::process::log_tail;
use super::{Hypervisor, HypervisorError, VmHandle};

/// How long a VMM may take to answer on its API socket after start.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Bring up the VMM of `handle`: poll `ready_path`, then run `steps`.
///
/// `log` is the file with the VMM's output, whose tail a failure reports.
pub(crate) async fn bring_up<H, F, Fut>(
    driver: &H,
    handle: &VmHandle,
    ready_path: &str,
    log: &Path,
    steps: F,
) -> Result<(), HypervisorError>
where
    H: Hypervisor + ?Sized,
    F: FnOnce(ApiSocket) -> Fut,
    Fut: Future<Output = Result<(), ApiSocketError>>,
{
    let api = ApiSocket::new(&handle.control_socket);
    let result = match api
        .wait_ready(ready_path, &handle.vmm, STARTUP_TIMEOUT)
        .await
    {
        Ok(()) => steps(api).await,
        Err(err) => Err(err),
    };
    if let Err(source) = result {
        let log_tail = log_tail(log);
        driver.kill(handle).await?;
        return Err(ApiVmmError::Start {
            vmm: driver.kind(),
            vm: handle.name.clone(),
            log_tail,
            source: Box::new(source),
        }
        .into());
    }
    handle.save()?;
    Ok(())
}
