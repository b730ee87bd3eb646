//! procfs: the processes and the kernel as files, like Linux's /proc.
//!
//! The tree is made on demand. Each node is an inode with [`Data::Proc`]
//! naming what it shows ([`Kind`]); a directory keeps the children it has
//! handed out, so that a node keeps its inode number while it exists.
//! Which processes and threads exist comes from [`Snapshot`], which the
//! system-call layer refreshes from the task table before it resolves a
//! path (`array::sync`): the VFS cannot reach the kernel that owns it.
//! A file's content is made when it is opened (`array::generate`), from the
//! kernel as it is then, the way Linux's seq_file makes it on the first
//! read; reading it later reads that snapshot.
//!
//! Layering: procfs is the one part of fs/ that sits above tasks. It reads
//! the task table (`crate::task`: thread groups, fd tables, credentials);
//! the rest of fs/ sits below tasks and imports nothing of them.
//!
//! /proc/sys and /proc/sysvipc are a table of files (`sys.rs`), the
//! settings among them writable. /proc/PID/pagemap alone is made where it
//! is read (`array::read_live`).
//!
//! The fd, cwd and root links are "magic" as in Linux: following one leads
//! to the open file or directory itself ([`follow`]), while readlink shows
//! a path as the reader sees it.

pub mod array;
pub mod file;
pub mod sys;

use super::{
    Data, InodeRef, Loc, OpenFile, Stream, Vfs, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG,
};
use crate::errno::{Errno, KResult};
use crate::task::files::Files;
use crate::task::{FsInfo, ThreadGroup, Tid};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};
use std::time::Duration;

/// What procfs knows of one process.
pub struct ProcEntry {
    /// Live threads, the leader first if it lives.
    pub threads: Vec<Tid>,
    pub group: Weak<RefCell<ThreadGroup>>,
    /// Weak: /proc must not keep a dead process's files open.
    pub files: Weak<RefCell<Files>>,
    pub fs: Weak<RefCell<FsInfo>>,
}

/// The processes as of the last `array::sync`, and who is asking.
#[derive(Default)]
pub struct Snapshot {
    pub tgid: Tid,
    pub tid: Tid,
    /// The caller's root: paths in links are shown as it sees them.
    pub root: Option<Loc>,
    /// Every process, zombies included, by pid.
    pub procs: BTreeMap<Tid, ProcEntry>,
}

/// The generated files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum File {
    Stat,
    Status,
    Cmdline,
    Comm,
    Maps,
    Environ,
    Mounts,
    Fdinfo(u64),
    Meminfo,
    Uptime,
    /// /proc/stat.
    KernelStat,
    Loadavg,
    Version,
    Cpuinfo,
    Filesystems,
    /// A file of /proc/sys or /proc/sysvipc: `sys::TABLE[n]`.
    Table(u16),
    /// Read where it is read, not made at open (see `array::read_live`).
    Pagemap,
    Smaps,
    Io,
    Limits,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Exe,
    Cwd,
    Root,
}

/// What a procfs node shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Root,
    /// /proc/self.
    SelfLink,
    /// /proc/thread-self.
    ThreadSelf,
    /// /proc/mounts, a link to self/mounts as in Linux.
    MountsLink,
    /// /proc/PID (tid None) or /proc/PID/task/TID.
    Pid {
        pid: Tid,
        tid: Option<Tid>,
    },
    TaskDir(Tid),
    /// /proc/sys, /proc/sysvipc and their directories: the prefix of the
    /// paths of `sys::TABLE` they hold.
    TableDir(&'static str),
    FdDir(Tid),
    FdinfoDir(Tid),
    Fd(Tid, u64),
    Link(Tid, Link),
    /// pid 0: a file of /proc itself.
    File {
        pid: Tid,
        tid: Option<Tid>,
        file: File,
    },
}

pub struct ProcNode {
    pub kind: Kind,
    /// Children handed out so far, by name.
    children: BTreeMap<Vec<u8>, InodeRef>,
}

