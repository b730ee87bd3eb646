//! The files of /proc/sys and /proc/sysvipc: the kernel's settings,
//! shown and (by root, where Linux lets root) changed, and the System V
//! IPC objects. One table; the directories are the paths' prefixes.
//!
//! A write is parsed as Linux's proc_dointvec family parses one (numbers
//! in C's notation, separated by blanks, a newline at the end allowed;
//! anything else is EINVAL, as is a number out of the setting's range)
//! and takes effect at once: pid_max and ns_last_pid steer the next pid,
//! threads-max fork, hostname uname, the IPC limits the IPC calls.

use crate::errno::{Errno, KResult};
use crate::fs::{Data, Loc};
use crate::task::sysctl::{OSRELEASE, PID_MAX_LIMIT, RESERVED_PIDS};
use crate::task::Kernel;

type Read = fn(&mut Kernel) -> String;
type Write = fn(&mut Kernel, &[u8]) -> KResult<()>;

/// A file: its path below /proc, its permissions, how it reads and how
/// (if at all) it is written.
pub struct Entry {
    pub path: &'static str,
    pub mode: u32,
    pub read: Read,
    pub write: Option<Write>,
}

/// Linux's IPCMNI: the most objects of a kind.
const IPCMNI: i64 = 32768;

pub static TABLE: &[Entry] = &[
    Entry {
        path: "sys/kernel/core_pattern",
        mode: 0o644,
        read: |k| line(&k.sysctl.core_pattern),
        write: Some(|k, b| {
            k.sysctl.core_pattern = string(b, 128);
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/hostname",
        mode: 0o644,
        read: |k| line(&k.sysctl.hostname),
        write: Some(|k, b| {
            k.sysctl.hostname = string(b, 65);
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/msgmax",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.msg.msgmax),
        write: Some(|k, b| {
            k.ipc.msg.msgmax = one(b, 0, i32::MAX as i64)? as i32;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/msgmnb",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.msg.msgmnb),
        write: Some(|k, b| {
            k.ipc.msg.msgmnb = one(b, 0, i32::MAX as i64)? as i32;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/msgmni",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.msg.msgmni),
        write: Some(|k, b| {
            k.ipc.msg.msgmni = one(b, 0, IPCMNI)? as i32;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/ns_last_pid",
        mode: 0o666,
        read: |k| format!("{}\n", k.last_pid()),
        write: Some(|k, b| {
            // CAP_CHECKPOINT_RESTORE, whatever the mode says.
            if !k.cred().privileged() {
                return Err(Errno::EPERM);
            }
            let pid = one(b, 0, i64::from(k.sysctl.pid_max))?;
            k.set_last_pid(pid as u32);
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/osrelease",
        mode: 0o444,
        read: |_| format!("{OSRELEASE}\n"),
        write: None,
    },
    Entry {
        path: "sys/kernel/ostype",
        mode: 0o444,
        read: |_| "Linux\n".into(),
        write: None,
    },
    Entry {
        path: "sys/kernel/pid_max",
        mode: 0o644,
        read: |k| format!("{}\n", k.sysctl.pid_max),
        write: Some(|k, b| {
            let max = one(b, i64::from(RESERVED_PIDS) + 1, i64::from(PID_MAX_LIMIT))?;
            k.set_pid_max(max as u32);
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/sem",
        mode: 0o644,
        read: |k| {
            let s = &k.ipc.sem;
            format!("{}\t{}\t{}\t{}\n", s.semmsl, s.semmns, s.semopm, s.semmni)
        },
        write: Some(|k, b| {
            let v = numbers(b)?;
            let int = |i: usize| -> KResult<i32> {
                let x = *v.get(i).ok_or(Errno::EINVAL)?;
                i32::try_from(x).map_err(|_| Errno::EINVAL)
            };
            let (msl, mns, opm, mni) = (int(0)?, int(1)?, int(2)?, int(3)?);
            if v.len() != 4 || !(0..=IPCMNI).contains(&i64::from(mni)) {
                return Err(Errno::EINVAL);
            }
            let s = &mut k.ipc.sem;
            (s.semmsl, s.semmns, s.semopm, s.semmni) = (msl, mns, opm, mni);
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/shmall",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.shm.shmall),
        write: Some(|k, b| {
            k.ipc.shm.shmall = unsigned(b)?;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/shmmax",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.shm.shmmax),
        write: Some(|k, b| {
            k.ipc.shm.shmmax = unsigned(b)?;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/shmmni",
        mode: 0o644,
        read: |k| format!("{}\n", k.ipc.shm.shmmni),
        write: Some(|k, b| {
            k.ipc.shm.shmmni = one(b, 0, IPCMNI)? as u64;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/tainted",
        mode: 0o644,
        read: |k| format!("{}\n", k.sysctl.tainted),
        write: Some(|k, b| {
            k.sysctl.tainted |= unsigned(b)?;
            Ok(())
        }),
    },
    Entry {
        path: "sys/kernel/threads-max",
        mode: 0o644,
        read: |k| format!("{}\n", k.sysctl.threads_max),
        // Linux's MIN_THREADS and FUTEX_TID_MASK.
        write: Some(|k, b| {
            k.sysctl.threads_max = one(b, 20, 0x3fff_ffff)? as u64;
            Ok(())
        }),
    },
    Entry {
        path: "sys/vm/drop_caches",
        mode: 0o200,
        read: |_| String::new(),
        write: Some(|k, b| {
            one(b, 1, 4)?;
            k.phys.drop_clean_caches();
            Ok(())
        }),
    },
    Entry {
        path: "sys/vm/overcommit_memory",
        mode: 0o644,
        read: |k| format!("{}\n", k.phys.overcommit_memory),
        write: Some(|k, b| {
            k.phys.overcommit_memory = one(b, 0, 2)? as u32;
            Ok(())
        }),
    },
    Entry {
        path: "sysvipc/msg",
        mode: 0o444,
        read: |k| k.ipc.msg.proc_text(),
        write: None,
    },
    Entry {
        path: "sysvipc/sem",
        mode: 0o444,
        read: |k| k.ipc.sem.proc_text(),
        write: None,
    },
    Entry {
        path: "sysvipc/shm",
        mode: 0o444,
        read: |k| k.ipc.shm.proc_text(),
        write: None,
    },
];

fn line(s: &[u8]) -> String {
    format!("{}\n", String::from_utf8_lossy(s))
}

/// proc_dostring: the first line, at most `max` - 1 bytes.
fn string(b: &[u8], max: usize) -> Vec<u8> {
    let end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
    b[..end.min(max - 1)].to_vec()
}

/// Linux's proc_get_long for each number of `b`: C notation (0x for hex,
/// 0 for octal), an optional minus, blanks between, nothing else.
fn numbers(b: &[u8]) -> KResult<Vec<i128>> {
    let text = std::str::from_utf8(b).map_err(|_| Errno::EINVAL)?;
    let mut out = Vec::new();
    for word in text.split([' ', '\t', '\n']).filter(|w| !w.is_empty()) {
        let (neg, digits) = match word.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, word),
        };
        let (radix, digits) = if let Some(h) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            (16, h)
        } else if digits.len() > 1 && digits.starts_with('0') {
            (8, &digits[1..])
        } else {
            (10, digits)
        };
        let v = u64::from_str_radix(digits, radix).map_err(|_| Errno::EINVAL)?;
        out.push(if neg { -i128::from(v) } else { i128::from(v) });
    }
    if out.is_empty() {
        return Err(Errno::EINVAL);
    }
    Ok(out)
}

/// One int in [min, max] (proc_dointvec_minmax).
fn one(b: &[u8], min: i64, max: i64) -> KResult<i64> {
    let v = numbers(b)?;
    match v[..] {
        [x] if (i128::from(min)..=i128::from(max)).contains(&x) => Ok(x as i64),
        _ => Err(Errno::EINVAL),
    }
}

/// One unsigned long (proc_doulongvec_minmax): no minus.
fn unsigned(b: &[u8]) -> KResult<u64> {
    match numbers(b)?[..] {
        [x] if x >= 0 => Ok(x as u64),
        _ => Err(Errno::EINVAL),
    }
}

/// The entry an open copy of a procfs file was made from (it keeps the
/// node's parent and name; see `proc_snapshot` in the system-call layer).
fn entry_of(loc: &Loc) -> Option<&'static Entry> {
    let i = loc.inode.borrow();
    let parent = i.parent.upgrade()?;
    let child = match &parent.borrow().data {
        Data::Proc(node) => node.child(&i.name)?,
        _ => return None,
    };
    let kind = super::kind_of(&child)?;
    match kind {
        super::Kind::File {
            file: super::File::Table(n),
            ..
        } => TABLE.get(n as usize),
        _ => None,
    }
}

/// Opening a file of /proc/sys (`acc`: O_RDONLY, O_WRONLY or O_RDWR):
/// its mode binds root too, as Linux's proc_sys_permission makes it
/// (root reads the owner's bits, root's group the group's): EACCES.
/// Returns whether `kind` is one (O_TRUNC is then allowed).
pub fn may_open(k: &Kernel, kind: super::Kind, acc: u32) -> KResult<bool> {
    let super::Kind::File {
        file: super::File::Table(n),
        ..
    } = kind
    else {
        return Ok(false);
    };
    let e = &TABLE[n as usize];
    if !e.path.starts_with("sys/") {
        return Ok(false);
    }
    let cred = k.cred();
    let granted = if cred.euid == 0 {
        e.mode >> 6
    } else if cred.egid == 0 || cred.groups.contains(&0) {
        e.mode >> 3
    } else {
        e.mode
    };
    let wanted = match acc {
        0 => 4,
        1 => 2,
        _ => 6,
    };
    if wanted & !granted & 7 != 0 {
        return Err(Errno::EACCES);
    }
    Ok(true)
}

/// A write to an open procfs file: a setting changes, anything else is
/// EINVAL (no write method).
pub fn write(k: &mut Kernel, loc: &Loc, data: &[u8]) -> KResult<usize> {
    let write = entry_of(loc).and_then(|e| e.write).ok_or(Errno::EINVAL)?;
    write(k, data)?;
    Ok(data.len())
}
