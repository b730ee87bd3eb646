//! The CPU benchmark: userland/bin/bench (sorting, hashing, matrix multiply,
//! string search) under cleave and under qemu-riscv64 in the same run, with
//! the same C source compiled for the host as a reference.
//!
//!     cargo bench --bench cpu
//!
//! cargo builds cleave with the bench profile (release settings) and hands
//! this runner its path. BENCH_RUNS (default 5) sets how many runs each
//! contender gets; the best one counts. BENCH_SCALE (default 1) is passed to
//! the program. Guest MIPS come from cleave's retired-instruction count,
//! which `cleave run --stats` prints as `instret=N` on stderr.
//! Record the figures in docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Outcome {
    best: Duration,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `cmd` `runs` times; the fastest run counts. Fails on the first run
/// that does not exit successfully.
fn time(cmd: &mut Command, runs: u32) -> Result<Outcome, String> {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        best = best.min(start.elapsed());
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "{}: {}",
                out.status,
                stderr.lines().next().unwrap_or("")
            ));
        }
        last = Some(out);
    }
    let out = last.expect("at least one run");
    Ok(Outcome {
        best,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// The same C source built for the host, or None without a host compiler.
fn native_build(source: &Path) -> Option<PathBuf> {
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-native");
    let built = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(source)
        .status()
        .is_ok_and(|s| s.success());
    built.then_some(exe)
}

fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guest = root.join("userland/bin/bench");
    let cleave = env!("CARGO_BIN_EXE_cleave");
    let runs = env_u32("BENCH_RUNS", 5);
    let scale = env_u32("BENCH_SCALE", 1).to_string();
    println!(
        "cpu benchmark: userland/bin/bench {scale}, best of {runs} runs, on {}",
        host_cpu()
    );

    let row = |name: &str, result: &Result<Outcome, String>| match result {
        Ok(o) => println!("  {name:<28} {:>8.3} s", o.best.as_secs_f64()),
        Err(e) => println!("  {name:<28} failed: {e}"),
    };
    let native = match native_build(&root.join("userland/src/bench.c")) {
        Some(exe) => time(Command::new(exe).arg(&scale), runs),
        None => Err("no host C compiler (cc)".to_string()),
    };
    row("native (host cc -O2)", &native);
    let qemu = time(Command::new("qemu-riscv64").arg(&guest).arg(&scale), runs);
    row("qemu-riscv64", &qemu);
    let ours = time(
        Command::new(cleave)
            .arg("run")
            .arg("--stats")
            .arg(&guest)
            .arg(&scale),
        runs,
    );
    row("cleave", &ours);

    let (Ok(ours), Ok(qemu)) = (&ours, &qemu) else {
        std::process::exit(1);
    };
    if ours.stdout != qemu.stdout {
        println!("cleave printed different checksums than qemu-riscv64: its timing means nothing");
        println!(
            "qemu:\n{}cleave:\n{}",
            String::from_utf8_lossy(&qemu.stdout),
            String::from_utf8_lossy(&ours.stdout)
        );
        std::process::exit(1);
    }
    let secs = |o: &Outcome| o.best.as_secs_f64();
    println!(
        "  cleave / qemu-riscv64        {:>8.2}x",
        secs(ours) / secs(qemu)
    );
    if let Ok(native) = &native {
        println!(
            "  cleave / native              {:>8.1}x",
            secs(ours) / secs(native)
        );
    }
    // instret counts the whole run, so divide by the whole run's time.
    let instret = ours
        .stderr
        .lines()
        .flat_map(str::split_whitespace)
        .find_map(|field| field.strip_prefix("instret="))
        .and_then(|n| n.parse::<u64>().ok());
    match instret {
        Some(n) => println!(
            "  cleave guest MIPS            {:>8.0}  ({n} instructions)",
            n as f64 / secs(ours) / 1e6
        ),
        None => println!(
            "  cleave guest MIPS                 n/a  (cleave run --stats printed no instret=N)"
        ),
    }
}