impl ProcNode {
    pub fn root() -> ProcNode {
        ProcNode {
            kind: Kind::Root,
            children: BTreeMap::new(),
        }
    }

    /// The child handed out as `name`, if it still is.
    pub fn child(&self, name: &[u8]) -> Option<InodeRef> {
        self.children.get(name).cloned()
    }
}

/// The entries of table directory `prefix`: subdirectories and files.
fn table_children(prefix: &'static str) -> Vec<(Vec<u8>, Kind)> {
    let mut out: Vec<(Vec<u8>, Kind)> = Vec::new();
    for (n, e) in sys::TABLE.iter().enumerate() {
        let Some(rest) = e
            .path
            .strip_prefix(prefix)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let kind = match rest.find('/') {
            Some(slash) => Kind::TableDir(&e.path[..prefix.len() + 1 + slash]),
            None => Kind::File {
                pid: 0,
                tid: None,
                file: File::Table(n as u16),
            },
        };
        let name = rest.split('/').next().unwrap_or(rest).as_bytes().to_vec();
        if !out.iter().any(|(m, _)| *m == name) {
            out.push((name, kind));
        }
    }
    out
}

const GLOBAL_FILES: [(&str, File); 7] = [
    ("cpuinfo", File::Cpuinfo),
    ("filesystems", File::Filesystems),
    ("loadavg", File::Loadavg),
    ("meminfo", File::Meminfo),
    ("stat", File::KernelStat),
    ("uptime", File::Uptime),
    ("version", File::Version),
];

const PID_FILES: [(&str, File); 11] = [
    ("cmdline", File::Cmdline),
    ("comm", File::Comm),
    ("environ", File::Environ),
    ("io", File::Io),
    ("limits", File::Limits),
    ("maps", File::Maps),
    ("mounts", File::Mounts),
    ("pagemap", File::Pagemap),
    ("smaps", File::Smaps),
    ("stat", File::Stat),
    ("status", File::Status),
];

const PID_LINKS: [(&str, Link); 3] = [("cwd", Link::Cwd), ("exe", Link::Exe), ("root", Link::Root)];

fn number(name: &[u8]) -> Option<u64> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

fn open_fds(files: &Weak<RefCell<Files>>) -> Vec<u64> {
    let Some(files) = files.upgrade() else {
        return Vec::new();
    };
    let files = files.borrow();
    (0..crate::task::files::NR_OPEN as u64)
        .filter(|&fd| files.entry(fd).is_ok())
        .collect()
}

fn open_file(snap: &Snapshot, pid: Tid, fd: u64) -> Option<Rc<OpenFile>> {
    let files = snap.procs.get(&pid)?.files.upgrade()?;
    let file = files.borrow().get(fd).ok();
    file
}

/// Whether `kind` still names something that exists.
fn exists(snap: &Snapshot, kind: Kind) -> bool {
    let (pid, tid) = match kind {
        Kind::Root | Kind::SelfLink | Kind::ThreadSelf | Kind::MountsLink | Kind::TableDir(_) => {
            return true
        }
        Kind::File { pid: 0, .. } => return true,
        Kind::Pid { pid, tid } | Kind::File { pid, tid, .. } => (pid, tid),
        Kind::TaskDir(pid) | Kind::FdDir(pid) | Kind::FdinfoDir(pid) | Kind::Link(pid, _) => {
            (pid, None)
        }
        Kind::Fd(pid, fd) => return open_file(snap, pid, fd).is_some(),
    };
    let Some(p) = snap.procs.get(&pid) else {
        return false;
    };
    match (kind, tid) {
        (
            Kind::File {
                file: File::Fdinfo(fd),
                ..
            },
            _,
        ) => open_file(snap, pid, fd).is_some(),
        (_, Some(tid)) => p.threads.contains(&tid),
        _ => true,
    }
}

