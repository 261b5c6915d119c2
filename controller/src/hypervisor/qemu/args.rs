//! The QEMU command line for one VM: `microvm` machine, memfd-backed
//! shared memory (so the vhost-user vsock backend can map guest memory),
//! virtio-mmio block, net and vhost-user-vsock devices, and QMP.

use std::path::Path;

use crate::hypervisor::accel::Accel;
use crate::hypervisor::spec::VmSpec;

/// Sockets the command line refers to.
#[derive(Debug, Clone, Copy)]
pub struct QemuSockets<'a> {
    /// vhost-user socket served by `vhost-device-vsock`.
    pub vhost_user: &'a Path,
    /// QMP control socket QEMU listens on.
    pub qmp: &'a Path,
}

/// Build the arguments (without the program name).
pub fn qemu_args(
    spec: &VmSpec,
    accel: Accel,
    tsc_khz: Option<u64>,
    sockets: QemuSockets<'_>,
) -> Vec<String> {
    let mut cmdline = spec.boot.kernel_cmdline();
    // microvm has no reset the kernel's default reboot path reaches: the
    // guest prints "Restarting system" and hangs. A triple fault is a reset
    // QEMU sees, and with -no-reboot it ends the VM, as a reboot must.
    cmdline.push_str(" reboot=t");
    if accel == Accel::Tcg
        && let Some(khz) = tsc_khz
    {
        // Without it a TCG microvm guest may hang calibrating its TSC.
        cmdline.push_str(&format!(" tsc_early_khz={khz}"));
    }
    let (accel_arg, cpu) = match accel {
        Accel::Kvm => ("kvm", "host"),
        Accel::Tcg => ("tcg", "max"),
    };
    let mut args: Vec<String> = vec![
        "-name".into(),
        format!("{},process=slicer-{}", spec.name, spec.name),
        "-M".into(),
        "microvm,memory-backend=mem".into(),
        "-accel".into(),
        accel_arg.into(),
        "-cpu".into(),
        cpu.into(),
        "-m".into(),
        format!("{}M", spec.memory_mib),
        "-smp".into(),
        spec.vcpus.to_string(),
        "-object".into(),
        format!(
            "memory-backend-memfd,id=mem,size={}M,share=on",
            spec.memory_mib
        ),
        "-nodefaults".into(),
        "-no-user-config".into(),
        "-display".into(),
        "none".into(),
        // A guest reboot ends the VM's run; the controller decides what next.
        "-no-reboot".into(),
        "-chardev".into(),
        format!(
            "file,id=console,path={},append=on",
            spec.console_log.display()
        ),
        "-serial".into(),
        "chardev:console".into(),
        "-kernel".into(),
        spec.boot.kernel_bzimage.display().to_string(),
    ];
    if let Some(initrd) = &spec.boot.initrd {
        args.extend(["-initrd".into(), initrd.display().to_string()]);
    }
    args.extend([
        "-append".into(),
        cmdline,
        "-drive".into(),
        format!(
            "id=root,file={},format=raw,if=none,cache=unsafe",
            spec.root_disk.display()
        ),
        "-device".into(),
        "virtio-blk-device,drive=root".into(),
    ]);
    if let Some(nic) = &spec.nic {
        args.extend([
            "-netdev".into(),
            format!("tap,id=net0,ifname={},script=no,downscript=no", nic.tap),
            "-device".into(),
            format!("virtio-net-device,netdev=net0,mac={}", nic.mac),
        ]);
    }
    args.extend([
        "-chardev".into(),
        format!("socket,id=vsock0,path={}", sockets.vhost_user.display()),
        "-device".into(),
        "vhost-user-vsock-device,chardev=vsock0".into(),
        "-qmp".into(),
        format!("unix:{},server=on,wait=off", sockets.qmp.display()),
    ]);
    args
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::hypervisor::spec::{BootSource, GuestSettings, MacAddr, NicSpec};

    fn spec() -> VmSpec {
        VmSpec {
            name: "vm-1".into(),
            vcpus: 2,
            memory_mib: 512,
            boot: BootSource {
                kernel_bzimage: "/img/vmlinuz".into(),
                kernel_elf: "/img/vmlinux".into(),
                initrd: Some("/img/initrd.img".into()),
                guest: GuestSettings {
                    hostname: "vm-1".into(),
                    network: None,
                },
            },
            root_disk: "/disks/vm-1.img".into(),
            nic: Some(NicSpec {
                tap: "vmtap0".into(),
                mac: MacAddr([2, 0, 0, 0, 0, 1]),
            }),
            run_dir: "/run/slicer/vm-1".into(),
            console_log: "/var/log/slicer/vm-1.txt".into(),
        }
    }

    fn args(accel: Accel) -> Vec<String> {
        let vhost = PathBuf::from("/run/slicer/vm-1/vhost.sock");
        let qmp = PathBuf::from("/run/slicer/vm-1/qmp.sock");
        qemu_args(
            &spec(),
            accel,
            Some(2_596_124),
            QemuSockets {
                vhost_user: &vhost,
                qmp: &qmp,
            },
        )
    }

    fn value_after<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
        args.windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1].as_str())
            .collect()
    }

    #[test]
    fn tcg_gets_the_tsc_rate_and_shared_memory() {
        let args = args(Accel::Tcg);
        assert_eq!(value_after(&args, "-accel"), ["tcg"]);
        assert!(value_after(&args, "-append")[0].ends_with(" reboot=t tsc_early_khz=2596124"));
        assert_eq!(
            value_after(&args, "-object"),
            ["memory-backend-memfd,id=mem,size=512M,share=on"]
        );
        assert_eq!(value_after(&args, "-m"), ["512M"]);
        assert_eq!(value_after(&args, "-smp"), ["2"]);
    }

    #[test]
    fn kvm_uses_the_host_cpu_and_no_tsc_hint() {
        let args = args(Accel::Kvm);
        assert_eq!(value_after(&args, "-cpu"), ["host"]);
        assert!(!value_after(&args, "-append")[0].contains("tsc_early_khz"));
    }

    #[test]
    fn devices_point_at_the_spec_paths() {
        let args = args(Accel::Tcg);
        assert!(value_after(&args, "-netdev")[0].contains("ifname=vmtap0"));
        assert!(
            value_after(&args, "-device")
                .contains(&"virtio-net-device,netdev=net0,mac=02:00:00:00:00:01")
        );
        assert!(value_after(&args, "-drive")[0].contains("file=/disks/vm-1.img"));
        assert_eq!(value_after(&args, "-initrd"), ["/img/initrd.img"]);
        assert!(
            value_after(&args, "-chardev")
                .contains(&"socket,id=vsock0,path=/run/slicer/vm-1/vhost.sock")
        );
        assert!(args.contains(&"-no-reboot".to_string()));
    }
}
