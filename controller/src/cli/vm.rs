//! `slicer vm …`: list, launch, delete and exec in VMs through the API.

use std::io::{IsTerminal, Read, Write};

use bytes::Bytes;
use clap::{Args, Subcommand};
use slicer_api::types::{
    CreateNodeQuery, CreateNodeRequest, ExecQuery, OutputEncoding, TagFilter, WaitFor,
};

use super::connect::ConnectArgs;
use super::table::{Table, bytes};
use super::tag::TagCommand;
use super::vm_ops::{LogsArgs, ReadyArgs, RestoreArgs, ShutdownArgs, Verb, VmArgs, VmJsonArgs};

/// `slicer vm` verbs.
#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// List VMs.
    #[command(visible_alias = "ls", visible_alias = "l")]
    List(ListArgs),
    /// List host groups.
    Group(JsonArgs),
    /// Create a VM in a host group.
    #[command(visible_alias = "launch")]
    Add(AddArgs),
    /// Delete a VM.
    Delete(DeleteArgs),
    /// Run a command in a VM; its exit status becomes slicer's.
    Exec(ExecArgs),
    /// Describe a VM.
    #[command(visible_alias = "describe")]
    Get(VmJsonArgs),
    /// Guest agent health.
    Health(VmJsonArgs),
    /// Tail of a VM's serial console log.
    Logs(LogsArgs),
    /// Wait until a VM's agent answers (or its userdata finished).
    Ready(ReadyArgs),
    /// Stop a VM (its disk is kept; `relaunch` starts it again).
    Shutdown(ShutdownArgs),
    /// Freeze a VM's vCPUs.
    Pause(VmArgs),
    /// Continue a paused VM.
    Resume(VmArgs),
    /// Snapshot a VM to disk (needs a hypervisor that can snapshot).
    Suspend(VmArgs),
    /// Restore a suspended VM.
    Restore(RestoreArgs),
    /// Start a stopped persistent or service VM on its disk.
    Relaunch(VmJsonArgs),
    /// Read or edit a VM's tags.
    #[command(subcommand)]
    Tag(TagCommand),
    /// Background execs: exec, list, info, logs, kill, wait, remove.
    #[command(subcommand)]
    Bg(super::bg::BgCommand),
    /// Copy files or directories (-r) between the host and a VM.
    Cp(super::cp::CpArgs),
    /// Interactive shell in a VM (Ctrl+] leaves).
    Shell(super::shell::ShellArgs),
    /// Live guest metrics (CPU, load, memory, disk, network), refreshed.
    Top(super::top::TopArgs),
    /// Forward local ports to ports or sockets inside a VM.
    #[command(visible_alias = "port-forward")]
    Forward(super::forward::ForwardArgs),
}

