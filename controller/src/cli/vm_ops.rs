//! `slicer vm health|logs|ready|shutdown|pause|resume|suspend|restore|relaunch`.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use slicer_api::types::{LogsQuery, RestoreQuery, ShutdownAction, VmShutdownQuery};

use super::connect::ConnectArgs;
use super::table::Table;

/// A VM argument plus `--json` and the connection.
#[derive(Debug, Args)]
pub struct VmJsonArgs {
    /// The VM: a hostname or a `name=` tag value.
    pub vm: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A VM argument and the connection.
#[derive(Debug, Args)]
pub struct VmArgs {
    /// The VM: a hostname or a `name=` tag value.
    pub vm: String,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The VM.
    pub vm: String,
    /// Lines from the end; `0` = the whole log.
    #[arg(long, short = 'n', default_value_t = 20)]
    pub lines: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `--action` of `slicer vm shutdown`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ActionArg {
    /// Power off.
    Shutdown,
    /// Reboot (also ends the VM's run).
    Reboot,
}

/// Flags of `slicer vm shutdown`.
#[derive(Debug, Args)]
pub struct ShutdownArgs {
    /// The VM.
    pub vm: String,
    /// The guest path taken; both leave the VM stopped.
    #[arg(long, value_enum)]
    pub action: Option<ActionArg>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The VM.
    pub vm: String,
    /// Wait for the agent (`agent`).
    #[arg(long)]
    pub wait: Option<String>,
    /// How long to wait.
    #[arg(long)]
    pub timeout: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm ready`.
#[derive(Debug, Args)]
pub struct ReadyArgs {
    /// The VM.
    pub vm: String,
    /// Wait for the agent (the default).
    #[arg(long, conflicts_with = "userdata")]
    pub agent: bool,
    /// Wait until userdata has finished.
    #[arg(long)]
    pub userdata: bool,
    /// Give up after this long.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Time between checks.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Nanoseconds as a short human duration (`reference/slicer.md` §11 item 14).
fn uptime(nanos: i64) -> String {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(0);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

fn print(text: &str) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(0)
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<i32> {
    writeln!(
        std::io::stdout().lock(),
        "{}",
        serde_json::to_string_pretty(value)?
    )?;
    Ok(0)
}

impl VmJsonArgs {
    /// `slicer vm health`.
    pub async fn health(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let health = client.health(&hostname).await?;
        if self.json {
            return print_json(&health);
        }
        let mut table = Table::new([
            "HOSTNAME",
            "AGENT UPTIME",
            "SYSTEM UPTIME",
            "AGENT VERSION",
            "USERDATA RAN",
        ]);
        table.row([
            health.hostname,
            uptime(health.agent_uptime),
            uptime(health.system_uptime),
            health.agent_version,
            health.userdata_ran.to_string(),
        ]);
        print(&table.to_string())
    }

    /// `slicer vm get`: describe a VM.
    pub async fn describe(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let vm = client.describe(&hostname).await?;
        if self.json {
            return print_json(&vm);
        }
        let n = &vm.node;
        print(&format!(
            "Hostname: {}\nGroup: {}\nStatus: {}\nIP: {}\nSpecs: {} vCPU, {}\nPersistent: {}\nStorage: {}\nImage: {}\nNetwork: {}\nTags: {}\nCreated: {}\n",
            n.hostname,
            n.hostgroup,
            n.status,
            n.ip,
            n.cpus,
            super::table::bytes(n.ram_bytes),
            n.persistent,
            vm.storage,
            vm.image,
            vm.network.mode,
            n.tags.join(","),
            n.created_at
        ))
    }
}

impl LogsArgs {
    /// `slicer vm logs`.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let logs = client
            .logs(
                &hostname,
                &LogsQuery {
                    lines: Some(self.lines),
                },
            )
            .await?;
        if self.json {
            return print_json(&logs);
        }
        print(&logs.content)
    }
}

impl ShutdownArgs {
    /// `slicer vm shutdown`.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let action = self.action.map(|a| match a {
            ActionArg::Shutdown => ShutdownAction::Shutdown,
            ActionArg::Reboot => ShutdownAction::Reboot,
        });
        print(
            &client
                .shutdown(&hostname, &VmShutdownQuery { action })
                .await?,
        )
    }
}

impl RestoreArgs {
    /// `slicer vm restore`.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let query = RestoreQuery {
            wait: self.wait,
            timeout: self.timeout,
        };
        print(&client.restore(&hostname, &query).await?)
    }
}

/// Which lifecycle verb.
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    /// Freeze.
    Pause,
    /// Unfreeze.
    Resume,
    /// Snapshot to disk.
    Suspend,
}

impl VmArgs {
    /// `slicer vm pause|resume|suspend`.
    pub async fn power(self, verb: Verb) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let text = match verb {
            Verb::Pause => client.pause(&hostname).await?,
            Verb::Resume => client.resume(&hostname).await?,
            Verb::Suspend => client.suspend(&hostname).await?,
        };
        print(&text)
    }
}

impl VmJsonArgs {
    /// `slicer vm relaunch`.
    pub async fn relaunch(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let node = client.relaunch(&hostname).await?;
        if self.json {
            return print_json(&node);
        }
        print(&format!(
            "VM relaunched\nHostname: {}\nGroup: {}\nIP: {}\n",
            node.hostname, node.hostgroup, node.ip
        ))
    }
}

impl ReadyArgs {
    /// `slicer vm ready`: poll health until the agent (or userdata) is done.
    pub async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let hostname = self.connect.resolve_vm(&client, &self.vm).await?;
        let deadline = Instant::now() + self.timeout;
        let waiting = super::progress::Waiting::start(format!("waiting for {hostname}…"));
        loop {
            let last = match client.health(&hostname).await {
                Ok(health) if !self.userdata || health.userdata_ran => {
                    drop(waiting);
                    return print(&format!("{hostname} ready"));
                }
                Ok(_) => "userdata has not finished".to_owned(),
                Err(err) => err.to_string(),
            };
            waiting.update(format!("waiting for {hostname}: {last}"));
            if Instant::now() >= deadline {
                drop(waiting);
                anyhow::bail!(
                    "{hostname} was not ready within {}: {last}",
                    humantime::format_duration(self.timeout)
                );
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}
