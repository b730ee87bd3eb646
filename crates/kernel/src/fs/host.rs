//! Host directories mounted into the guest, read-only or writable.
//!
//! Confinement is by handle, never by host path. A mount holds the host
//! directory it was given, open (O_PATH) since mount time; every directory
//! the guest looks up below it is held the same way, by an fd opened
//! relative to its parent's fd; any other file is named by its directory's
//! fd and its name there. So every host call names one component relative
//! to a directory cleave holds, with O_NOFOLLOW or AT_SYMLINK_NOFOLLOW: the
//! host never follows a symlink, never resolves "..", and a rename on
//! either side (the guest's through another mount, the host's own) moves
//! or replaces a name but never redirects a directory cleave holds. The
//! VFS answers "." and ".." and resolves a symlink's target in the guest's
//! view. So nothing outside the mounted directory can be reached, or
//! created, from the guest.
//!
//! Mounts are nodev, as Linux's `nodev` mount option: a host device node
//! is seen but opening it is EACCES. Every host open is O_NONBLOCK, so a
//! host FIFO never makes the kernel wait: its reads and writes are polled
//! ([`HostStream`]) as the host's standard streams are.
//!
//! Metadata the guest sets (mode, owner, times) is set on the host file
//! through its handle, and the inode then shows what the host stored; what
//! the host refuses fails with the host's errno.

use super::{Data, Inode, InodeRef, Loc, Vfs, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps};
use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// What every node of one mount shares.
pub struct HostRoot {
    /// Nothing below it may be changed, whichever mount it is reached
    /// through (a read-only host file linked into a tmpfs directory).
    pub readonly: bool,
}

/// How a node holds its host file.
enum Handle {
    /// A directory, open with O_PATH: lookups below it start here.
    Dir(Rc<OwnedFd>),
    /// Anything else: the directory it is in, held open, and its name
    /// there.
    Entry { dir: Rc<OwnedFd>, name: Vec<u8> },
}

pub struct HostNode {
    root: Rc<HostRoot>,
    handle: Handle,
    /// Its file type (S_IFMT bits) as found.
    kind: u32,
    pub size: u64,
    /// Looked-up children, so that an entry keeps its identity.
    children: BTreeMap<Vec<u8>, InodeRef>,
}

impl HostNode {
    pub fn readonly(&self) -> bool {
        self.root.readonly
    }
}

fn time(secs: i64, nsec: i64) -> Duration {
    Duration::new(secs.max(0) as u64, nsec.clamp(0, 999_999_999) as u32)
}

fn os(name: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(name)
}

/// A single name a host call may take: never a path, never "." or "..".
fn component(name: &[u8]) -> KResult<&std::ffi::OsStr> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
        return Err(Errno::ENOENT);
    }
    Ok(os(name))
}

/// Copies the host's stat of a file into its inode.
#[allow(clippy::unnecessary_cast)]
fn fill(i: &mut Inode, st: &rustix::fs::Stat) {
    i.mode = st.st_mode as u32;
    i.dev = st.st_dev as u64;
    i.ino = st.st_ino as u64;
    i.nlink = st.st_nlink as u32;
    i.uid = st.st_uid;
    i.gid = st.st_gid;
    i.atime = time(st.st_atime as i64, st.st_atime_nsec as i64);
    i.mtime = time(st.st_mtime as i64, st.st_mtime_nsec as i64);
    i.ctime = time(st.st_ctime as i64, st.st_ctime_nsec as i64);
    if let Data::Host(h) = &mut i.data {
        h.size = st.st_size as u64;
        h.kind = st.st_mode as u32 & S_IFMT;
    }
}

/// A new inode for the host file held by `handle`, as `st` describes it.
#[allow(clippy::unnecessary_cast)]
fn inode_for(vfs: &Vfs, root: &Rc<HostRoot>, handle: Handle, st: &rustix::fs::Stat) -> InodeRef {
    let node = HostNode {
        root: root.clone(),
        handle,
        kind: 0,
        size: 0,
        children: BTreeMap::new(),
    };
    let inode = vfs.new_inode(st.st_mode as u32, Data::Host(node), Duration::ZERO);
    fill(&mut inode.borrow_mut(), st);
    inode
}

/// Entry `name` of the host directory `dir`, held: a directory by its own
/// fd, anything else by `dir` and its name.
fn open_entry(dir: &Rc<OwnedFd>, name: &[u8]) -> KResult<(Handle, rustix::fs::Stat)> {
    let how = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir.as_fd(), component(name)?, how, Mode::empty())
        .map_err(Errno::from)?;
    // The stat of what was opened, not of whatever has the name by now.
    let st = rustix::fs::fstat(&fd).map_err(Errno::from)?;
    let handle = if st.st_mode & S_IFMT == S_IFDIR {
        Handle::Dir(Rc::new(fd))
    } else {
        Handle::Entry {
            dir: dir.clone(),
            name: name.to_vec(),
        }
    };
    Ok((handle, st))
}

