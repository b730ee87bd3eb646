//! The micro-benchmark: each kernel of userland/bin/microbench (one small
//! loop per instruction class) under cleave, under qemu-riscv64 and
//! natively, with a ratio per kernel.
//!
//!     cargo bench --bench micro
//!
//! The contenders take turns, run after run, so that a noisy machine slows
//! them alike; the median run of each counts. BENCH_RUNS (default 5) sets
//! the runs, BENCH_SCALE (default 1) is passed to the program, and
//! BENCH_BASELINE, the path of another cleave binary (an older build), adds
//! it as a fourth contender. cleave must print qemu's checksum, or its time
//! means nothing. Record the figures in docs/benchmarks.md.

mod common;

use common::{env_u32, host_cpu, native_build, time};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

struct Contender {
    name: &'static str,
    /// The program and the arguments before the kernel's.
    command: Vec<PathBuf>,
    times: Vec<Duration>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Contender {
    fn new(name: &'static str, command: &[&Path]) -> Contender {
        Contender {
            name,
            command: command.iter().map(|p| p.to_path_buf()).collect(),
            times: Vec::new(),
            stdout: Vec::new(),
            stderr: String::new(),
        }
    }

    fn run(&mut self, kernel: &str, scale: &str) -> Result<(), String> {
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..]).args([kernel, scale]);
        let run = time(&mut cmd, 1).map_err(|e| format!("{}: {e}", self.name))?;
        self.times.push(run.best);
        self.stdout = run.stdout;
        self.stderr = run.stderr;
        Ok(())
    }

    fn median(&self) -> f64 {
        let mut times = self.times.clone();
        times.sort();
        times[times.len() / 2].as_secs_f64()
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guest = root.join("userland/bin/microbench");
    let cleave = Path::new(env!("CARGO_BIN_EXE_cleave"));
    let runs = env_u32("BENCH_RUNS", 5).max(1);
    let scale = env_u32("BENCH_SCALE", 1).to_string();
    let Some(native) = native_build("microbench", Path::new(env!("CARGO_TARGET_TMPDIR"))) else {
        println!("micro benchmark: no host C compiler (cc)");
        std::process::exit(1);
    };
    let run = PathBuf::from("run");
    let qemu = PathBuf::from("qemu-riscv64");
    let mut contenders = vec![
        Contender::new("native", &[&native]),
        Contender::new("qemu", &[&qemu, &guest]),
        Contender::new("cleave", &[cleave, &run, &guest]),
    ];
    let baseline = std::env::var_os("BENCH_BASELINE").map(PathBuf::from);
    if let Some(base) = &baseline {
        contenders.push(Contender::new("baseline", &[base, &run, &guest]));
    }
    let kernels = match time(Command::new(&native).arg("list"), 1) {
        Ok(list) => String::from_utf8_lossy(&list.stdout).into_owned(),
        Err(e) => {
            println!("micro benchmark: {} list: {e}", native.display());
            std::process::exit(1);
        }
    };
    println!(
        "micro benchmark: userland/bin/microbench KERNEL {scale}, median of {runs} alternated runs, on {}",
        host_cpu()
    );
    let base_column = if baseline.is_some() {
        "  baseline  cleave/baseline"
    } else {
        ""
    };
    println!(
        "  {:<9} {:>8} {:>8} {:>8}  {:>12} {:>14}{base_column}",
        "kernel", "native", "qemu", "cleave", "cleave/qemu", "cleave/native"
    );
    let mut failed = false;
    for kernel in kernels.lines() {
        for c in contenders.iter_mut() {
            c.times.clear();
        }
        let result: Result<(), String> = (0..runs).try_for_each(|_| {
            contenders
                .iter_mut()
                .try_for_each(|c| c.run(kernel, &scale))
        });
        if let Err(e) = result {
            println!("  {kernel:<9} failed: {e}");
            failed = true;
            continue;
        }
        if contenders[2].stdout != contenders[1].stdout {
            let ours = &contenders[2];
            println!(
                "  {kernel:<9} cleave printed another checksum than qemu-riscv64: {}{}",
                String::from_utf8_lossy(&ours.stdout).trim(),
                ours.stderr.lines().next().unwrap_or("")
            );
            failed = true;
            continue;
        }
        let [native, qemu, ours] = [0, 1, 2].map(|i| contenders[i].median());
        let base = contenders.get(3).map_or(String::new(), |b| {
            format!("  {:>8.3}  {:>15.2}", b.median(), ours / b.median())
        });
        println!(
            "  {kernel:<9} {native:>8.3} {qemu:>8.3} {ours:>8.3}  {:>11.2}x {:>13.1}x{base}",
            ours / qemu,
            ours / native
        );
    }
    if failed {
        std::process::exit(1);
    }
}
