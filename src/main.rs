//! `cleave`: runs riscv64 Linux programs on a kernel of its own.

mod boot;
mod size;

use clap::{Args, Parser, Subcommand};
use kernel::fs::Vfs;
use kernel::task::signal::Signal;
use kernel::task::{ExecRequest, ExitStatus, Kernel, Start, INIT_IMAGE};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cleave",
    version,
    about = "A Linux-compatible kernel for riscv64 programs, running as an ordinary program",
    after_help = "Without a command, cleave boots its embedded initramfs: init, then a shell \
        on the console (type help).\n\n\
        Examples:\n  \
        cleave                             boot to a shell prompt\n  \
        echo 'fork; exit' | cleave         run shell commands from stdin\n  \
        cleave --deterministic --strace    the same bytes every boot, every system call\n  \
        cleave --initrd my.cpio            boot another archive (newc cpio with /sbin/init)\n  \
        cleave run ./hello                 run a static riscv64 program\n  \
        cleave run --strace ./hello a b    trace its system calls\n  \
        cleave run --mem 512M --clear-env --env HOME=/ ./prog",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(flatten)]
    kernel: boot::KernelArgs,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a riscv64 Linux program from a host path.
    #[command(after_help = "Examples:\n  \
        cleave run ./hello\n  \
        cleave run --strace ./hello\n  \
        cleave run --env LANG=C --mem 256M ./bench -n 10\n  \
        cleave run --root ./rootfs /bin/sh        a host directory as /\n  \
        cleave run --mount ./out:/out:rw ./prog   a writable host directory at /out")]
    Run(RunArgs),
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    kernel: boot::KernelArgs,

    /// Add K=V to the program's environment (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    env: Vec<(OsString, OsString)>,

    /// Start from an empty environment instead of cleave's own.
    #[arg(long)]
    clear_env: bool,

    /// Host directory DIR is the guest's / (read-only; DIR:rw lets the
    /// guest write to it); /proc, /dev and /tmp are the kernel's own.
    /// PROGRAM is then a path in the guest.
    #[arg(long, value_name = "DIR[:rw]", value_parser = parse_root)]
    root: Option<HostDir>,

    /// Mount host directory HOST at guest path GUEST, read-only unless
    /// :rw (repeatable).
    #[arg(long = "mount", value_name = "HOST:GUEST[:ro|rw]", value_parser = parse_mount)]
    mounts: Vec<HostDir>,

    /// The program (a host path; a guest path with --root) and its
    /// arguments.
    #[arg(
        value_name = "PROGRAM",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

fn parse_env(s: &str) -> Result<(OsString, OsString), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.into(), value.into())),
        _ => Err("expected K=V".into()),
    }
}

/// A host directory for --root or --mount.
#[derive(Clone)]
struct HostDir {
    host: PathBuf,
    /// Where the guest sees it (absolute).
    guest: Vec<u8>,
    rw: bool,
}

/// Splits a trailing ":ro" or ":rw" off `s`.
fn access_mode(s: &str) -> (&str, bool) {
    if let Some(rest) = s.strip_suffix(":rw") {
        (rest, true)
    } else {
        (s.strip_suffix(":ro").unwrap_or(s), false)
    }
}

fn host_dir(path: &str) -> Result<PathBuf, String> {
    let dir = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
    if !dir.is_dir() {
        return Err(format!("{path}: not a directory"));
    }
    Ok(dir)
}

fn parse_root(s: &str) -> Result<HostDir, String> {
    let (dir, rw) = access_mode(s);
    Ok(HostDir {
        host: host_dir(dir)?,
        guest: b"/".to_vec(),
        rw,
    })
}

