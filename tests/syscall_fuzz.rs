//! Random system calls with random arguments must never take the kernel
//! down: no Rust panic, no hang, whatever a guest passes. Each program is
//! straight-line code of a few hundred calls, numbers drawn from the table,
//! arguments from a palette of edge values and pointers (good, unmapped,
//! straddling the end of the mapping, kernel-half). Runs under
//! `--deterministic`, so sleeps cost no host time and a seed reproduces:
//! SYSCALL_FUZZ_SEED=N SYSCALL_FUZZ_PROGRAMS=1 reruns one.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::elf;
use testkit::encode::{addi, auipc, ld};
use testkit::Rng;

const BASE: u64 = 0x10000;
/// Zeroed scratch space at the end of the image for pointer arguments.
const SCRATCH: usize = 64 << 10;
const CALLS: usize = 300;
const ECALL: u32 = 0x0000_0073;
const S1: u32 = 9;
const A0: u32 = 10;
const A7: u32 = 17;

/// Calls that could reach beyond the guest (host files through a host
/// directory mount) are left out, and so are the three that end a program
/// at once (exit, exit_group, and rt_sigreturn outside a handler), which
/// would cut most programs short; everything else in the table is fair game.
const EXCLUDED: &[&str] = &[
    "exit",
    "exit_group",
    "rt_sigreturn",
    "openat",
    "mkdirat",
    "mknodat",
    "unlinkat",
    "renameat",
    "renameat2",
    "linkat",
    "symlinkat",
    "fchmodat",
    "fchmodat2",
    "fchownat",
    "fchmod",
    "fchown",
    "truncate",
    "ftruncate",
    "mount",
    "umount2",
    "chroot",
    "pivot_root",
    "fallocate",
    "open_tree",
    "move_mount",
    "fsopen",
];

fn calls() -> Vec<u64> {
    // The kernel's own table: every number with a handler.
    (0..kernel::syscall::nr::COUNT as u64)
        .filter(|&nr| kernel::syscall::is_implemented(nr))
        .filter(|&nr| {
            let name = kernel::syscall::nr::NAMES[nr as usize].unwrap_or("");
            !EXCLUDED.contains(&name)
        })
        .collect()
}

fn argument(rng: &mut Rng, scratch: u64, end: u64) -> u64 {
    match rng.below(12) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => rng.below(64),
        4 => rng.next(),
        5 => rng.next() & 0xffff_ffff,
        6 | 7 => scratch + (rng.below(SCRATCH as u64 - 64) & !7),
        8 => end - rng.below(16),
        9 => 0x1000,
        10 => 0xffff_ffff_ffff_f000,
        _ => 1 << rng.below(64),
    }
}

/// A program making `CALLS` random calls through a table of arguments that
/// s1 walks, seven words (a0..a5, a7) per call.
fn program(rng: &mut Rng, numbers: &[u64]) -> Vec<u8> {
    const WORDS: usize = 7;
    let prologue = 2;
    let code_words = prologue + CALLS * (WORDS + 2) + 3;
    let table_offset = elf::HEADERS as usize + code_words * 4;
    let table_len = CALLS * WORDS * 8;
    let image_len = code_words * 4 + table_len + SCRATCH;
    let scratch = BASE + (table_offset + table_len) as u64;
    let end = BASE + elf::HEADERS + image_len as u64;

    // s1 = the table, pc-relative: auipc takes the upper bits, addi the
    // sign-extended lower twelve.
    let offset = (table_offset - elf::HEADERS as usize) as i32;
    let hi = (offset + 0x800) >> 12;
    let mut code = vec![auipc(S1, hi), addi(S1, S1, offset - (hi << 12))];
    let mut table = Vec::with_capacity(table_len);
    for _ in 0..CALLS {
        for (i, reg) in (A0..A0 + 6).chain([A7]).enumerate() {
            code.push(ld(reg, S1, (i * 8) as i32));
        }
        code.push(ECALL);
        code.push(addi(S1, S1, (WORDS * 8) as i32));
        for _ in 0..6 {
            table.extend_from_slice(&argument(rng, scratch, end).to_le_bytes());
        }
        let nr = numbers[rng.below(numbers.len() as u64) as usize];
        table.extend_from_slice(&nr.to_le_bytes());
    }
    code.extend([addi(A0, 0, 0), addi(A7, 0, 94), ECALL]); // exit_group(0)
    assert_eq!(code.len(), code_words);

    let mut image: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    image.extend_from_slice(&table);
    image.resize(image_len, 0);
    elf::executable(BASE, BASE + elf::HEADERS, &image)
}

#[test]
fn random_system_calls_never_break_the_kernel() {
    let programs: u64 = std::env::var("SYSCALL_FUZZ_PROGRAMS").map_or(60, |v| v.parse().unwrap());
    let first: u64 = std::env::var("SYSCALL_FUZZ_SEED").map_or(0, |v| v.parse().unwrap());
    let numbers = calls();
    let dir = std::env::temp_dir().join(format!("cleave-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut calls_made = 0;
    for seed in first..first + programs {
        let mut rng = Rng::new(seed);
        let path = dir.join(format!("fuzz-{seed}"));
        std::fs::write(&path, program(&mut rng, &numbers)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
            .args(["run", "--strace", "--deterministic", "--seed"])
            .arg(seed.to_string())
            .args(["--mem", "256M", "--clear-env"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // A file, not a pipe: the trace is larger than a pipe holds.
            .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(30) {
                child.kill().unwrap();
                panic!("seed {seed}: cleave still running after 30 s");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        // Guests may write any bytes to stderr too.
        let stderr =
            String::from_utf8_lossy(&std::fs::read(dir.join("stderr")).unwrap()).into_owned();
        assert!(
            !stderr.contains("panicked") && status.code() != Some(101),
            "seed {seed}: the kernel panicked ({status}):\n{stderr}"
        );
        // The trace proves the program ran: one line per call made.
        let made = stderr.lines().filter(|l| l.starts_with("[tid ")).count();
        assert!(
            made > 0,
            "seed {seed}: no system call ran ({status}):\n{stderr}"
        );
        calls_made += made;
    }
    // Some programs kill or unmap themselves early; most calls must run.
    println!("{calls_made} calls in {programs} programs");
    assert!(
        calls_made as u64 > programs * CALLS as u64 / 3,
        "only {calls_made} calls ran"
    );
    if std::env::var_os("SYSCALL_FUZZ_KEEP").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
