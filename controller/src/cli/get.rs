//! `slicer get hostgroups [-o yaml|json|table]`: what is stored.

use std::io::Write;

use clap::{Args, ValueEnum};

use super::connect::ConnectArgs;
use super::table::Table;

/// What to get.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Resource {
    /// Host groups.
    #[value(alias = "hostgroup", alias = "hg")]
    Hostgroups,
}

/// Output formats.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum Output {
    /// A table for people.
    #[default]
    Table,
    /// The stored groups as a config file `slicer apply` accepts.
    Yaml,
    /// JSON.
    Json,
}

/// Flags of `slicer get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// What to list.
    pub resource: Resource,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl GetArgs {
    /// Print the resource.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let mut out = std::io::stdout().lock();
        match (self.resource, self.output) {
            (Resource::Hostgroups, Output::Yaml) => {
                write!(out, "{}", client.stored_config().await?)?
            }
            (Resource::Hostgroups, Output::Json) => {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&client.host_groups().await?)?
                )?;
            }
            (Resource::Hostgroups, Output::Table) => {
                let mut table = Table::new(["NAME", "COUNT", "CPUS", "RAM", "GPUS", "ARCH"]);
                for g in client.host_groups().await? {
                    table.row([
                        g.name,
                        g.count.to_string(),
                        g.cpus.to_string(),
                        super::table::bytes(g.ram_bytes),
                        g.gpu_count.to_string(),
                        g.arch,
                    ]);
                }
                writeln!(out, "{table}")?;
            }
        }
        Ok(0)
    }
}
