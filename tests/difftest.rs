//! Differential test of the hart against qemu-riscv64.
//!
//! Each seed makes one program: random RV64GC instructions, run twelve
//! times over so that the JIT's blocks run them as well as the
//! interpreter, between a prologue that loads every register and an
//! epilogue that prints every register, fcsr and the data area (see
//! `difftest/gen.rs`). Each program
//! runs under `qemu-riscv64` and under `cleave run`; the bytes they print
//! must be identical. A mismatch names the seed, the first differing
//! register with both values, and the instructions.
//!
//! DIFFTEST_PROGRAMS (default 2000) sets how many programs run, and
//! DIFFTEST_SEED (default 0) the first seed, so `DIFFTEST_SEED=N
//! DIFFTEST_PROGRAMS=1` reruns one failure. Without qemu-riscv64 the test is
//! skipped, unless CI is set: in CI a missing tool is a failure.

#[path = "difftest/gen.rs"]
mod gen;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-riscv64";
const INSTRUCTIONS: usize = 200;
/// Generous: a program runs in milliseconds; a hart that loops forever must
/// not hang the suite.
const TIMEOUT: Duration = Duration::from_secs(20);
/// Stop after this many mismatches: the first few say it all.
const MAX_FAILURES: usize = 5;

/// Whether qemu-riscv64 can run; without it, a skip outside CI and a
/// failure in CI.
fn have_qemu() -> bool {
    let found = Command::new(QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        let why = format!("{QEMU} not found (Debian: apt-get install qemu-user)");
        testkit::skip("the differential test", &why);
    }
    found
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// Runs `cmd` with no stdin, killing it after TIMEOUT.
fn run(cmd: &mut Command) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let start = Instant::now();
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {TIMEOUT:?}; killed"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    child.wait_with_output().map_err(|e| e.to_string())
}