/// The root inode of a mount of host directory `path`, or of the single
/// host file `path` (a top-level file of `--root`, the program cleave runs).
/// `path` is resolved once, now: the user named it.
pub fn root_inode(vfs: &Vfs, path: PathBuf, readonly: bool) -> KResult<InodeRef> {
    let root = Rc::new(HostRoot { readonly });
    let flags = OFlags::PATH | OFlags::CLOEXEC;
    let fd = rustix::fs::open(&path, flags, Mode::empty()).map_err(Errno::from)?;
    let st = rustix::fs::fstat(&fd).map_err(Errno::from)?;
    if st.st_mode & S_IFMT == S_IFDIR {
        return Ok(inode_for(vfs, &root, Handle::Dir(Rc::new(fd)), &st));
    }
    // A file is held by the directory it is in, where the path leads.
    let real = std::fs::canonicalize(&path).map_err(|e| Errno::from(&e))?;
    let (Some(parent), Some(name)) = (real.parent(), real.file_name()) else {
        return Err(Errno::EINVAL);
    };
    let dir =
        rustix::fs::open(parent, flags | OFlags::DIRECTORY, Mode::empty()).map_err(Errno::from)?;
    let (handle, st) = open_entry(&Rc::new(dir), name.as_encoded_bytes())?;
    Ok(inode_for(vfs, &root, handle, &st))
}

