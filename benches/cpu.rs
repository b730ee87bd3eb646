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

mod common;

use common::{env_u32, host_cpu, native_build, time, Outcome};
use std::path::Path;
use std::process::Command;

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
    let native = match native_build("bench", Path::new(env!("CARGO_TARGET_TMPDIR"))) {
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
