//! Killing a test's process tree: a command started in a process group of
//! its own (`CommandExt::process_group(0)`) is killed with all that it
//! forked.

use std::process::Command;

/// SIGKILL to every process of group `pgid`. The `--` matters: procps's
/// kill takes `-KILL -PGID` without it as two options and kills nothing.
pub fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .status();
}
