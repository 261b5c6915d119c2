//! The flags that say who a guest command runs as, where and with what
//! environment, shared by `slicer vm exec` and `slicer vm bg exec`.

use clap::Args;
use slicer_api::types::ExecQuery;

/// `--uid`, `--gid`, `--cwd` and `--env K=V`.
#[derive(Debug, Clone, Default, Args)]
pub struct RunAs {
    /// Run as this uid.
    #[arg(long)]
    pub uid: Option<u32>,
    /// Run with this gid.
    #[arg(long)]
    pub gid: Option<u32>,
    /// Working directory.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Extra environment `K=V`, repeatable.
    #[arg(long = "env")]
    pub env: Vec<String>,
}

impl RunAs {
    /// `query` with these flags set.
    pub fn apply(self, query: ExecQuery) -> ExecQuery {
        ExecQuery {
            uid: self.uid,
            gid: self.gid,
            cwd: self.cwd,
            env: self.env,
            ..query
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_land_in_the_query_and_leave_the_rest() {
        let run_as = RunAs {
            uid: Some(1000),
            gid: Some(100),
            cwd: Some("/tmp".into()),
            env: vec!["A=1".into()],
        };
        let query = run_as.apply(ExecQuery {
            cmd: "id".into(),
            ..ExecQuery::default()
        });
        assert_eq!(query.cmd, "id");
        assert_eq!((query.uid, query.gid), (Some(1000), Some(100)));
        assert_eq!(query.cwd.as_deref(), Some("/tmp"));
        assert_eq!(query.env, vec!["A=1".to_owned()]);
    }
}