/// The names in directory `kind`, with what each shows.
fn children(snap: &Snapshot, kind: Kind) -> Vec<(Vec<u8>, Kind)> {
    let named = |name: &str, kind| (name.as_bytes().to_vec(), kind);
    match kind {
        Kind::Root => {
            let mut out: Vec<_> = GLOBAL_FILES
                .iter()
                .map(|&(n, file)| {
                    named(
                        n,
                        Kind::File {
                            pid: 0,
                            tid: None,
                            file,
                        },
                    )
                })
                .collect();
            out.push(named("mounts", Kind::MountsLink));
            out.push(named("sys", Kind::TableDir("sys")));
            out.push(named("sysvipc", Kind::TableDir("sysvipc")));
            out.push(named("self", Kind::SelfLink));
            out.push(named("thread-self", Kind::ThreadSelf));
            out.extend(
                snap.procs
                    .keys()
                    .map(|&pid| (pid.to_string().into_bytes(), Kind::Pid { pid, tid: None })),
            );
            out
        }
        Kind::Pid { pid, tid } => {
            let mut out: Vec<_> = PID_FILES
                .iter()
                .map(|&(n, file)| named(n, Kind::File { pid, tid, file }))
                .collect();
            out.extend(PID_LINKS.iter().map(|&(n, l)| named(n, Kind::Link(pid, l))));
            out.push(named("fd", Kind::FdDir(pid)));
            out.push(named("fdinfo", Kind::FdinfoDir(pid)));
            if tid.is_none() {
                out.push(named("task", Kind::TaskDir(pid)));
            }
            out
        }
        Kind::TaskDir(pid) => snap.procs.get(&pid).map_or(Vec::new(), |p| {
            let mut tids = p.threads.clone();
            tids.sort_unstable();
            tids.into_iter()
                .map(|t| (t.to_string().into_bytes(), Kind::Pid { pid, tid: Some(t) }))
                .collect()
        }),
        Kind::FdDir(pid) | Kind::FdinfoDir(pid) => {
            let fds = snap
                .procs
                .get(&pid)
                .map_or(Vec::new(), |p| open_fds(&p.files));
            fds.into_iter()
                .map(|fd| {
                    let child = match kind {
                        Kind::FdDir(_) => Kind::Fd(pid, fd),
                        _ => Kind::File {
                            pid,
                            tid: None,
                            file: File::Fdinfo(fd),
                        },
                    };
                    (fd.to_string().into_bytes(), child)
                })
                .collect()
        }
        Kind::TableDir(prefix) => table_children(prefix),
        _ => Vec::new(),
    }
}

/// What `name` in directory `dir` shows, if it exists now.
fn child_kind(snap: &Snapshot, dir: Kind, name: &[u8]) -> Option<Kind> {
    if !exists(snap, dir) {
        return None;
    }
    let kind = match dir {
        Kind::Root => match number(name) {
            Some(pid) => Kind::Pid {
                pid: Tid::try_from(pid).ok()?,
                tid: None,
            },
            None => {
                return children(snap, dir)
                    .into_iter()
                    .find(|(n, _)| n == name)
                    .map(|c| c.1)
            }
        },
        Kind::TaskDir(pid) => Kind::Pid {
            pid,
            tid: Some(Tid::try_from(number(name)?).ok()?),
        },
        Kind::FdDir(pid) => Kind::Fd(pid, number(name)?),
        Kind::FdinfoDir(pid) => Kind::File {
            pid,
            tid: None,
            file: File::Fdinfo(number(name)?),
        },
        _ => {
            return children(snap, dir)
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|c| c.1)
        }
    };
    exists(snap, kind).then_some(kind)
}

