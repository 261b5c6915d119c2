//! Running the image build script with its progress on the terminal.

use std::path::{Path, PathBuf};

use crate::paths::DataDir;

/// Environment variable overriding where the build script is.
pub const BUILDER_ENV: &str = "SLICER_IMAGE_BUILDER";

/// Errors of image handling.
#[derive(Debug, thiserror::Error, displaydoc::Display)]
pub enum ImageError {
    /// image {name} is missing or incomplete ({path}): run `slicer image build --flavour {name}`
    Missing {
        /// The image name.
        name: String,
        /// The manifest looked for.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// image manifest {path} is corrupt
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// cannot find the image build script; looked in {searched}
    NoBuilder {
        /// Places searched.
        searched: String,
    },
    /// cannot find the guest agent; looked in {searched} (build it with deploy/build-agent.sh)
    NoAgent {
        /// Places searched.
        searched: String,
    },
    /// cannot run the image build script {script}
    Spawn {
        /// The script.
        script: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// image build of {name} failed with {status}
    Failed {
        /// The image name.
        name: String,
        /// How the script exited.
        status: std::process::ExitStatus,
    },
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// `min` or `full`.
    pub flavour: String,
    /// Image name (defaults to the flavour).
    pub name: Option<String>,
    /// Data directory.
    pub data: DataDir,
    /// Static agent binary to bake in.
    pub agent: PathBuf,
    /// Rebuild even if up to date.
    pub force: bool,
}

fn first_existing(candidates: Vec<PathBuf>) -> Result<PathBuf, String> {
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
}

fn exe_prefix() -> Option<PathBuf> {
    // <prefix>/bin/slicer → <prefix>
    std::env::current_exe()
        .ok()?
        .parent()?
        .parent()
        .map(Path::to_owned)
}

/// The build script: `$SLICER_IMAGE_BUILDER`, the installed copy under
/// `<prefix>/lib/slicer/image/`, or the source tree's `deploy/image/`.
pub fn builder_script() -> Result<PathBuf, ImageError> {
    let mut candidates: Vec<PathBuf> = std::env::var_os(BUILDER_ENV)
        .map(PathBuf::from)
        .into_iter()
        .collect();
    if let Some(prefix) = exe_prefix() {
        candidates.push(prefix.join("lib/slicer/image/build.sh"));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/image/build.sh"));
    first_existing(candidates).map_err(|searched| ImageError::NoBuilder { searched })
}

/// The agent to bake in by default: next to this executable, or under
/// `<prefix>/lib/slicer/`.
pub fn default_agent_path() -> Result<PathBuf, ImageError> {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("slicer-agent"));
    }
    if let Some(prefix) = exe_prefix() {
        candidates.push(prefix.join("lib/slicer/slicer-agent"));
    }
    candidates.push("/usr/local/lib/slicer/slicer-agent".into());
    first_existing(candidates).map_err(|searched| ImageError::NoAgent { searched })
}

/// Build (or confirm up to date) an image; progress goes to stderr.
pub async fn build(options: &BuildOptions) -> Result<(), ImageError> {
    let script = builder_script()?;
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| options.flavour.clone());
    let mut command = tokio::process::Command::new("bash");
    command
        .arg(&script)
        .args(["--flavour", &options.flavour, "--name", &name, "--data-dir"])
        .arg(options.data.root())
        .arg("--agent")
        .arg(&options.agent);
    if options.force {
        command.arg("--force");
    }
    let status = command.status().await.map_err(|source| ImageError::Spawn {
        script: script.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(ImageError::Failed { name, status })
    }
}
