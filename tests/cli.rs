//! The `cleave` command line: bad input is one line naming the file and
//! the reason, with a shell's exit status (127 not found, 126 cannot
//! execute).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cleave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(args)
        .output()
        .expect("cleave runs")
}

/// A fresh directory for this test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cleave-cli-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn executable(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `cleave run PATH` and checks the exit status and that stderr is
/// exactly one line naming the file and containing `reason`.
fn fails(path: &str, status: i32, reason: &str) {
    let out = cleave(&["run", path]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(status), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    assert!(
        stderr.starts_with(&format!("cleave: {path}: ")),
        "{stderr:?}"
    );
    assert!(stderr.contains(reason), "{stderr:?} lacks {reason:?}");
    assert!(out.stdout.is_empty());
}

/// The first 64 bytes of an ELF header: class, byte order, machine.
fn elf_header(class: u8, machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = class;
    h[5] = 1;
    h[6] = 1;
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

#[test]
fn missing_file_is_127() {
    let dir = temp_dir("missing");
    fails(
        dir.join("nope").to_str().unwrap(),
        127,
        "No such file or directory",
    );
}

#[test]
fn directory_is_126() {
    let dir = temp_dir("dir");
    fails(dir.to_str().unwrap(), 126, "Is a directory");
}

#[test]
fn file_without_execute_permission_is_126() {
    let dir = temp_dir("noexec");
    let path = dir.join("prog");
    fs::write(&path, elf_header(2, 243)).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fails(path.to_str().unwrap(), 126, "Permission denied");
}

#[test]
fn x86_64_elf_is_126() {
    fails("/bin/true", 126, "not a riscv64 executable (x86-64 ELF)");
}

#[test]
fn riscv32_elf_is_126() {
    let dir = temp_dir("rv32");
    let mut header = elf_header(1, 243);
    header.truncate(52);
    let path = executable(&dir, "rv32", &header);
    fails(&path, 126, "not a riscv64 executable (32-bit RISC-V ELF)");
}

#[test]
fn truncated_elf_is_126() {
    let dir = temp_dir("truncated");
    let path = executable(&dir, "short", &elf_header(2, 243)[..30]);
    fails(&path, 126, "truncated ELF file");
    // A whole header whose program headers lie past the end of the file.
    let mut header = elf_header(2, 243);
    header[32..40].copy_from_slice(&64u64.to_le_bytes());
    header[54..56].copy_from_slice(&56u16.to_le_bytes());
    header[56..58].copy_from_slice(&3u16.to_le_bytes());
    let path = executable(&dir, "nophdrs", &header);
    fails(
        &path,
        126,
        "truncated ELF file (program headers past end of file)",
    );
}

#[test]
fn non_elf_is_126() {
    let dir = temp_dir("text");
    let path = executable(&dir, "script", b"echo hello\n");
    fails(&path, 126, "not an ELF executable");
    let path = executable(&dir, "empty", b"");
    fails(&path, 126, "not an ELF executable");
}

#[test]
fn a_bad_interpreter_is_named() {
    let dir = temp_dir("interp");
    let path = executable(&dir, "missing", b"#!/nonexistent/interp -x\necho hi\n");
    fails(
        &path,
        127,
        "interpreter /nonexistent/interp: No such file or directory",
    );
    // Without --root the host's programs are visible, and not riscv64.
    let path = executable(&dir, "host", b"#!/usr/bin/env sh\necho hi\n");
    fails(
        &path,
        126,
        "interpreter /usr/bin/env: not a riscv64 executable (x86-64 ELF)",
    );
}

#[test]
fn bad_options_are_one_line() {
    for args in [
        &["run", "--mem", "lots", "/bin/true"][..],
        &["run", "--mem", "1K", "/bin/true"],
        &["run", "--env", "NOEQUALS", "/bin/true"],
        &["run"],
        &["frobnicate"],
    ] {
        let out = cleave(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("cleave: "), "{stderr:?}");
    }
}

#[test]
fn help_shows_examples() {
    let out = cleave(&["run", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("Examples:") && help.contains("--strace"));
}

/// A static riscv64 executable holding `code` followed by `data`, loaded at
/// 0x10000 with one read+execute segment: enough to test the kernel end to
/// end without a cross compiler.
fn tiny_elf(code: &[u32], data: &[u8]) -> Vec<u8> {
    const BASE: u64 = 0x10000;
    const HEADERS: u64 = 64 + 56;
    let mut f = elf_header(2, 243);
    f[24..32].copy_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    f[32..40].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    f[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    f[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    f[56..58].copy_from_slice(&1u16.to_le_bytes()); // e_phnum
    let size = HEADERS + 4 * code.len() as u64 + data.len() as u64;
    let mut ph = Vec::new();
    ph.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    ph.extend_from_slice(&5u32.to_le_bytes()); // PF_R | PF_X
    for value in [0, BASE, BASE, size, size, 0x1000] {
        ph.extend_from_slice(&value.to_le_bytes());
    }
    f.extend_from_slice(&ph);
    for insn in code {
        f.extend_from_slice(&insn.to_le_bytes());
    }
    f.extend_from_slice(data);
    f
}

const ECALL: u32 = 0x0000_0073;
const LI_A7_EXIT: u32 = 0x05d0_0893; // addi a7, zero, 93
const LI_A7_EXIT_GROUP: u32 = 0x05e0_0893; // addi a7, zero, 94

fn run_tiny(name: &str, code: &[u32], data: &[u8], args: &[&str]) -> Output {
    let dir = temp_dir(name);
    let path = executable(&dir, name, &tiny_elf(code, data));
    let (options, program_args): (Vec<&str>, Vec<&str>) =
        args.iter().partition(|a| a.starts_with("--"));
    let mut argv = vec!["run"];
    argv.extend(options);
    argv.push(&path);
    argv.extend(program_args);
    cleave(&argv)
}

#[test]
fn exit_status_is_the_programs() {
    // ld a0, 0(sp): exit(argc)
    let out = run_tiny("argc", &[0x0001_3503, LI_A7_EXIT, ECALL], b"", &["a", "b"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stderr.is_empty());
}

#[test]
fn write_reaches_stdout_and_strace_shows_it() {
    let hello = [
        0x0010_0513, // addi a0, zero, 1
        0x0000_0597, // auipc a1, 0
        0x0205_8593, // addi a1, a1, 32: the data after the code
        0x0060_0613, // addi a2, zero, 6
        0x0400_0893, // addi a7, zero, 64 (write)
        ECALL,
        0x0070_0513, // addi a0, zero, 7
        LI_A7_EXIT_GROUP,
        ECALL,
    ];
    let out = run_tiny("hello", &hello, b"hello\n", &[]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.stdout, b"hello\n");

    let out = run_tiny("hello-strace", &hello, b"hello\n", &["--strace"]);
    assert_eq!(out.stdout, b"hello\n");
    let trace = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        trace,
        // tid 2: PID 1 is init, whose system calls (and its child's until
        // the exec) are not traced.
        "[tid 2] write(1, \"hello\\n\", 6) = 6\n[tid 2] exit_group(7) = ?\n"
    );
}

#[test]
fn unknown_system_calls_are_enosys() {
    let code = [
        0x1f40_0893, // addi a7, zero, 500
        ECALL,
        0x40a0_0533, // sub a0, zero, a0
        LI_A7_EXIT,
        ECALL,
    ];
    let out = run_tiny("enosys", &code, b"", &["--strace"]);
    assert_eq!(out.status.code(), Some(38));
    let trace = String::from_utf8(out.stderr).unwrap();
    assert!(
        trace.contains(") = -1 ENOSYS (Function not implemented)"),
        "{trace}"
    );
}

/// A program dies of a fault signal with a shell's message and 128 + N.
fn dies(name: &str, code: &[u32], status: i32, message: &str) {
    let out = run_tiny(name, code, b"", &[]);
    assert_eq!(out.status.code(), Some(status));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("{message}\n")
    );
}

#[test]
fn faults_kill_with_the_right_signal() {
    dies("segv", &[0x0000_2023], 139, "Segmentation fault"); // sw zero, 0(zero)
    dies("ill", &[0x0000_0000], 132, "Illegal instruction");
    dies("trap", &[0x0010_0073], 133, "Trace/breakpoint trap"); // ebreak
                                                                // addi a0, sp, 1; amoadd.w zero, zero, (a0): a misaligned atomic.
    dies("bus", &[0x0011_0513, 0x0005_202f], 135, "Bus error");
    // jr zero: an instruction fetch fault at address 0.
    dies("fetch", &[0x0000_0067], 139, "Segmentation fault");
}

#[test]
fn runs_the_committed_hello() {
    let hello = concat!(env!("CARGO_MANIFEST_DIR"), "/userland/bin/hello");
    if !Path::new(hello).exists() {
        return;
    }
    let out = cleave(&["run", hello]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("hello"));
}

#[test]
fn a_program_directly_in_the_hosts_tmp_runs() {
    // The guest's /tmp is its own; the program alone is linked into it,
    // whether named absolutely or from a cwd there.
    let name = format!("cleave-cli-{}-hello", std::process::id());
    let path = std::env::temp_dir().join(&name);
    let hello = Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/hello");
    fs::copy(hello, &path).unwrap();
    let out = cleave(&["run", path.to_str().unwrap()]);
    assert_eq!(out.stdout, b"hello, world\n", "{out:?}");
    let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(["run", &format!("./{name}")])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"hello, world\n", "{out:?}");
    fs::remove_file(path).unwrap();
}

#[test]
fn the_program_inherits_umask_and_ignored_signals() {
    // As a program started from a host shell would; SIGPIPE, which Rust's
    // runtime ignores in cleave itself, is not passed on.
    let box_ = Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/box");
    let script = format!(
        "umask 027; trap '' HUP; exec {} run {} cat /proc/self/status",
        env!("CARGO_BIN_EXE_cleave"),
        box_.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let status = String::from_utf8(out.stdout).unwrap();
    assert!(status.contains("Umask:\t0027\n"), "{status}");
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:\t"))
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("{status}"));
    let (sighup, sigpipe) = (1 << 0, 1 << 12);
    assert_eq!(ignored & (sighup | sigpipe), sighup, "{status}");
}
