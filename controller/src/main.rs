//! `slicer`: daemon (`slicer up`) and CLI in one binary.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    slicer_controller::cli::main().await
}
