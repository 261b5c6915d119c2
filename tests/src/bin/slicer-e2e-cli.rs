//! The `slicer` program, built inside the test crate so end-to-end tests
//! can run the daemon and the CLI as real processes
//! (`CARGO_BIN_EXE_slicer-e2e-cli`).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    slicer_controller::cli::main().await
}