fn work_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("difftest");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a program as an executable file named `name` (tests running in
/// parallel use different names).
fn write_program(name: &str, program: &gen::Program) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = work_dir().join(name);
    std::fs::write(&path, &program.elf).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs the program under qemu, which must accept it: anything else is a
/// bug in the generator, not in the hart.
fn qemu_output(seed: u64, path: &Path) -> Vec<u8> {
    let out =
        run(Command::new(QEMU).arg(path)).unwrap_or_else(|e| panic!("seed {seed}: qemu: {e}"));
    assert!(
        out.status.success() && out.stdout.len() == gen::OUTPUT_BYTES,
        "seed {seed}: qemu rejected {}: {}, {} bytes out; stderr: {}",
        path.display(),
        out.status,
        out.stdout.len(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The reserved registers are never written.
    let reg = |r: usize| u64::from_le_bytes(out.stdout[8 * (r - 1)..][..8].try_into().unwrap());
    assert_eq!(
        (reg(2), reg(8)),
        (gen::SP_VALUE, gen::S0_VALUE),
        "seed {seed}: sp or s0 changed"
    );
    out.stdout
}

const ABI: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

/// The name of the doubleword at `offset` in a program's output.
fn describe(offset: usize) -> String {
    match offset / 8 {
        i @ 0..=30 => format!("x{} ({})", i + 1, ABI[i + 1]),
        i @ 31..=62 => format!("f{}", i - 31),
        63 => "fcsr".to_string(),
        _ => format!("data area + {:#x}", offset - gen::SAVE_BYTES),
    }
}

fn dword(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
}

/// Compares cleave's run with qemu's output; on a mismatch, explains it.
fn compare(
    seed: u64,
    program: &gen::Program,
    path: &Path,
    expected: &[u8],
    cleave: Result<Output, String>,
) -> Result<(), String> {
    let mut report = format!("seed {seed} ({}):\n", path.display());
    match cleave {
        Err(e) => writeln!(report, "  cleave: {e}").unwrap(),
        Ok(out) if out.status.success() && out.stdout == expected => return Ok(()),
        Ok(out) => {
            writeln!(
                report,
                "  cleave: {}, {} bytes out (qemu: {} bytes)",
                out.status,
                out.stdout.len(),
                expected.len()
            )
            .unwrap();
            if let Some(at) = expected.iter().zip(&out.stdout).position(|(a, b)| a != b) {
                let at = at / 8 * 8;
                let hex =
                    |v: Option<u64>| v.map_or("missing".to_string(), |v| format!("{v:#018x}"));
                writeln!(
                    report,
                    "  first difference: {}: qemu {}, cleave {}",
                    describe(at),
                    hex(dword(expected, at)),
                    hex(dword(&out.stdout, at))
                )
                .unwrap();
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            for line in stderr.lines().take(5) {
                writeln!(report, "  stderr: {line}").unwrap();
            }
        }
    }
    writeln!(
        report,
        "  the random instructions (riscv64-linux-gnu-objdump -D -b binary -m riscv:rv64 \
         --adjust-vma={:#x} {} disassembles the file):",
        gen::BASE,
        path.display()
    )
    .unwrap();
    for chunk in program.listing.chunks(6) {
        let line: Vec<String> = chunk
            .iter()
            .map(|&(at, bits, len)| match len {
                2 => format!("{at:x}: {bits:04x}    "),
                _ => format!("{at:x}: {bits:08x}"),
            })
            .collect();
        writeln!(report, "    {}", line.join("  ")).unwrap();
    }
    writeln!(
        report,
        "  rerun: DIFFTEST_SEED={seed} DIFFTEST_PROGRAMS=1 cargo test --test difftest"
    )
    .unwrap();
    Err(report)
}

#[test]
fn cleave_matches_qemu() {
    if !have_qemu() {
        return;
    }
    let first = env_u64("DIFFTEST_SEED", 0);
    let count = env_u64("DIFFTEST_PROGRAMS", 2000);
    let next = AtomicU64::new(first);
    let failed = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= first + count || failed.load(Ordering::Relaxed) >= MAX_FAILURES {
                    break;
                }
                let program = gen::generate(seed, INSTRUCTIONS);
                let path = write_program(&format!("seed-{seed}"), &program);
                let expected = qemu_output(seed, &path);
                let cleave = run(Command::new(env!("CARGO_BIN_EXE_cleave"))
                    .arg("run")
                    .arg(&path));
                match compare(seed, &program, &path, &expected, cleave) {
                    Ok(()) => std::fs::remove_file(&path).unwrap(),
                    Err(report) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        reports.lock().unwrap().push(report);
                    }
                }
            });
        }
    });
    let reports = reports.into_inner().unwrap();
    for report in &reports {
        eprintln!("{report}");
    }
    assert!(
        reports.is_empty(),
        "{} program(s) printed different bytes under cleave than under qemu{}",
        reports.len(),
        if reports.len() >= MAX_FAILURES {
            " (stopped early)"
        } else {
            ""
        }
    );
}

/// Checks the generator, the encoders and the ELF writer against qemu alone,
/// so they are known good whatever state the hart is in.
#[test]
fn qemu_runs_generated_programs() {
    if !have_qemu() {
        return;
    }
    // With no random instructions, a program prints its own initial state.
    let empty = gen::generate(0, 0);
    let path = write_program("qemu-empty", &empty);
    let out = qemu_output(0, &path);
    std::fs::remove_file(path).unwrap();
    let start = gen::elf_offset_of_state();
    let mut expected = empty.elf[start..].to_vec();
    // fcsr comes back without the junk the table puts above bit 7.
    let fcsr = gen::SAVE_BYTES - 8;
    expected[fcsr + 1..fcsr + 8].fill(0);
    assert_eq!(
        out, expected,
        "an empty program must print its initial state"
    );

    for seed in 1..=20 {
        let path = write_program(&format!("qemu-{seed}"), &gen::generate(seed, INSTRUCTIONS));
        qemu_output(seed, &path);
        std::fs::remove_file(path).unwrap();
    }
}
