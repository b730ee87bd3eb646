//! Process creation: fork, vfork, posix_spawn and pthread_create rates, and
//! fork's cost as the parent grows, under cleave and natively on this host
//! with the same C source (userland/src/procbench.c), side by side.
//!
//!     cargo bench --bench process
//!
//! BENCH_RUNS (default 3) runs per figure; procbench times its own loop, so
//! the figure is that of the last run and the runs warm the host's caches.
//! Record the figures in docs/benchmarks.md.

mod common;

use common::{env_u32, host_cpu, native_build, time};
use std::path::Path;
use std::process::Command;

/// (mode, parent's touched MiB, iterations)
const CASES: &[(&str, u32, u32)] = &[
    ("fork", 0, 200),
    ("fork", 64, 50),
    ("fork", 256, 20),
    ("fork", 1024, 10),
    ("vfork", 0, 200),
    ("vfork", 1024, 50),
    ("spawn", 0, 200),
    ("spawn", 1024, 50),
    ("thread", 0, 500),
];

/// The microseconds per iteration procbench reports on its one line.
fn micros(stdout: &[u8]) -> Option<f64> {
    let line = String::from_utf8_lossy(stdout);
    let value = line.split(": ").nth(1)?;
    value.trim().strip_suffix(" us")?.parse().ok()
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guest = root.join("userland/bin/procbench");
    let cleave = env!("CARGO_BIN_EXE_cleave");
    let runs = env_u32("BENCH_RUNS", 3);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    println!("process benchmark: best of {runs} runs, on {}", host_cpu());
    // posix_spawn runs `true`: natively the host build, in the guest the
    // riscv64 one beside procbench.
    let native = native_build("procbench", dir).zip(native_build("true", dir));
    if native.is_none() {
        println!("  no host C compiler (cc): native figures are missing");
    }
    println!(
        "  {:<8} {:>8} {:>12} {:>12} {:>8} {:>10}",
        "mode", "MiB", "native us", "cleave us", "ratio", "cleave s"
    );
    // "cleave s" is the whole `cleave run`, boot and the parent's setup included.
    for &(mode, mib, n) in CASES {
        let args = [mode.to_string(), mib.to_string(), n.to_string()];
        let theirs = native
            .as_ref()
            .and_then(|(exe, true_exe)| {
                time(Command::new(exe).args(&args).arg(true_exe), runs).ok()
            })
            .and_then(|o| micros(&o.stdout));
        let ours = time(
            Command::new(cleave)
                .args(["run", "--mem", "3G"])
                .arg(&guest)
                .args(&args),
            runs,
        );
        let ours = match ours {
            Ok(o) => match micros(&o.stdout) {
                Some(us) => (us, o.best.as_secs_f64()),
                None => {
                    println!(
                        "  {mode:<8} {mib:>8} cleave printed no figure: {}",
                        o.stderr.trim()
                    );
                    continue;
                }
            },
            Err(e) => {
                println!("  {mode:<8} {mib:>8} cleave failed: {e}");
                continue;
            }
        };
        let show = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        let (ours, whole) = ours;
        let ratio = theirs.map_or("n/a".to_string(), |b| format!("{:.2}x", ours / b));
        println!(
            "  {mode:<8} {mib:>8} {:>12} {:>12} {:>8} {:>10.3}",
            show(theirs),
            show(Some(ours)),
            ratio,
            whole
        );
    }
}
