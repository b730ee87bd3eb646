//! `--mem` bounds what a guest makes cleave hold: tmpfs files and pipe
//! buffers live in the guest's RAM, so however much a guest writes to /tmp
//! or to pipes, cleave's resident set stays about --mem plus a fixed
//! overhead, and running out is ENOSPC (tmpfs, half of RAM by default) or
//! ENOMEM, as on Linux.
//!
//! The resident set is the cleave process's peak (VmHWM in
//! /proc/PID/status), read from the host while the guest (`limits hold`,
//! userland/src/limits.c) holds everything it made, waiting for its stdin
//! to end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn limits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("userland/bin/limits")
}

/// Runs `limits hold ARGS` under `cleave run --mem MEM`; returns its lines
/// up to "ready" and cleave's VmHWM then, in KiB.
fn peak_while_holding(mem: &str, args: &[&str]) -> (Vec<String>, u64) {
    let limits = limits();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args(["run", "--mem", mem, limits.to_str().unwrap(), "hold"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cleave runs");
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let ready = line == "ready";
        lines.push(line);
        if ready {
            break;
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    // Closing stdin ends the guest.
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(lines.last().is_some_and(|l| l == "ready"), "{lines:?}");
    assert!(status.success(), "{status}: {lines:?}");
    (lines, hwm)
}

fn mib(kib: u64) -> u64 {
    kib >> 10
}

#[test]
fn tmpfs_and_pipes_stay_within_mem() {
    // What cleave holds with a guest that holds nothing: the program, the
    // hart's caches, the guest's few touched frames.
    let (_, base) = peak_while_holding("256M", &["0", "0", "0"]);
    // The guest writes 4 GiB to /tmp (it gets 128 MiB, half of RAM, then
    // ENOSPC) and then 40 processes fill up to 508 pipes each (up to
    // 1.3 GB), until RAM is all but full.
    let (lines, full) = peak_while_holding("256M", &["4096", "40", "508"]);
    let msg = format!(
        "{lines:?}: VmHWM {} MiB idle, {} MiB full",
        mib(base),
        mib(full)
    );
    eprintln!("{msg}");
    assert_eq!(lines[0], "tmpfs: 128 MiB, ENOSPC", "{msg}");
    let pipes: u64 = lines[1]
        .strip_prefix("pipes: ")
        .and_then(|l| l.strip_suffix(" MiB"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{msg}"));
    // The pipes really took what RAM had left (16 MiB is left free by the
    // guest, some goes to its processes).
    assert!(pipes >= 64, "{msg}");
    // Everything came out of the guest's 256 MiB: at most that over the
    // idle peak, plus 32 MiB for what cleave keeps per page, process and
    // descriptor on the host (page maps, tables, 20,000 pipes).
    assert!(full <= base + (256 << 10) + (32 << 10), "{msg}");
}

#[test]
fn a_full_tmpfs_is_enospc() {
    let out = Command::new(env!("CARGO_BIN_EXE_cleave"))
        .args([
            "run",
            "--mem",
            "64M",
            limits().to_str().unwrap(),
            "tmpfs_full",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("cleave runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(
        stdout,
        "filled: ENOSPC\n\
         written is the free space: yes\n\
         statfs free: 0\n\
         sparse truncate when full: ok\n\
         write at its end: ENOSPC\n\
         truncate to half: ok\n\
         write again: ok\n\
         all free again: yes\n\
         files until: ENOSPC\n\
         as many as statfs had free: yes\n\
         a long symlink: ENOSPC\n\
         links until: ENOSPC\n\
         as many as files: yes\n\
         rmdir: ok\n\
         all inodes free again: yes\n"
    );
}
