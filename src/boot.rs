//! `cleave` without a command: boots the initramfs.
//!
//! The guest's root is a tmpfs holding the archive's files and nothing of
//! the host (unlike `cleave run`, which shows the host read-only). PID 1 is
//! the archive's /sbin/init, as root, with Linux's initial environment; it
//! runs /etc/rc and then /bin/sh on the console (cleave's stdin and
//! stdout). When the shell exits, init exits with its status, the kernel
//! shuts down and cleave exits with that status.

use clap::Args;
use kernel::fs::{initramfs, Vfs};
use kernel::task::{Config, Kernel, Start};
use std::borrow::Cow;
use std::path::PathBuf;
use std::process::ExitCode;

/// userland/initramfs.cpio, built by userland/build.sh: /sbin/init, /bin/box
/// (the shell, the tools and the demos) with its links, /etc.
static INITRAMFS: &[u8] = include_bytes!("../userland/initramfs.cpio");

/// The kernel's options, for booting and for `cleave run`.
#[derive(Args)]
pub struct KernelArgs {
    /// The initramfs (an uncompressed newc cpio archive) instead of the
    /// embedded one: booted from its /sbin/init, or, with `run`, its /bin,
    /// /sbin and /etc beside the host's directories.
    #[arg(long, value_name = "FILE")]
    initrd: Option<PathBuf>,

    /// Guest physical memory, with an optional K, M or G suffix.
    #[arg(long, value_name = "SIZE", default_value = "2G", value_parser = crate::size::parse)]
    mem: usize,

    /// Print each system call to stderr, strace style.
    #[arg(long)]
    strace: bool,

    /// At exit, print what the kernel counted (instructions, faults,
    /// copy-on-write) to stderr.
    #[arg(long)]
    pub stats: bool,

    /// Virtual time and seeded randomness: the same bytes every run.
    #[arg(long)]
    deterministic: bool,

    /// The seed for --deterministic.
    #[arg(long, value_name = "N", requires = "deterministic")]
    seed: Option<u64>,
}

impl KernelArgs {
    pub fn config(&self) -> Config {
        Config {
            mem_bytes: self.mem,
            seed: self.deterministic.then_some(self.seed.unwrap_or(0)),
            trace: self
                .strace
                .then(|| Box::new(std::io::stderr()) as Box<dyn std::io::Write>),
        }
    }

    /// The initramfs and how to name it in messages; one line on stderr
    /// when --initrd cannot be read.
    pub fn initramfs(&self) -> Result<(String, Cow<'static, [u8]>), ExitCode> {
        match &self.initrd {
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => Ok((path.display().to_string(), bytes.into())),
                Err(e) => {
                    let e = e.to_string();
                    let reason = e.split(" (os error").next().unwrap_or(&e);
                    eprintln!("cleave: {}: {reason}", path.display());
                    Err(ExitCode::from(2))
                }
            },
            None => Ok(("the embedded initramfs".into(), INITRAMFS.into())),
        }
    }
}

pub fn boot(args: KernelArgs) -> ExitCode {
    let (name, archive) = match args.initramfs() {
        Ok(found) => found,
        Err(code) => return code,
    };
    let vfs = Vfs::new();
    if let Err(e) = initramfs::unpack(&vfs, &archive) {
        eprintln!("cleave: {name}: {e}");
        return ExitCode::from(2);
    }
    let init = match initramfs::read_file(&vfs, b"/sbin/init") {
        Ok(init) => init,
        Err(e) => {
            eprintln!("cleave: {name}: no /sbin/init to boot ({e:?})");
            return ExitCode::from(2);
        }
    };
    let mut kernel = Kernel::new(args.config(), vfs);
    // Linux starts init with argv [path] and this environment.
    let envp = vec![b"HOME=/".to_vec(), b"TERM=linux".to_vec()];
    if let Err(e) = kernel.boot_init(&init, vec![b"/sbin/init".to_vec()], envp, Start::init()) {
        eprintln!("cleave: {name}: /sbin/init: {e}");
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let shutdown = kernel.run();
    if args.stats {
        crate::print_stats(&kernel, started.elapsed());
    }
    match shutdown.init {
        Some(status) => ExitCode::from(status.shell_code() as u8),
        None => ExitCode::from(1),
    }
}