fn mode_of(kind: Kind) -> u32 {
    match kind {
        Kind::Root | Kind::Pid { .. } | Kind::TaskDir(_) | Kind::TableDir(_) => S_IFDIR | 0o555,
        Kind::FdDir(_) | Kind::FdinfoDir(_) => S_IFDIR | 0o500,
        Kind::Fd(..) => S_IFLNK | 0o700,
        Kind::SelfLink | Kind::ThreadSelf | Kind::MountsLink | Kind::Link(..) => S_IFLNK | 0o777,
        Kind::File {
            file: File::Environ | File::Io | File::Pagemap,
            ..
        } => S_IFREG | 0o400,
        Kind::File {
            file: File::Table(n),
            ..
        } => S_IFREG | sys::TABLE[n as usize].mode,
        Kind::File { .. } => S_IFREG | 0o444,
    }
}

fn owner(snap: &Snapshot, kind: Kind) -> (u32, u32) {
    let pid = match kind {
        Kind::Pid { pid, .. }
        | Kind::TaskDir(pid)
        | Kind::FdDir(pid)
        | Kind::FdinfoDir(pid)
        | Kind::Fd(pid, _)
        | Kind::Link(pid, _)
        | Kind::File { pid, .. } => pid,
        _ => 0,
    };
    let group = snap.procs.get(&pid).and_then(|p| p.group.upgrade());
    group.map_or((0, 0), |g| {
        let g = g.borrow();
        (g.cred.euid, g.cred.egid)
    })
}

fn kind_of(inode: &InodeRef) -> Option<Kind> {
    match &inode.borrow().data {
        Data::Proc(p) => Some(p.kind),
        _ => None,
    }
}

/// Entry `name` of procfs directory `dir`.
pub fn lookup(vfs: &Vfs, dir: &InodeRef, name: &[u8]) -> KResult<InodeRef> {
    let kind = kind_of(dir).ok_or(Errno::ENOTDIR)?;
    if !dir.borrow().is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let snap = vfs.proc.borrow();
    let child = child_kind(&snap, kind, name).ok_or(Errno::ENOENT)?;
    let mut d = dir.borrow_mut();
    let dev = d.dev;
    let Data::Proc(node) = &mut d.data else {
        return Err(Errno::ENOTDIR);
    };
    // Forget children that are gone, so a long run does not keep every
    // pid it ever looked at.
    node.children
        .retain(|_, c| kind_of(c).is_some_and(|k| exists(&snap, k)));
    if let Some(c) = node.children.get(name) {
        if kind_of(c) == Some(child) {
            return Ok(c.clone());
        }
    }
    let inode = vfs.new_inode(
        mode_of(child),
        Data::Proc(ProcNode {
            kind: child,
            children: BTreeMap::new(),
        }),
        Duration::ZERO,
    );
    {
        let (uid, gid) = owner(&snap, child);
        let mut i = inode.borrow_mut();
        i.dev = dev;
        i.uid = uid;
        i.gid = gid;
        i.parent = Rc::downgrade(dir);
        i.name = name.to_vec();
    }
    node.children.insert(name.to_vec(), inode.clone());
    Ok(inode)
}

/// The entries of procfs directory `dir` (without "." and "..").
pub fn entries(vfs: &Vfs, dir: &Loc) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
    let kind = kind_of(&dir.inode).ok_or(Errno::ENOTDIR)?;
    let names = children(&vfs.proc.borrow(), kind);
    let mut out = Vec::new();
    for (name, _) in names {
        // Something may have gone since the list was made.
        if let Ok(inode) = lookup(vfs, &dir.inode, &name) {
            let i = inode.borrow();
            out.push((name, i.ino, i.dtype()));
        }
    }
    Ok(out)
}

/// How an open file is named in /proc/PID/fd.
fn fd_text(vfs: &Vfs, root: &Loc, file: &OpenFile) -> Vec<u8> {
    match file.loc() {
        Some(loc) => loc_text(vfs, root, loc),
        None => file.ops().name().into_bytes(),
    }
}