/// Every host directory the guest has looked up stays open (O_PATH) while
/// its node lives, so cleave may hold many fds: its soft RLIMIT_NOFILE is
/// raised to the hard one (`cleave run` calls this once, at start).
pub fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// The held fd of host directory `dir`.
fn dir_fd(dir: &InodeRef) -> KResult<Rc<OwnedFd>> {
    match &dir.borrow().data {
        Data::Host(HostNode {
            handle: Handle::Dir(fd),
            ..
        }) => Ok(fd.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

/// Entry `name` of host directory `dir`. A node looked up before is still
/// it while the name leads to the same host file (its stat is read again:
/// the host may change it); else the name is looked up afresh, so the
/// guest sees what the host did.
pub fn lookup(vfs: &Vfs, dir: &InodeRef, name: &[u8]) -> KResult<InodeRef> {
    let (root, fd, cached) = {
        let d = dir.borrow();
        let Data::Host(h) = &d.data else {
            return Err(Errno::ENOTDIR);
        };
        let Handle::Dir(fd) = &h.handle else {
            return Err(Errno::ENOTDIR);
        };
        (h.root.clone(), fd.clone(), h.children.get(name).cloned())
    };
    if let Some(child) = cached {
        let st = rustix::fs::statat(fd.as_fd(), component(name)?, AtFlags::SYMLINK_NOFOLLOW);
        let same = match (st, child.try_borrow_mut()) {
            #[allow(clippy::unnecessary_cast)]
            (Ok(st), Ok(mut c)) if (c.dev, c.ino) == (st.st_dev as u64, st.st_ino as u64) => {
                fill(&mut c, &st);
                true
            }
            _ => false,
        };
        if same {
            return Ok(child);
        }
        forget(dir, name);
    }
    let (handle, st) = open_entry(&fd, name)?;
    let child = inode_for(vfs, &root, handle, &st);
    {
        let mut c = child.borrow_mut();
        c.parent = Rc::downgrade(dir);
        c.name = name.to_vec();
    }
    if let Data::Host(h) = &mut dir.borrow_mut().data {
        h.children.insert(name.to_vec(), child.clone());
    }
    Ok(child)
}

/// Forgets `name` in `dir`'s cache, after it was removed or renamed.
fn forget(dir: &InodeRef, name: &[u8]) -> Option<InodeRef> {
    match &mut dir.borrow_mut().data {
        Data::Host(h) => h.children.remove(name),
        _ => None,
    }
}

/// Creates `name` in writable host directory `dir`: a regular file, a
/// directory or a symlink (what `data` is), with `mode`'s permissions
/// exactly (the host's umask is not the guest's).
pub fn create(vfs: &Vfs, dir: &InodeRef, name: &[u8], mode: u32, data: &Data) -> KResult<InodeRef> {
    let parent = dir_fd(dir)?;
    let entry = component(name)?;
    let perm = Mode::from_bits_truncate(mode & 0o7777);
    match (mode & S_IFMT, data) {
        (S_IFREG, _) => {
            let how = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW;
            rustix::fs::openat(parent.as_fd(), entry, how | OFlags::CLOEXEC, perm)
                .map_err(Errno::from)?;
        }
        (S_IFDIR, _) => rustix::fs::mkdirat(parent.as_fd(), entry, perm).map_err(Errno::from)?,
        (S_IFLNK, Data::Symlink(target)) => {
            rustix::fs::symlinkat(os(target), parent.as_fd(), entry).map_err(Errno::from)?
        }
        // Device nodes and fifos are not made on the host's behalf.
        _ => return Err(Errno::EPERM),
    }
    forget(dir, name);
    let child = lookup(vfs, dir, name)?;
    let made = child.borrow().mode;
    if made & S_IFMT != S_IFLNK && made & 0o7777 != mode & 0o7777 {
        set_mode(&child, mode & 0o7777)?;
    }
    Ok(child)
}

/// Removes `name` (a directory with `rmdir`) from host directory `dir`.
pub fn unlink(dir: &InodeRef, name: &[u8], rmdir: bool) -> KResult<()> {
    let parent = dir_fd(dir)?;
    let flags = if rmdir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    rustix::fs::unlinkat(parent.as_fd(), component(name)?, flags).map_err(Errno::from)?;
    forget(dir, name);
    Ok(())
}

/// Renames `from/old` to `to/new`, both in the same host mount. A node
/// the guest holds moves with its file: a directory keeps its fd, any
/// other file is named by its new place.
pub fn rename_host(from: &InodeRef, old: &[u8], to: &InodeRef, new: &[u8]) -> KResult<()> {
    let (src, dst) = (dir_fd(from)?, dir_fd(to)?);
    rustix::fs::renameat(src.as_fd(), component(old)?, dst.as_fd(), component(new)?)
        .map_err(Errno::from)?;
    forget(to, new);
    if let Some(moved) = forget(from, old) {
        {
            let mut m = moved.borrow_mut();
            if let Data::Host(HostNode {
                handle: Handle::Entry { dir, name },
                ..
            }) = &mut m.data
            {
                *dir = dst.clone();
                *name = new.to_vec();
            }
            m.parent = Rc::downgrade(to);
            m.name = new.to_vec();
        }
        if let Data::Host(h) = &mut to.borrow_mut().data {
            h.children.insert(new.to_vec(), moved);
        }
    }
    Ok(())
}

/// A hard link `to/new` for `from/old`, in the same host mount.
pub fn link(from: &InodeRef, old: &[u8], to: &InodeRef, new: &[u8]) -> KResult<()> {
    let (src, dst) = (dir_fd(from)?, dir_fd(to)?);
    rustix::fs::linkat(
        src.as_fd(),
        component(old)?,
        dst.as_fd(),
        component(new)?,
        AtFlags::empty(),
    )
    .map_err(Errno::from)?;
    forget(to, new);
    Ok(())
}

const S_IFBLK: u32 = 0o060000;

impl HostNode {
    /// The host file open with `flags`: a nodev, non-blocking, no-follow
    /// open of what the node holds. EACCES for a device node.
    fn open(&self, flags: OFlags) -> KResult<OwnedFd> {
        let device = |kind: u32| matches!(kind & S_IFMT, super::S_IFCHR | S_IFBLK);
        if device(self.kind) {
            return Err(Errno::EACCES);
        }
        let flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = match &self.handle {
            Handle::Dir(fd) => rustix::fs::openat(fd.as_fd(), ".", flags, Mode::empty()),
            Handle::Entry { dir, name } => {
                rustix::fs::openat(dir.as_fd(), component(name)?, flags, Mode::empty())
            }
        }
        .map_err(Errno::from)?;
        // The name may have been given to a device node since the lookup.
        if device(rustix::fs::fstat(&fd).map_err(Errno::from)?.st_mode) {
            return Err(Errno::EACCES);
        }
        Ok(fd)
    }

    /// Runs `f` on an O_PATH handle of the host file itself.
    fn with_handle<T>(&self, f: impl FnOnce(BorrowedFd) -> KResult<T>) -> KResult<T> {
        match &self.handle {
            Handle::Dir(fd) => f(fd.as_fd()),
            Handle::Entry { dir, name } => {
                let how = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
                let fd = rustix::fs::openat(dir.as_fd(), component(name)?, how, Mode::empty())
                    .map_err(Errno::from)?;
                f(fd.as_fd())
            }
        }
    }
}

/// Runs `f` on the host node of `inode`, with a handle of its host file.
fn with_handle<T>(inode: &InodeRef, f: impl FnOnce(BorrowedFd) -> KResult<T>) -> KResult<T> {
    match &inode.borrow().data {
        Data::Host(h) => h.with_handle(f),
        _ => Err(Errno::EINVAL),
    }
}

/// Reads the host's stat of `inode`'s file into it again.
fn refresh(inode: &InodeRef) -> KResult<()> {
    let st = with_handle(inode, |fd| rustix::fs::fstat(fd).map_err(Errno::from))?;
    fill(&mut inode.borrow_mut(), &st);
    Ok(())
}

/// chmod of the host file (the guest checked the mount and its rights).
pub fn set_mode(inode: &InodeRef, mode: u32) -> KResult<()> {
    with_handle(inode, |fd| {
        if rustix::fs::fstat(fd).map_err(Errno::from)?.st_mode & S_IFMT == S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        // No chmod takes an O_PATH fd before Linux 6.6's fchmodat2; its
        // /proc/self/fd link names exactly the file the handle holds.
        let path = format!("/proc/self/fd/{}", fd.as_raw_fd());
        rustix::fs::chmod(path.as_str(), Mode::from_bits_truncate(mode)).map_err(Errno::from)
    })?;
    refresh(inode)
}

/// chown of the host file (None leaves an id as it is): EPERM where the
/// host does not let cleave's user give the file away.
pub fn set_owner(inode: &InodeRef, uid: Option<u32>, gid: Option<u32>) -> KResult<()> {
    with_handle(inode, |fd| {
        let uid = uid.map(rustix::fs::Uid::from_raw);
        let gid = gid.map(rustix::fs::Gid::from_raw);
        rustix::fs::chownat(fd, "", uid, gid, AtFlags::EMPTY_PATH).map_err(Errno::from)
    })?;
    refresh(inode)
}

/// utimensat of the host file: each time is set, or left (None).
pub fn set_times(
    inode: &InodeRef,
    atime: Option<Duration>,
    mtime: Option<Duration>,
) -> KResult<()> {
    let spec = |t: Option<Duration>| match t {
        Some(t) => Timespec {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        },
        None => Timespec {
            tv_sec: 0,
            tv_nsec: rustix::fs::UTIME_OMIT,
        },
    };
    let times = Timestamps {
        last_access: spec(atime),
        last_modification: spec(mtime),
    };
    with_handle(inode, |fd| {
        rustix::fs::utimensat(fd, "", &times, AtFlags::EMPTY_PATH).map_err(Errno::from)
    })?;
    refresh(inode)
}

impl HostNode {
    /// The file open for reading (the page cache keeps it).
    pub fn open_read(&self) -> KResult<std::fs::File> {
        self.open(OFlags::RDONLY).map(std::fs::File::from)
    }

    /// The file open for reading and writing (the page cache keeps it to
    /// write mapped pages back).
    pub fn open_write(&self) -> KResult<std::fs::File> {
        self.open(OFlags::RDWR).map(std::fs::File::from)
    }

    pub fn readlink(&self) -> KResult<Vec<u8>> {
        let Handle::Entry { dir, name } = &self.handle else {
            return Err(Errno::EINVAL);
        };
        rustix::fs::readlinkat(dir.as_fd(), component(name)?, Vec::new())
            .map(|t| t.into_bytes())
            .map_err(Errno::from)
    }

    /// The host's statfs of the file system this file is on.
    pub fn statfs(&self) -> KResult<rustix::fs::StatFs> {
        let fd = match &self.handle {
            Handle::Dir(fd) | Handle::Entry { dir: fd, .. } => fd,
        };
        rustix::fs::fstatfs(fd.as_fd()).map_err(Errno::from)
    }

    /// The host path of the file now (for `cleave run`'s check of the
    /// program before boot): where the handle's directory is, as the host's
    /// /proc says. Never opened by the kernel.
    pub fn host_path(&self) -> KResult<PathBuf> {
        let (fd, name) = match &self.handle {
            Handle::Dir(fd) => (fd, &[][..]),
            Handle::Entry { dir, name } => (dir, &name[..]),
        };
        let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let dir = std::fs::read_link(link).map_err(|e| Errno::from(&e))?;
        Ok(dir.join(os(name)))
    }
}

impl HostNode {
    /// One pread on the host file.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> KResult<usize> {
        self.open_read()?
            .read_at(buf, offset)
            .map_err(|e| Errno::from(&e))
    }

    /// One pwrite (the mount is writable: the open checked).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> KResult<usize> {
        let n = std::fs::File::from(self.open(OFlags::WRONLY)?)
            .write_at(data, offset)
            .map_err(|e| Errno::from(&e))?;
        self.size = self.size.max(offset + n as u64);
        Ok(n)
    }

    /// fsync (`data_only`: fdatasync) of the host file.
    pub fn sync(&self, data_only: bool) -> KResult<()> {
        let file = self.open_read()?;
        let synced = if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        };
        synced.map_err(|e| Errno::from(&e))
    }

    pub fn truncate(&mut self, len: u64) -> KResult<()> {
        std::fs::File::from(self.open(OFlags::WRONLY)?)
            .set_len(len)
            .map_err(|e| Errno::from(&e))?;
        self.size = len;
        Ok(())
    }

    /// Entries (without "." and ".."), sorted by name.
    pub fn entries(&self) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
        let fd = self.open(OFlags::RDONLY | OFlags::DIRECTORY)?;
        let dir = rustix::fs::Dir::read_from(&fd).map_err(Errno::from)?;
        let mut out = Vec::new();
        for e in dir {
            let e = e.map_err(Errno::from)?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            use rustix::fs::FileType;
            let dtype = match e.file_type() {
                FileType::Directory => 4,
                FileType::Symlink => 10,
                FileType::RegularFile => 8,
                FileType::CharacterDevice => 2,
                FileType::BlockDevice => 6,
                FileType::Fifo => 1,
                FileType::Socket => 12,
                FileType::Unknown => 0,
            };
            out.push((name.to_vec(), e.ino(), dtype));
        }
        out.sort();
        Ok(out)
    }
}

