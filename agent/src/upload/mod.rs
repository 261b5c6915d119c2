//! `slicer-agent upload check|finalise|abort`: the guest half of chunked
//! upload (`reference/slicer.md` §7.5). Clients upload 64 MiB chunks and a
//! manifest with binary copies, then exec this to assemble them.

mod chunks;
mod error;
mod finalise;
pub mod staging;

use std::path::PathBuf;

use slicer_api::types::upload::CHUNKED_COPY_CAPABILITY;

pub use error::UploadError;

const USAGE: &str = "usage: slicer-agent upload check | finalise --manifest PATH [--uid U] [--gid G] | abort --manifest PATH|DIR";

/// Flags of `finalise` and `abort`.
#[derive(Debug, Default)]
struct Flags {
    manifest: Option<PathBuf>,
    uid: Option<u32>,
    gid: Option<u32>,
}

fn parse(args: &[String]) -> Result<Flags, UploadError> {
    let mut flags = Flags::default();
    let mut args = args.iter();
    let id = |flag: &str, value: Option<&String>| {
        value
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| UploadError::Usage(format!("{flag} needs a number; {USAGE}")))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--manifest" => {
                let value = args.next().ok_or_else(|| {
                    UploadError::Usage(format!("--manifest needs a path; {USAGE}"))
                })?;
                flags.manifest = Some(value.into());
            }
            "--uid" => flags.uid = Some(id("--uid", args.next())?),
            "--gid" => flags.gid = Some(id("--gid", args.next())?),
            path if flags.manifest.is_none() && !path.starts_with('-') => {
                flags.manifest = Some(path.into());
            }
            other => {
                return Err(UploadError::Usage(format!(
                    "unknown argument {other:?}; {USAGE}"
                )));
            }
        }
    }
    Ok(flags)
}

fn manifest(flags: &Flags) -> Result<PathBuf, UploadError> {
    flags
        .manifest
        .clone()
        .ok_or_else(|| UploadError::Usage(format!("--manifest is required; {USAGE}")))
}

/// Run `slicer-agent upload ARGS…`; the process exit code.
pub fn run(args: &[String]) -> i32 {
    let result = match args.first().map(String::as_str) {
        Some("check") => {
            println!("{CHUNKED_COPY_CAPABILITY}");
            Ok(())
        }
        Some("finalise" | "finalize") => parse(&args[1..]).and_then(|flags| {
            let landed = finalise::finalise(&manifest(&flags)?, flags.uid, flags.gid)?;
            println!("{}", landed.display());
            Ok(())
        }),
        Some("abort") => parse(&args[1..]).and_then(|flags| finalise::abort(&manifest(&flags)?)),
        _ => Err(UploadError::Usage(USAGE.to_owned())),
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("slicer-agent upload: {}", crate::error::chain(&err));
            if matches!(err, UploadError::Usage(_)) {
                2
            } else {
                1
            }
        }
    }
}