/// A file's path, " (deleted)" once no directory holds it (an unlinked
/// file, a memfd).
fn loc_text(vfs: &Vfs, root: &Loc, loc: &Loc) -> Vec<u8> {
    let mut path = vfs.path_of(root, loc);
    let i = loc.inode.borrow();
    if i.nlink == 0 && !i.is_dir() {
        path.extend_from_slice(b" (deleted)");
    }
    path
}

/// The target of a procfs symlink.
pub fn readlink(vfs: &Vfs, node: &ProcNode) -> KResult<Vec<u8>> {
    let snap = vfs.proc.borrow();
    if !exists(&snap, node.kind) {
        return Err(Errno::ENOENT);
    }
    let root = snap.root.clone().unwrap_or_else(|| vfs.root());
    match node.kind {
        Kind::SelfLink if snap.tgid != 0 => Ok(snap.tgid.to_string().into_bytes()),
        Kind::ThreadSelf if snap.tgid != 0 => {
            Ok(format!("{}/task/{}", snap.tgid, snap.tid).into_bytes())
        }
        Kind::SelfLink | Kind::ThreadSelf => Err(Errno::ENOENT),
        Kind::MountsLink => Ok(b"self/mounts".to_vec()),
        Kind::Link(pid, Link::Exe) => {
            let group = snap.procs.get(&pid).and_then(|p| p.group.upgrade());
            let group = group.ok_or(Errno::ENOENT)?;
            let exe = group
                .borrow()
                .exe
                .path
                .as_os_str()
                .as_encoded_bytes()
                .to_vec();
            Ok(exe)
        }
        Kind::Link(pid, _) | Kind::Fd(pid, _) => match follow_in(&snap, node.kind) {
            Some(loc) => Ok(loc_text(vfs, &root, &loc)),
            None => {
                let Kind::Fd(_, fd) = node.kind else {
                    return Err(Errno::ENOENT);
                };
                let file = open_file(&snap, pid, fd).ok_or(Errno::ENOENT)?;
                Ok(fd_text(vfs, &root, &file))
            }
        },
        _ => Err(Errno::EINVAL),
    }
}

/// Where a magic link leads: the file open on an fd, a cwd or a root.
fn follow_in(snap: &Snapshot, kind: Kind) -> Option<Loc> {
    match kind {
        Kind::Fd(pid, fd) => {
            let file = open_file(snap, pid, fd)?;
            file.loc().cloned()
        }
        Kind::Link(pid, link @ (Link::Cwd | Link::Root)) => {
            let fs = snap.procs.get(&pid)?.fs.upgrade()?;
            let fs = fs.borrow();
            Some(if link == Link::Cwd {
                fs.cwd.clone()
            } else {
                fs.root.clone()
            })
        }
        _ => None,
    }
}

/// Following `loc` when it is a magic link; None for any other node (and
/// for an fd that is not a file of the tree, whose text is followed).
pub fn follow(vfs: &Vfs, loc: &Loc) -> Option<KResult<Loc>> {
    let kind = kind_of(&loc.inode)?;
    if !matches!(kind, Kind::Fd(..) | Kind::Link(_, Link::Cwd | Link::Root)) {
        return None;
    }
    let snap = vfs.proc.borrow();
    if !exists(&snap, kind) {
        return Some(Err(Errno::ENOENT));
    }
    if let Some(to) = follow_in(&snap, kind) {
        return Some(Ok(to));
    }
    // A pipe or host stream has no place in the tree: the link leads to an
    // inode that opens it again.
    let Kind::Fd(pid, fd) = kind else {
        return None;
    };
    let file = open_file(&snap, pid, fd)?;
    let stream = file.ops().stream()?;
    let mode = match stream {
        Stream::Pipe(_) => S_IFIFO | 0o600,
        Stream::Host(_) => S_IFCHR | 0o620,
    };
    let inode = vfs.new_inode(mode, Data::Stream(stream), Duration::ZERO);
    Some(Ok(Loc {
        mnt: loc.mnt,
        inode,
    }))
}