/// Whether the host would let this user access the file with `mode` bits
/// (R_OK 4, W_OK 2, X_OK 1).
pub fn host_access(inode: &Inode, bits: u32) -> bool {
    let Data::Host(h) = &inode.data else {
        return true;
    };
    let flags = rustix::fs::Access::from_bits_truncate(bits);
    match &h.handle {
        Handle::Dir(fd) => rustix::fs::accessat(fd.as_fd(), ".", flags, AtFlags::empty()).is_ok(),
        Handle::Entry { dir, name } => component(name).is_ok_and(|name| {
            rustix::fs::accessat(dir.as_fd(), name, flags, AtFlags::SYMLINK_NOFOLLOW).is_ok()
        }),
    }
}

/// A host FIFO (or socket) the guest opened: the host fd, non-blocking,
/// that its reads and writes use; the kernel polls it and never waits on
/// it (a blocked reader or writer waits as a poller of the host streams
/// does, `task::block`).
pub struct HostStream {
    fd: OwnedFd,
}

impl HostStream {
    /// Opens inode `loc` on the host if it is a device node, FIFO or
    /// socket of a host mount: a device is EACCES (host mounts are nodev),
    /// a socket ENXIO (as Linux). None for any other inode.
    pub fn open_special(loc: &Loc, acc: u32) -> Option<KResult<HostStream>> {
        let i = loc.inode.borrow();
        let Data::Host(h) = &i.data else {
            return None;
        };
        match i.mode & S_IFMT {
            S_IFREG | S_IFDIR | S_IFLNK => None,
            _ => Some(HostStream::open(h, acc)),
        }
    }