fn parse_mount(s: &str) -> Result<HostDir, String> {
    let (spec, rw) = access_mode(s);
    let Some((host, guest)) = spec.rsplit_once(':').filter(|(h, _)| !h.is_empty()) else {
        return Err("expected HOST:GUEST[:ro|rw]".into());
    };
    if !guest.starts_with('/') {
        return Err(format!("{guest}: the guest path must be absolute"));
    }
    Ok(HostDir {
        host: host_dir(host)?,
        guest: guest.as_bytes().to_vec(),
        rw,
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One line: clap's message up to its usage hint, joined.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!(
                "cleave: {}",
                message.join(" ").trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Some(Command::Run(args)) => run(args),
        None => boot::boot(cli.kernel),
    }
}

/// One line of counters, `name=value`, for people and for benches/.
fn print_stats(kernel: &Kernel, elapsed: std::time::Duration) {
    let instret = kernel.hart.instret();
    let seconds = elapsed.as_secs_f64();
    let m = &kernel.phys.stats;
    eprintln!(
        "cleave: stats: instret={instret} seconds={seconds:.3} mips={:.0} zero_fill_faults={} \
         cow_faults={} pages_copied={} cow_reused={}",
        instret as f64 / seconds / 1e6,
        m.zero_fill_faults,
        m.cow_faults,
        m.pages_copied,
        m.cow_reused,
    );
}

/// A user error found before boot: one line, and the shell's exit code.
struct Refusal {
    line: String,
    code: u8,
}

/// What exec would say about PROGRAM, checked before boot so that the user
/// hears of a bad file by name and with its reason (init's exec would only
/// see an errno): the file, then each interpreter it names (a "#!" line's,
/// a dynamic program's PT_INTERP), found in the guest's file system. A
/// file of the initramfs is exec's to check.
fn precheck(vfs: &Vfs, rooted: bool, program: &OsStr) -> Result<(), Refusal> {
    use kernel::loader::ExecError;
    let refuse = |what: String, e: ExecError| Refusal {
        line: format!("cleave: {}: {what}{e}", program.to_string_lossy()),
        code: e.shell_code() as u8,
    };
    let in_guest = |path: &[u8]| {
        vfs.host_path_of(path).map_err(|e| match e {
            kernel::errno::Errno::ENOENT => ExecError::NotFound,
            e => ExecError::Errno(e),
        })
    };
    // Under --root the program is a guest path; else a host one.
    let mut file = match rooted {
        true => in_guest(program.as_bytes()).map_err(|e| refuse(String::new(), e))?,
        false => Some(PathBuf::from(program)),
    };
    let mut what = String::new();
    for _ in 0..=kernel::task::exec::MAX_SCRIPT_DEPTH {
        let Some(host) = file else {
            return Ok(());
        };
        let Some(interp) = kernel::loader::precheck(&host).map_err(|e| refuse(what, e))? else {
            return Ok(());
        };
        what = format!("interpreter {}: ", String::from_utf8_lossy(&interp));
        file = in_guest(&interp).map_err(|e| {
            let mut refusal = refuse(what.clone(), e);
            if !rooted {
                refusal.line += " (give a riscv64 system that has it with --root DIR)";
            }
            refusal
        })?;
    }
    Ok(())
}

fn run(args: RunArgs) -> ExitCode {
    let mut command = args.command.into_iter();
    let program = command.next().expect("clap requires PROGRAM");
    let mut env: Vec<(OsString, OsString)> = if args.clear_env {
        Vec::new()
    } else {
        std::env::vars_os().collect()
    };
    for (key, value) in args.env {
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
    }
    let request = ExecRequest {
        path: PathBuf::from(&program),
        argv: std::iter::once(program.clone())
            .chain(command)
            .map(OsString::into_vec)
            .collect(),
        envp: env
            .into_iter()
            .map(|(mut key, value)| {
                key.push("=");
                key.push(value);
                key.into_vec()
            })
            .collect(),
    };
    kernel::fs::host::raise_fd_limit();
    // The guest's / is --root's directory, or the host's directories with
    // the initramfs's /bin, /sbin and /etc beside them.
    let mut vfs = match &args.root {
        Some(root) => match Vfs::rooted_at(&root.host, root.rw) {
            Ok(vfs) => vfs,
            Err(e) => {
                eprintln!("cleave: --root {}: {e}", root.host.display());
                return ExitCode::from(2);
            }
        },
        None => {
            let (name, archive) = match args.kernel.initramfs() {
                Ok(found) => found,
                Err(code) => return code,
            };
            match Vfs::host_view_beside(&archive) {
                Ok(vfs) => vfs,
                Err(e) => {
                    eprintln!("cleave: {name}: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    for m in &args.mounts {
        if let Err(e) = vfs.mount_host_at(&m.guest, m.host.clone(), !m.rw) {
            let why = match e {
                kernel::errno::Errno::ENOTDIR => "not a directory in the guest",
                _ => "no such directory in the guest, and it cannot be made there",
            };
            eprintln!(
                "cleave: --mount {}: {}: {why}",
                m.host.display(),
                String::from_utf8_lossy(&m.guest),
            );
            return ExitCode::from(2);
        }
    }
    // The guest sees the host read-only at the same paths, except /tmp,
    // /dev and /proc (see kernel::fs); a program or cwd below those is
    // mounted where it is, and a program directly in one is linked in.
    if let (None, Ok(cwd)) = (&args.root, std::env::current_dir()) {
        let program = cwd.join(&request.path);
        for dir in [
            program.parent().map(Path::to_path_buf),
            std::fs::canonicalize(&program)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            Some(cwd),
        ]
        .into_iter()
        .flatten()
        {
            vfs.expose_host(&dir);
        }
        vfs.expose_host_file(&program);
    }
    if let Err(refusal) = precheck(&vfs, args.root.is_some(), &program) {
        eprintln!("{}", refusal.line);
        return ExitCode::from(refusal.code);
    }
    let mut kernel = Kernel::new(args.kernel.config(), vfs);
    // PID 1 is the embedded init, which runs [PROGRAM, ARGS...] as its
    // first child and reaps everything.
    let mut init_argv = vec![b"init".to_vec()];
    init_argv.extend(request.argv);
    if let Err(e) = kernel.boot_init(INIT_IMAGE, init_argv, request.envp, Start::host()) {
        eprintln!("cleave: init: {e}");
        return ExitCode::from(1);
    }
    let started = std::time::Instant::now();
    let terminal = kernel::fs::tty::SavedTerminal::save();
    let shutdown = kernel.run();
    terminal.restore();
    if args.kernel.stats {
        print_stats(&kernel, started.elapsed());
    }
    let status = match (shutdown.main, shutdown.init) {
        (Some(status), _) => status,
        (None, _) if shutdown.deadlock => {
            return ExitCode::from(1);
        }
        (None, Some(init)) => {
            eprintln!("cleave: init ended before the program: {init:?}");
            init
        }
        (None, None) => return ExitCode::from(1),
    };
    // Like a shell, say how the program died, except for the deaths that
    // are routine in a pipeline or at the keyboard.
    match status {
        ExitStatus::Killed(sig) if sig != Signal::SIGPIPE && sig != Signal::SIGINT => {
            eprintln!("{}", sig.description());
        }
        ExitStatus::Dumped(sig) => eprintln!("{} (core dumped)", sig.description()),
        _ => {}
    }
    ExitCode::from(status.shell_code() as u8)
}
