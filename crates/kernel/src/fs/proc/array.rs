//! What procfs files say, made from the kernel at open time; the formats
//! are Linux 6.1's (fs/proc/array.c, task_mmu.c, meminfo.c, stat.c).

use super::{File, Kind, ProcEntry, Snapshot};
use crate::errno::{Errno, KResult};
use crate::fs::pipe::PipeEnd;
use crate::fs::FsType;
use crate::loader::stack::USER_HZ;
use crate::mm::{Backing, Mm, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::task::block::TaskState;
use crate::task::signal::{Signal, NSIG, SIG_DFL, SIG_IGN};
use crate::task::{Kernel, ThreadGroup, Tid};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::rc::Rc;
use std::time::Duration;

/// Refreshes what procfs knows of the processes and of the caller; the
/// system-call layer calls it before resolving a path.
pub fn sync(k: &Kernel) {
    let mut procs: BTreeMap<Tid, ProcEntry> = BTreeMap::new();
    for g in k.processes() {
        let tgid = g.borrow().tgid;
        procs.insert(
            tgid,
            ProcEntry {
                threads: Vec::new(),
                group: Rc::downgrade(g),
                files: Default::default(),
                fs: Default::default(),
            },
        );
    }
    for t in k.tasks() {
        let tgid = t.group.borrow().tgid;
        if let Some(p) = procs.get_mut(&tgid) {
            if p.threads.is_empty() || t.tid == tgid {
                p.files = Rc::downgrade(&t.files);
                p.fs = Rc::downgrade(&t.fs);
            }
            if t.tid == tgid {
                p.threads.insert(0, t.tid);
            } else {
                p.threads.push(t.tid);
            }
        }
    }
    let mut snap = k.vfs.proc.borrow_mut();
    snap.procs = procs;
    let me = k.current();
    snap.tid = me.tid;
    snap.tgid = me.group.borrow().tgid;
    snap.root = Some(me.fs.borrow().root.clone());
}

fn ticks(d: Duration) -> u64 {
    (d.as_nanos() / (1_000_000_000 / u128::from(USER_HZ))) as u64
}

/// The thread that speaks for a process: the leader, or any live one.
fn main_thread(snap: &Snapshot, pid: Tid) -> Option<Tid> {
    snap.procs.get(&pid)?.threads.first().copied()
}

/// A thread's state letter and name, as Linux's task_state_array.
fn state(k: &Kernel, g: &ThreadGroup, tid: Option<Tid>) -> (char, &'static str) {
    if g.zombie.is_some() {
        return ('Z', "zombie");
    }
    if g.stopped {
        return ('T', "stopped");
    }
    match tid.and_then(|t| k.task(t)) {
        Some(t) if matches!(t.state, TaskState::Blocked(_)) => ('S', "sleeping"),
        Some(_) => ('R', "running"),
        None => ('X', "dead"),
    }
}

/// Signal sets: (ignored, caught) from the handlers.
fn sig_sets(k: &Kernel, tid: Option<Tid>) -> (u64, u64) {
    let Some(t) = tid.and_then(|t| k.task(t)) else {
        return (0, 0);
    };
    let hand = t.sighand.borrow();
    let (mut ign, mut cgt) = (0, 0);
    for n in 1..NSIG {
        let sig = Signal(n);
        match hand.action(sig).handler {
            SIG_DFL => {}
            SIG_IGN => ign |= sig.bit(),
            _ => cgt |= sig.bit(),
        }
    }
    (ign, cgt)
}

/// The VMAs of the executable: below the heap (see `maps`).
fn exe_span(mm: &Mm) -> (u64, u64, u64) {
    let (mut start, mut end, mut code_end) = (0, 0, 0);
    for v in mm.vmas().filter(|v| v.end <= mm.start_brk()) {
        if start == 0 {
            start = v.start;
        }
        end = v.end;
        if v.prot & PROT_EXEC != 0 {
            code_end = v.end;
        }
    }
    (start, code_end, end)
}

fn stack_vma(mm: &Mm) -> Option<(u64, u64)> {
    let at = mm.args.start.max(1) - 1;
    mm.find_vma(at).map(|v| (v.start, v.end))
}

/// /proc/PID/stat and /proc/PID/task/TID/stat: do_task_stat's 52 fields.
fn stat(k: &Kernel, g: &ThreadGroup, pid: Tid, tid: Option<Tid>, who: Option<Tid>) -> String {
    let (st, _) = state(k, g, who);
    let threads = k.threads_of(pid);
    let cpu = match tid {
        Some(t) => k.task(t).map_or(Duration::ZERO, |t| t.cpu_time),
        None => {
            threads
                .iter()
                .filter_map(|&t| k.task(t))
                .map(|t| t.cpu_time)
                .sum::<Duration>()
                + g.dead_threads_time
        }
    };
    let task = who.and_then(|t| k.task(t));
    let mm = task.map(|t| t.mm.clone());
    let mm = mm.as_ref().map(|m| m.borrow());
    let (vsize, rss, minflt, start_code, end_code, start_stack, brk, args, env) = match &mm {
        Some(mm) if g.zombie.is_none() => {
            let s = mm.stats();
            let (start, code_end, _) = exe_span(mm);
            (
                mm.total_vm_pages() * PAGE_SIZE,
                s.resident_pages,
                s.zero_fill_faults + s.cow_faults,
                start,
                code_end,
                mm.args.start,
                (mm.start_brk(), mm.current_brk()),
                mm.args.clone(),
                mm.env.clone(),
            )
        }
        _ => (0, 0, 0, 0, 0, 0, (0, 0), 0..0, 0..0),
    };
    let pending = task.map_or(0, |t| t.pending.set) | g.pending.set;
    let blocked = task.map_or(0, |t| t.sigmask);
    let (ign, cgt) = sig_sets(k, who);
    let exit_code = g.zombie.map_or(0, |z| z.wait_status());
    let comm = String::from_utf8_lossy(&g.comm);
    let shown = tid.unwrap_or(pid);
    // Every process has the console as its terminal while the host has
    // one (the guest has nothing else); tpgid is its foreground group.
    let tty = (crate::fs::tty::Terminal::console() != crate::fs::tty::Terminal::Emulated)
        .then(|| k.vfs.console.borrow().fg_pgrp);
    format!(
        "{shown} ({comm}) {st} {ppid} {pgid} {sid} {tty} {tpgid} {flags} {minflt} 0 0 0 {utime} 0 {cutime} 0 \
         20 0 {nthreads} 0 {starttime} {vsize} {rss} 18446744073709551615 {start_code} {end_code} \
         {start_stack} 0 0 {pending} {blocked} {ign} {cgt} 0 0 0 {exit_signal} 0 0 0 0 0 0 \
         {start_data} {end_data} {start_brk} {arg_start} {arg_end} {env_start} {env_end} \
         {exit_code}\n",
        ppid = g.ppid,
        pgid = g.pgid,
        tty = tty.map_or(0, |_| crate::fs::Device::Console.rdev()),
        tpgid = tty.map_or(-1, i64::from),
        sid = g.sid,
        // PF_RANDOMIZE is not set: nothing is randomized.
        flags = 0,
        utime = ticks(cpu),
        cutime = ticks(g.children_time),
        nthreads = threads.len().max(1),
        starttime = ticks(g.start_time),
        exit_signal = g.exit_signal,
        start_data = end_code,
        end_data = brk.0,
        start_brk = brk.0,
        arg_start = args.start,
        arg_end = args.end,
        env_start = env.start,
        env_end = env.end,
    )
}

fn kb(out: &mut String, name: &str, kb: u64) {
    let _ = writeln!(out, "{name}\t{kb:>8} kB");
}

/// /proc/PID/status: task_state, task_mem, task_sig, task_cap, then
/// cleave's memory counters.
fn status(k: &Kernel, g: &ThreadGroup, pid: Tid, tid: Option<Tid>, who: Option<Tid>) -> String {
    let (st, name) = state(k, g, who);
    let task = who.and_then(|t| k.task(t));
    let c = &g.cred;
    let umask = task.map_or(0o022, |t| t.fs.borrow().umask);
    let mut out = String::new();
    let _ = writeln!(out, "Name:\t{}", String::from_utf8_lossy(&g.comm));
    let _ = writeln!(out, "Umask:\t{umask:04o}");
    let _ = writeln!(out, "State:\t{st} ({name})");
    let _ = writeln!(out, "Tgid:\t{pid}\nNgid:\t0");
    let _ = writeln!(out, "Pid:\t{}", tid.unwrap_or(pid));
    let _ = writeln!(out, "PPid:\t{}\nTracerPid:\t0", g.ppid);
    let _ = writeln!(out, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
    let _ = writeln!(out, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
    let _ = writeln!(out, "FDSize:\t{}", fd_size(task));
    let groups: Vec<String> = c.groups.iter().map(u32::to_string).collect();
    let _ = writeln!(out, "Groups:\t{}", groups.join(" "));
    let _ = writeln!(out, "NStgid:\t{pid}\nNSpid:\t{}", tid.unwrap_or(pid));
    let _ = writeln!(out, "NSpgid:\t{}\nNSsid:\t{}", g.pgid, g.sid);
    let mm = task.map(|t| t.mm.clone());
    let stats = match mm.as_ref().map(|m| m.borrow()) {
        Some(mm) if g.zombie.is_none() => {
            let s = mm.stats();
            let kib = |pages: u64| pages * PAGE_SIZE / 1024;
            let total = kib(mm.total_vm_pages());
            let stack = stack_vma(&mm).map_or(0, |(a, b)| (b - a) / 1024);
            let (start, code_end, exe_end) = exe_span(&mm);
            let exe = code_end.saturating_sub(start) / 1024;
            let rss = kib(s.resident_pages);
            kb(&mut out, "VmPeak:", total);
            kb(&mut out, "VmSize:", total);
            kb(&mut out, "VmLck:", 0);
            kb(&mut out, "VmPin:", 0);
            kb(&mut out, "VmHWM:", rss);
            kb(&mut out, "VmRSS:", rss);
            kb(&mut out, "RssAnon:", rss);
            kb(&mut out, "RssFile:", 0);
            kb(&mut out, "RssShmem:", 0);
            let data = total.saturating_sub(stack + exe_end.saturating_sub(start) / 1024);
            kb(&mut out, "VmData:", data);
            kb(&mut out, "VmStk:", stack);
            kb(&mut out, "VmExe:", exe);
            kb(&mut out, "VmLib:", 0);
            kb(&mut out, "VmPTE:", kib(s.page_table_pages));
            kb(&mut out, "VmSwap:", 0);
            kb(&mut out, "HugetlbPages:", 0);
            Some(s)
        }
        _ => None,
    };
    let _ = writeln!(out, "CoreDumping:\t0\nTHP_enabled:\t0");
    let _ = writeln!(out, "Threads:\t{}", k.threads_of(pid).len().max(1));
    let sigpending = g.rlimits.get(crate::task::rlimit::RLIMIT_SIGPENDING).cur;
    let _ = writeln!(out, "SigQ:\t0/{sigpending}");
    let (ign, cgt) = sig_sets(k, who);
    let _ = writeln!(out, "SigPnd:\t{:016x}", task.map_or(0, |t| t.pending.set));
    let _ = writeln!(out, "ShdPnd:\t{:016x}", g.pending.set);
    let _ = writeln!(out, "SigBlk:\t{:016x}", task.map_or(0, |t| t.sigmask));
    let _ = writeln!(out, "SigIgn:\t{ign:016x}\nSigCgt:\t{cgt:016x}");
    // Root has every capability (CAP_LAST_CAP is 40 in 6.1), others none.
    let caps: u64 = if c.euid == 0 { (1 << 41) - 1 } else { 0 };
    let _ = writeln!(out, "CapInh:\t{:016x}", 0);
    let _ = writeln!(out, "CapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}");
    let _ = writeln!(
        out,
        "CapBnd:\t{:016x}\nCapAmb:\t{:016x}",
        (1u64 << 41) - 1,
        0
    );
    let _ = writeln!(out, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0");
    let _ = writeln!(out, "Speculation_Store_Bypass:\tunknown");
    let _ = writeln!(out, "SpeculationIndirectBranch:\tunknown");
    let _ = writeln!(out, "Cpus_allowed:\t1\nCpus_allowed_list:\t0");
    let _ = writeln!(out, "Mems_allowed:\t1\nMems_allowed_list:\t0");
    let _ = writeln!(
        out,
        "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0"
    );
    // cleave's own: the copy-on-write and demand-paging counters of the
    // address space (docs/architecture.md).
    if let Some(s) = stats {
        let _ = writeln!(out, "CowFaults:\t{}", s.cow_faults);
        let _ = writeln!(out, "CowPagesCopied:\t{}", s.pages_copied);
        let _ = writeln!(out, "CowPagesReused:\t{}", s.cow_reused);
        let _ = writeln!(out, "ZeroFillFaults:\t{}", s.zero_fill_faults);
    }
    out
}

/// FDSize: the fd table's size, which grows in powers of two from 64.
fn fd_size(task: Option<&crate::task::Task>) -> u64 {
    let Some(t) = task else { return 0 };
    let files = t.files.borrow();
    let top = (0..crate::task::files::NR_OPEN as u64)
        .rev()
        .find(|&fd| files.entry(fd).is_ok())
        .unwrap_or(0);
    (top + 1).next_power_of_two().max(64)
}

/// A range of a process's memory (cmdline, environ).
fn memory(
    k: &mut Kernel,
    who: Option<Tid>,
    range: impl Fn(&Mm) -> std::ops::Range<u64>,
) -> Vec<u8> {
    let Some(mm) = who.and_then(|t| k.task(t)).map(|t| t.mm.clone()) else {
        return Vec::new();
    };
    let r = range(&mm.borrow());
    let mut buf = vec![0; (r.end - r.start).min(1 << 20) as usize];
    let ok = mm
        .borrow_mut()
        .read_user(&mut k.phys, r.start, &mut buf)
        .is_ok();
    if ok {
        buf
    } else {
        Vec::new()
    }
}

/// /proc/PID/limits (Linux's proc_pid_limits).
fn limits(g: &ThreadGroup) -> String {
    use crate::task::rlimit::RLIM_INFINITY;
    const ROWS: [(&str, &str); 16] = [
        ("Max cpu time", "seconds"),
        ("Max file size", "bytes"),
        ("Max data size", "bytes"),
        ("Max stack size", "bytes"),
        ("Max core file size", "bytes"),
        ("Max resident set", "bytes"),
        ("Max processes", "processes"),
        ("Max open files", "files"),
        ("Max locked memory", "bytes"),
        ("Max address space", "bytes"),
        ("Max file locks", "locks"),
        ("Max pending signals", "signals"),
        ("Max msgqueue size", "bytes"),
        ("Max nice priority", ""),
        ("Max realtime priority", ""),
        ("Max realtime timeout", "us"),
    ];
    let mut out = format!(
        "{:<25} {:<20} {:<20} {:<10}\n",
        "Limit", "Soft Limit", "Hard Limit", "Units"
    );
    let show = |v: u64| {
        if v == RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    for (i, (name, unit)) in ROWS.iter().enumerate() {
        let r = g.rlimits.get(i);
        let _ = write!(out, "{name:<25} {:<20} {:<20} ", show(r.cur), show(r.max));
        if !unit.is_empty() {
            let _ = write!(out, "{unit:<10}");
        }
        out.push('\n');
    }
    out
}

/// smaps' figures for one VMA (Linux's show_smap), after its maps line.
fn smap(k: &Kernel, mm: &Mm, v: &crate::mm::Vma, out: &mut String) {
    let (mut rss, mut pss) = (0, 0);
    let mut kinds = [0u64; 4]; // shared clean, shared dirty, private clean, private dirty
    let mut anon = 0;
    for p in mm.pages_of(&k.phys, v).filter(|p| !p.zero) {
        rss += PAGE_SIZE;
        pss += PAGE_SIZE / u64::from(p.mapcount.max(1));
        kinds[usize::from(p.mapcount < 2) * 2 + usize::from(p.dirty)] += PAGE_SIZE;
        if !p.file {
            anon += PAGE_SIZE;
        }
    }
    let mut row = |name: &str, bytes: u64| {
        let _ = writeln!(out, "{name:<16}{:>8} kB", bytes / 1024);
    };
    row("Size:", v.end - v.start);
    row("KernelPageSize:", PAGE_SIZE);
    row("MMUPageSize:", PAGE_SIZE);
    row("Rss:", rss);
    row("Pss:", pss);
    row("Shared_Clean:", kinds[0]);
    row("Shared_Dirty:", kinds[1]);
    row("Private_Clean:", kinds[2]);
    row("Private_Dirty:", kinds[3]);
    row("Referenced:", rss);
    row("Anonymous:", anon);
    for name in [
        "LazyFree:",
        "AnonHugePages:",
        "ShmemPmdMapped:",
        "FilePmdMapped:",
        "Shared_Hugetlb:",
        "Private_Hugetlb:",
        "Swap:",
        "SwapPss:",
        "Locked:",
    ] {
        row(name, 0);
    }
    let _ = writeln!(out, "THPeligible:    0");
    let mut flags = String::from("VmFlags:");
    for (on, name) in [
        (v.prot & PROT_READ != 0, "rd"),
        (v.prot & PROT_WRITE != 0, "wr"),
        (v.prot & PROT_EXEC != 0, "ex"),
        (v.shared, "sh"),
        (true, "mr"),
        (v.may_write, "mw"),
        (true, "me"),
        (v.shared && v.may_write, "ms"),
        (v.growsdown, "gd"),
        (v.dontfork, "dc"),
        (v.wipeonfork, "wf"),
    ] {
        if on {
            flags.push(' ');
            flags.push_str(name);
        }
    }
    let _ = writeln!(out, "{flags} ");
}

/// /proc/PID/maps: show_map_vma's lines; a name is padded to column 73.
/// Device and inode numbers are not shown (00:00 0). /proc/PID/smaps
/// (`smaps`) follows each line with the VMA's figures.
fn maps(k: &Kernel, who: Option<Tid>, smaps: bool) -> String {
    let Some(t) = who.and_then(|t| k.task(t)) else {
        return String::new();
    };
    let mm = t.mm.borrow();
    let stack = stack_vma(&mm);
    let mut out = String::new();
    for v in mm.vmas() {
        // A file's pages name the file (the page cache's object).
        let file = v.file().map(|(name, _)| name);
        let offset = match &v.backing {
            Backing::Object { pgoff, .. } => pgoff * PAGE_SIZE,
            Backing::Anonymous => 0,
        };
        let mut line = format!(
            "{:08x}-{:08x} {}{}{}{} {:08x} 00:00 0 ",
            v.start,
            v.end,
            if v.prot & PROT_READ != 0 { 'r' } else { '-' },
            if v.prot & PROT_WRITE != 0 { 'w' } else { '-' },
            if v.prot & PROT_EXEC != 0 { 'x' } else { '-' },
            if v.shared { 's' } else { 'p' },
            offset,
        );
        let name: &[u8] = if let Some(file) = &file {
            file
        } else if v.start <= mm.current_brk()
            && v.end >= mm.start_brk()
            && v.start >= mm.start_brk()
        {
            b"[heap]"
        } else if Some((v.start, v.end)) == stack {
            b"[stack]"
        } else if v.start == mm.vdso && mm.vdso != 0 {
            b"[vdso]"
        } else {
            b""
        };
        if !name.is_empty() {
            while line.len() < 73 {
                line.push(' ');
            }
            line.push_str(&String::from_utf8_lossy(name));
        }
        line.push('\n');
        out.push_str(&line);
        if smaps {
            smap(k, &mm, v, &mut out);
        }
    }
    out
}

/// Linux's mangle for /proc/mounts: space, tab, newline and backslash
/// as octal escapes.
fn mangle(s: &[u8]) -> String {
    let mut out = String::new();
    for &b in s {
        match b {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(out, "\\{b:03o}");
            }
            _ => out.push(b as char),
        }
    }
    out
}

fn mounts(k: &Kernel, who: Option<Tid>) -> String {
    let Some(root) = who
        .and_then(|t| k.task(t))
        .map(|t| t.fs.borrow().root.clone())
    else {
        return String::new();
    };
    let mut out = String::new();
    for m in k.vfs.mounts(&root) {
        let _ = writeln!(
            out,
            "{} {} {} {} 0 0",
            mangle(&m.source),
            mangle(&m.point),
            m.fstype.name(),
            match (m.readonly, m.fstype) {
                // Host directories are nodev (fs::host).
                (true, FsType::Host) => "ro,nodev",
                (false, FsType::Host) => "rw,nodev",
                (true, _) => "ro",
                (false, _) => "rw",
            }
        );
    }
    out
}

fn meminfo(k: &Kernel) -> String {
    let kib = |frames: u64| frames * PAGE_SIZE / 1024;
    let total = kib(k.phys.total_frames() as u64);
    let free = kib(k.phys.free_frames() as u64);
    let anon = kib(k.phys.stats.resident_pages);
    let tables = kib(k.phys.stats.page_table_pages);
    let mut out = String::new();
    for (name, v) in [
        ("MemTotal:", total),
        ("MemFree:", free),
        ("MemAvailable:", free),
        ("Buffers:", 0),
        ("Cached:", 0),
        ("SwapCached:", 0),
        ("Active:", anon),
        ("Inactive:", 0),
        ("Active(anon):", anon),
        ("Inactive(anon):", 0),
        ("Active(file):", 0),
        ("Inactive(file):", 0),
        ("Unevictable:", 0),
        ("Mlocked:", 0),
        ("SwapTotal:", 0),
        ("SwapFree:", 0),
        ("Dirty:", 0),
        ("Writeback:", 0),
        ("AnonPages:", anon),
        ("Mapped:", 0),
        ("Shmem:", 0),
        ("KReclaimable:", 0),
        ("Slab:", 0),
        ("SReclaimable:", 0),
        ("SUnreclaim:", 0),
        ("KernelStack:", 0),
        ("PageTables:", tables),
        ("CommitLimit:", total),
        ("Committed_AS:", anon),
    ] {
        let _ = writeln!(out, "{name:<16}{v:>8} kB");
    }
    out
}

/// struct sysinfo (riscv64, 112 bytes): the figures of /proc/uptime,
/// /proc/meminfo and /proc/loadavg, in bytes (mem_unit 1).
pub fn sysinfo(k: &Kernel) -> [u8; 112] {
    let mut b = [0; 112];
    let page = PAGE_SIZE;
    let up = k.clock.monotonic(&k.hart).as_secs();
    b[..8].copy_from_slice(&up.to_le_bytes());
    let total = k.phys.total_frames() as u64 * page;
    let free = k.phys.free_frames() as u64 * page;
    b[32..40].copy_from_slice(&total.to_le_bytes());
    b[40..48].copy_from_slice(&free.to_le_bytes());
    let threads = k.tasks().count().min(u16::MAX as usize) as u16;
    b[80..82].copy_from_slice(&threads.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    b
}

/// CPU time of every process, live and reaped: (busy, idle) in ticks.
fn cpu_ticks(k: &Kernel) -> (u64, u64) {
    let mut busy: Duration = k.tasks().map(|t| t.cpu_time).sum();
    for g in k.processes() {
        let g = g.borrow();
        busy += g.dead_threads_time + g.children_time;
    }
    let up = k.clock.monotonic(&k.hart);
    (ticks(busy), ticks(up.saturating_sub(busy)))
}

fn kernel_stat(k: &Kernel) -> String {
    let (busy, idle) = cpu_ticks(k);
    let cpu = format!("{busy} 0 0 {idle} 0 0 0 0 0 0");
    let boot = k
        .clock
        .realtime(&k.hart)
        .saturating_sub(k.clock.monotonic(&k.hart));
    let running = k
        .tasks()
        .filter(|t| matches!(t.state, TaskState::Runnable))
        .count();
    let last = k.tasks().map(|t| t.tid).max().unwrap_or(0);
    format!(
        "cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime {}\nprocesses {last}\n\
         procs_running {running}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        boot.as_secs()
    )
}

fn loadavg(k: &Kernel) -> String {
    let running = k
        .tasks()
        .filter(|t| matches!(t.state, TaskState::Runnable))
        .count();
    let total = k.tasks().count();
    let last = k.tasks().map(|t| t.tid).max().unwrap_or(0);
    format!("0.00 0.00 0.00 {running}/{total} {last}\n")
}

const CPUINFO: &str = "processor\t: 0\nhart\t\t: 0\nisa\t\t: rv64imafdc_zicsr_zifencei\n\
    mmu\t\t: sv39\nuarch\t\t: cleave\nmvendorid\t: 0x0\nmarchid\t\t: 0x0\nmimpid\t\t: 0x0\n\
    hart isa\t: rv64imafdc_zicsr_zifencei\n\n";

/// Reads /proc/PID/pagemap at `offset`: one 64-bit entry per page of the
/// address space (see `mm::pagemap`), made where it is read, since the
/// whole file would be 512 MiB. None for any other file (made at open).
/// The frame numbers show to root only, as Linux's to CAP_SYS_ADMIN.
pub fn read_live(
    k: &mut Kernel,
    loc: &crate::fs::Loc,
    offset: u64,
    len: usize,
) -> Option<KResult<Vec<u8>>> {
    let kind = match &loc.inode.borrow().data {
        crate::fs::Data::Proc(node) => node.kind,
        _ => return None,
    };
    let Kind::File {
        pid,
        tid,
        file: File::Pagemap,
    } = kind
    else {
        return None;
    };
    if !offset.is_multiple_of(8) || !len.is_multiple_of(8) {
        return Some(Err(Errno::EINVAL));
    }
    let who = tid.or_else(|| main_thread(&k.vfs.proc.borrow(), pid));
    let Some(mm) = who.and_then(|t| k.task(t)).map(|t| t.mm.clone()) else {
        return Some(Ok(Vec::new()));
    };
    let show_pfn = k.cred().privileged();
    let mm = mm.borrow();
    // At most 16 MiB of entries a call (a short read), so that one read
    // neither holds the kernel long nor takes much host memory.
    let len = len.min(16 << 20);
    let first = offset / 8;
    let end = (crate::mm::TASK_SIZE / PAGE_SIZE).min(first.saturating_add(len as u64 / 8));
    let mut out = Vec::with_capacity(len.min(1 << 20));
    for page in first..end {
        let va = page * PAGE_SIZE;
        let entry = if mm.find_vma(va).is_some() {
            mm.pagemap_entry(&k.phys, va, show_pfn)
        } else {
            0
        };
        out.extend_from_slice(&entry.to_le_bytes());
    }
    Some(Ok(out))
}

/// The content of procfs file `kind`, as of now. ENOENT once the process
/// it describes is gone.
pub fn generate(k: &mut Kernel, kind: Kind) -> KResult<Vec<u8>> {
    let Kind::File { pid, tid, file } = kind else {
        return Err(Errno::EINVAL);
    };
    let text = match file {
        File::Meminfo => meminfo(k),
        File::Uptime => {
            let up = k.clock.monotonic(&k.hart);
            let (_, idle) = cpu_ticks(k);
            format!(
                "{}.{:02} {}.{:02}\n",
                up.as_secs(),
                up.subsec_millis() / 10,
                idle / USER_HZ,
                idle % USER_HZ
            )
        }
        File::KernelStat => kernel_stat(k),
        File::Loadavg => loadavg(k),
        File::Version => {
            "Linux version 6.1.0-cleave (cleave) (rustc) #1 SMP PREEMPT_DYNAMIC\n".into()
        }
        File::Cpuinfo => CPUINFO.into(),
        File::Filesystems => "nodev\ttmpfs\nnodev\tproc\n".into(),
        File::Table(n) => (super::sys::TABLE[n as usize].read)(k),
        _ => {
            let group = k.process(pid).ok_or(Errno::ENOENT)?;
            let who = tid.or_else(|| main_thread(&k.vfs.proc.borrow(), pid));
            let g = group.borrow();
            match file {
                File::Stat => stat(k, &g, pid, tid, who),
                File::Status => status(k, &g, pid, tid, who),
                File::Comm => format!("{}\n", String::from_utf8_lossy(&g.comm)),
                File::Maps => maps(k, who, false),
                File::Smaps => maps(k, who, true),
                File::Io => {
                    let io = g.io;
                    format!(
                        "rchar: {}\nwchar: {}\nsyscr: {}\nsyscw: {}\nread_bytes: 0\n\
                         write_bytes: 0\ncancelled_write_bytes: 0\n",
                        io.rchar, io.wchar, io.syscr, io.syscw
                    )
                }
                File::Limits => limits(&g),
                File::Mounts => mounts(k, who),
                File::Fdinfo(fd) => {
                    let files = who.and_then(|t| k.task(t)).map(|t| t.files.clone());
                    let f = files
                        .ok_or(Errno::ENOENT)?
                        .borrow()
                        .get(fd)
                        .map_err(|_| Errno::ENOENT)?;
                    // A pipe's is its pipefs inode's; other files
                    // outside the tree show none.
                    let ino = match f.loc() {
                        Some(loc) => loc.inode.borrow().ino,
                        None => f.downcast::<PipeEnd>().map_or(0, PipeEnd::id),
                    };
                    format!(
                        "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t0\nino:\t{ino}\n",
                        f.offset.get(),
                        f.flags.get()
                    )
                }
                File::Cmdline | File::Environ => {
                    drop(g);
                    return Ok(if file == File::Cmdline {
                        memory(k, who, |mm| mm.args.clone())
                    } else {
                        memory(k, who, |mm| mm.env.clone())
                    });
                }
                _ => return Err(Errno::EINVAL),
            }
        }
    };
    Ok(text.into_bytes())
}