/// `--json` plus the connection.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this host group.
    #[arg(long)]
    pub group: Option<String>,
    /// Only VMs with this tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only VMs with a tag starting with this.
    #[arg(long)]
    pub tag_prefix: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Host group (may be left out when there is only one).
    pub group: Option<String>,
    /// vCPUs (at most the group's).
    #[arg(long)]
    pub cpus: Option<u32>,
    /// RAM in MiB (at most the group's).
    #[arg(long)]
    pub ram_mb: Option<u64>,
    /// RAM in GiB.
    #[arg(long, conflicts_with = "ram_mb")]
    pub ram_gb: Option<u64>,
    /// RAM in bytes.
    #[arg(long, conflicts_with_all = ["ram_mb", "ram_gb"])]
    pub ram_bytes: Option<u64>,
    /// GPUs (at most the group's).
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Tags (`k=v`), repeatable.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Friendly name: adds the immutable `name=` tag.
    #[arg(long, short = 'n')]
    pub name: Option<String>,
    /// A secret to deliver, repeatable (default: all secrets).
    #[arg(long = "secret")]
    pub secret: Vec<String>,
    /// Secrets to deliver, comma-separated.
    #[arg(long = "secrets", value_delimiter = ',')]
    pub secrets: Vec<String>,
    /// Public key for the default user, repeatable.
    #[arg(long = "ssh-key")]
    pub ssh_keys: Vec<String>,
    /// GitHub user whose keys to import.
    #[arg(long)]
    pub import_user: Option<String>,
    /// First-boot script from a file.
    #[arg(long, conflicts_with = "userdata")]
    pub userdata_file: Option<std::path::PathBuf>,
    /// Keep the VM (stopped, with its disk) when its guest stops.
    #[arg(long)]
    pub persistent: bool,
    /// First-boot script.
    #[arg(long)]
    pub userdata: Option<String>,
    /// Wait until the agent answers.
    #[arg(long)]
    pub wait: bool,
    /// Wait until userdata finished (implies --wait).
    #[arg(long)]
    pub wait_userdata: bool,
    /// How long to wait.
    #[arg(long, default_value = "5m")]
    pub timeout: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The VM.
    pub vm: String,
    /// Its host group (default: from the hostname).
    pub group: Option<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Flags of `slicer vm exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The VM.
    pub vm: String,
    /// Shell to run the command through; `--shell ""` runs it directly.
    #[arg(long)]
    pub shell: Option<String>,
    /// User, directory and environment.
    #[command(flatten)]
    pub run_as: super::run_as::RunAs,
    /// The command.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// Connection.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl VmCommand {
    /// Run the verb; returns the exit code.
    pub async fn run(self) -> anyhow::Result<i32> {
        match self {
            Self::List(args) => args.run().await,
            Self::Group(args) => {
                let groups = args.connect.client()?.host_groups().await?;
                let mut out = std::io::stdout().lock();
                if args.json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&groups)?)?;
                } else {
                    let mut table = Table::new(["NAME", "COUNT", "CPUS", "RAM"]);
                    for g in groups {
                        table.row([
                            g.name,
                            g.count.to_string(),
                            g.cpus.to_string(),
                            bytes(g.ram_bytes),
                        ]);
                    }
                    write!(out, "{table}")?;
                }
                Ok(0)
            }
            Self::Add(args) => args.run().await,
            Self::Delete(args) => {
                let group = match args.group {
                    Some(group) => group,
                    None => crate::lifecycle::group_of(&args.vm)
                        .ok_or_else(|| {
                            anyhow::anyhow!("cannot tell the group of {}; name it", args.vm)
                        })?
                        .to_owned(),
                };
                let response = args.connect.client()?.delete_node(&group, &args.vm).await?;
                println_out(&response.message)?;
                Ok(0)
            }
            Self::Exec(args) => args.run().await,
            Self::Get(args) => args.describe().await,
            Self::Health(args) => args.health().await,
            Self::Logs(args) => args.run().await,
            Self::Ready(args) => args.run().await,
            Self::Shutdown(args) => args.run().await,
            Self::Pause(args) => args.power(Verb::Pause).await,
            Self::Resume(args) => args.power(Verb::Resume).await,
            Self::Suspend(args) => args.power(Verb::Suspend).await,
            Self::Restore(args) => args.run().await,
            Self::Relaunch(args) => args.relaunch().await,
            Self::Tag(cmd) => cmd.run().await,
            Self::Bg(cmd) => cmd.run().await,
            Self::Cp(args) => args.run().await,
            Self::Shell(args) => args.run().await,
            Self::Forward(args) => args.run().await,
            Self::Top(args) => args.run().await,
        }
    }
}

fn println_out(text: &str) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

impl ListArgs {
    async fn run(self) -> anyhow::Result<i32> {
        let filter = TagFilter {
            tag: self.tag,
            tag_prefix: self.tag_prefix,
        };
        let nodes = self
            .connect
            .client()?
            .nodes(self.group.as_deref(), &filter)
            .await?;
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&nodes)?)?;
            return Ok(0);
        }
        let mut table = Table::new(["HOSTNAME", "IP", "RAM", "CPUS", "STATUS", "CREATED", "TAGS"]);
        for n in nodes {
            table.row([
                n.hostname,
                n.ip,
                bytes(n.ram_bytes),
                n.cpus.to_string(),
                n.status,
                n.created_at,
                n.tags.join(","),
            ]);
        }
        write!(out, "{table}")?;
        Ok(0)
    }
}

impl AddArgs {
    async fn run(self) -> anyhow::Result<i32> {
        let client = self.connect.client()?;
        let group = match self.group {
            Some(group) => group,
            None => {
                let groups = client.host_groups().await?;
                match groups.as_slice() {
                    [only] => only.name.clone(),
                    _ => anyhow::bail!("there are {} host groups; name one", groups.len()),
                }
            }
        };
        let userdata = match &self.userdata_file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|err| {
                anyhow::anyhow!("cannot read userdata file {}: {err}", path.display())
            })?),
            None => self.userdata.clone(),
        };
        let mut tags = self.tags.clone();
        if let Some(name) = &self.name {
            tags.push(format!("name={name}"));
        }
        let named: Vec<String> = self.secret.iter().chain(&self.secrets).cloned().collect();
        let secrets = (!named.is_empty()).then_some(named);
        let wait = if self.wait_userdata {
            Some(WaitFor::Userdata)
        } else if self.wait {
            Some(WaitFor::Agent)
        } else {
            None
        };
        let waiting = wait.map(|_| {
            super::progress::Waiting::start(format!(
                "waiting for the new vm in {group} (up to {})…",
                self.timeout
            ))
        });
        let created = client
            .create_node(
                &group,
                &CreateNodeQuery {
                    wait,
                    timeout: wait.map(|_| self.timeout.clone()),
                },
                &CreateNodeRequest {
                    cpus: self.cpus,
                    ram_bytes: self
                        .ram_bytes
                        .or(self.ram_mb.map(|m| m << 20))
                        .or(self.ram_gb.map(|g| g << 30)),
                    gpu_count: self.gpus,
                    persistent: Some(self.persistent),
                    userdata,
                    tags,
                    secrets,
                    ssh_keys: self.ssh_keys,
                    import_user: self.import_user,
                    ..CreateNodeRequest::default()
                },
            )
            .await;
        drop(waiting);
        let created = created?;
        let mut out = std::io::stdout().lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string_pretty(&created)?)?;
        } else {
            writeln!(out, "VM created")?;
            writeln!(out, "Hostname: {}", created.hostname)?;
            writeln!(out, "Group: {}", created.hostgroup)?;
            writeln!(out, "IP: {}", created.ip)?;
            writeln!(out, "Persistent: {}", created.persistent)?;
            writeln!(out, "Created: {}", created.created_at)?;
        }
        Ok(0)
    }
}

impl ExecArgs {
    async fn run(self) -> anyhow::Result<i32> {
        let stdin = if std::io::stdin().is_terminal() {
            None
        } else {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes)?;
            Some(bytes)
        };
        let query = self.run_as.apply(ExecQuery {
            cmd: self.command.join(" "),
            shell: self.shell,
            stdin: stdin.as_ref().map(|_| true),
            stdio: Some(OutputEncoding::Base64),
            ..ExecQuery::default()
        });
        let mut frames = self
            .connect
            .client()?
            .exec(&self.vm, &query, Bytes::from(stdin.unwrap_or_default()))
            .await?;
        // A stream that ends without an exit frame is a failure.
        let mut exit_code = 1;
        while let Some(frame) = frames.next_frame().await {
            if let Some(code) = super::bg::print_frame(&frame?)? {
                exit_code = code;
            }
        }
        Ok(exit_code)
    }
}