    /// Opens host file `node` (a FIFO) with the guest's access mode
    /// (O_RDONLY 0, O_WRONLY 1, O_RDWR 2): ENXIO for a writer while no one
    /// reads, as Linux's non-blocking open.
    pub fn open(node: &HostNode, acc: u32) -> KResult<HostStream> {
        let flags = match acc {
            0 => OFlags::RDONLY,
            1 => OFlags::WRONLY,
            _ => OFlags::RDWR,
        };
        Ok(HostStream {
            fd: node.open(flags)?,
        })
    }
}

impl super::stdio::HostIo for HostStream {
    /// The host's poll(2) answer now for `events` (the host's bits are the
    /// asm-generic ones the guest uses).
    fn ready(&self, events: u16) -> u16 {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let mut p = [PollFd::new(&self.fd, PollFlags::from_bits_retain(events))];
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match rustix::event::poll(&mut p, Some(&now)) {
            Ok(_) => p[0].revents().bits(),
            Err(_) => 0,
        }
    }

    /// One non-blocking read: EAGAIN while there is nothing yet.
    fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        rustix::io::read(&self.fd, buf).map_err(Errno::from)
    }

    /// One non-blocking write: EAGAIN while the FIFO is full.
    fn write(&self, data: &[u8]) -> KResult<usize> {
        rustix::io::write(&self.fd, data).map_err(Errno::from)
    }
}
