//! What the benchmark runners share: timing a command, building the same C
//! source for the host, describing the machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Outcome {
    pub best: Duration,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` `runs` times; the fastest run counts. Fails on the first run
/// that does not exit successfully.
pub fn time(cmd: &mut Command, runs: u32) -> Result<Outcome, String> {
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

pub fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
    })
}

/// userland/src/NAME.c built for the host as `native-NAME` in `dir`, or
/// None without a host compiler.
pub fn native_build(name: &str, dir: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("userland/src/{name}.c"));
    let exe = dir.join(format!("native-{name}"));
    let built = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(source)
        .status()
        .is_ok_and(|s| s.success());
    built.then_some(exe)
}

pub fn host_cpu() -> String {
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
