//! The virtual file system: inodes, mounts and Linux's path resolution.
//!
//! One host thread runs the whole kernel, so an inode is an
//! `Rc<RefCell<Inode>>` and nothing is locked. Every inode has a kernel-wide
//! unique `id`; a mount is attached to the inode it covers by that id.
//!
//! File systems:
//!
//! - tmpfs ([`Data::Dir`], [`Data::File`], [`Data::Symlink`]): the guest's
//!   `/`, `/tmp` and `/dev` (which holds [`Data::Device`] nodes).
//! - host directories ([`Data::Host`], `host.rs`): a host directory mounted
//!   at a guest path, read-only or writable. Lookups inside it name one
//!   component at a time below its host root; ".." at its root is answered
//!   by the VFS (the mount point's parent, or the process root), and a host
//!   symlink's target is resolved by the VFS in the guest's view, so nothing
//!   resolves outside the mounted directory.
//! - procfs ([`Data::Proc`], `proc/`): made on demand from the task table.
//!
//! Mounts are kept in order (/proc/mounts); one covers a place, (mount,
//! inode id), and a detached one stays valid for whatever is open in it.
//!
//! How the host appears to `cleave run` (`Vfs::host_view_beside`, after
//! unpacking the initramfs, whose /bin, /sbin and /etc then hide the
//! host's; `Vfs::rooted_at` does the same from DIR for `--root DIR`): the
//! guest's `/` is a tmpfs;
//! every top-level entry of the host's `/` except `/tmp`, `/dev` and `/proc`
//! is mounted read-only at the same path (a top-level symlink such as Debian's
//! `/bin -> usr/bin` is copied as a tmpfs symlink). So a program named by its
//! absolute host path is found at the same guest path, the host cwd exists in
//! the guest, and the guest can never write to the host, while `/tmp` is a
//! writable tmpfs and `/dev` holds cleave's own devices. A program or cwd the
//! host view hides (one under the host's /tmp) is made visible by
//! [`Vfs::expose_host`]: its directory alone is mounted, read-only, at its own
//! path inside the tmpfs.
//!
//! Why not the host's `/` itself, read-only, at `/`: the guest needs a
//! writable `/tmp` and its own `/dev` (a read-only host `/tmp` breaks every
//! program that makes a temporary file, and host device nodes must not be
//! opened on the guest's behalf), and mounting over those inside a host
//! mount would need the tmpfs directories to exist on the host. A tmpfs root
//! with the host's top-level directories mounted on it gives the same view of
//! the host with guest-owned /tmp, /dev and /proc.
//!
//! Path resolution (`Vfs::walk`) follows `path_resolution(7)`: absolute paths
//! start at the process root, relative ones at the cwd or a dirfd; "." stays;
//! ".." never climbs above the process root and crosses mount points
//! upward; symlinks in the middle are always followed, the last one only
//! when asked; at most [`MAXSYMLINKS`] symlinks per resolution (ELOOP); a
//! trailing slash requires a directory (ENOTDIR) and follows a final
//! symlink.

pub mod epoll;
pub mod eventfd;
pub mod file;
pub mod host;
pub mod initramfs;
pub mod memfd;
pub mod pagecache;
pub mod pidfd;
pub mod pipe;
pub mod proc;
pub mod signalfd;
pub mod stdio;
pub mod timerfd;
pub mod tty;

use crate::errno::{Errno, KResult};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::Duration;

pub use file::{FileKind, OpenFile};
pub use host::{host_access, rename_host, HostNode};

/// st_dev of the root tmpfs; each later file system instance gets the next.
const TMPFS_DEV: u64 = 0x2a;

/// Linux's MAXSYMLINKS.
pub const MAXSYMLINKS: u32 = 40;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;

pub type InodeRef = Rc<RefCell<Inode>>;

/// A character device cleave implements itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    Null,
    Zero,
    Full,
    Random,
    Urandom,
    /// /dev/tty and /dev/console: the host's stdin and stdout.
    Console,
}

impl Device {
    /// (major, minor) as Linux numbers them.
    pub fn rdev(self) -> u64 {
        let (major, minor) = match self {
            Device::Null => (1, 3),
            Device::Zero => (1, 5),
            Device::Full => (1, 7),
            Device::Random => (1, 8),
            Device::Urandom => (1, 9),
            Device::Console => (5, 1),
        };
        (major << 8) | minor
    }
}

/// What an inode holds.
pub enum Data {
    /// A tmpfs directory: its entries by name.
    Dir(BTreeMap<Vec<u8>, InodeRef>),
    File(pagecache::TmpFile),
    Symlink(Vec<u8>),
    Device(Device),
    /// A file of a host directory mount.
    Host(HostNode),
    /// A procfs node (`proc/`): its content is made at open time.
    Proc(proc::ProcNode),
    /// A pipe or host stream as a /proc/PID/fd link leads to it: opening
    /// it opens the same pipe or stream again, as Linux opens a pipe's
    /// pipefs inode (`cat /dev/stdin`, bash's `<(...)`).
    Stream(Stream),
}

#[derive(Clone)]
pub enum Stream {
    Pipe(Weak<RefCell<pipe::Pipe>>),
    Host(crate::fs::stdio::HostStdio),
}

pub struct Inode {
    /// Kernel-wide identity.
    pub id: u64,
    pub dev: u64,
    pub ino: u64,
    /// File type and permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub atime: Duration,
    pub mtime: Duration,
    pub ctime: Duration,
    pub data: Data,
    /// A directory's parent (for "..") and its name there (for getcwd).
    pub parent: Weak<RefCell<Inode>>,
    pub name: Vec<u8>,
    /// How many processes run it ([`ExeFile`]): opening it for writing is
    /// ETXTBSY while any does.
    pub running: u32,
    /// A tmpfs inode the guest made: its charge against tmpfs's limits.
    pub charge: Option<crate::mm::TmpfsCharge>,
}

/// The program a process runs (Linux's mm->exe_file): its path, which
/// /proc/PID/exe shows, and its inode, kept from writers while this lives
/// (a fork's copy counts too). The embedded init has no inode.
pub struct ExeFile {
    pub path: PathBuf,
    inode: Option<InodeRef>,
}

impl ExeFile {
    pub fn new(path: PathBuf, inode: Option<InodeRef>) -> ExeFile {
        if let Some(i) = &inode {
            i.borrow_mut().running += 1;
        }
        ExeFile { path, inode }
    }
}

impl Clone for ExeFile {
    fn clone(&self) -> ExeFile {
        ExeFile::new(self.path.clone(), self.inode.clone())
    }
}

impl Drop for ExeFile {
    fn drop(&mut self) {
        if let Some(i) = &self.inode {
            i.borrow_mut().running -= 1;
        }
    }
}

impl Inode {
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    pub fn size(&self) -> u64 {
        match &self.data {
            Data::File(f) => f.size(),
            Data::Symlink(d) => d.len() as u64,
            Data::Host(h) => h.size,
            Data::Dir(_) => 4096,
            Data::Device(_) | Data::Proc(_) | Data::Stream(_) => 0,
        }
    }

    /// d_type for getdents64.
    pub fn dtype(&self) -> u8 {
        match self.mode & S_IFMT {
            S_IFDIR => 4,
            S_IFREG => 8,
            S_IFLNK => 10,
            S_IFCHR => 2,
            S_IFIFO => 1,
            _ => 0,
        }
    }
}

/// A place in the tree: an inode as reached through a mount.
#[derive(Clone)]
pub struct Loc {
    pub mnt: usize,
    pub inode: InodeRef,
}

impl Loc {
    pub fn same(&self, other: &Loc) -> bool {
        self.mnt == other.mnt && Rc::ptr_eq(&self.inode, &other.inode)
    }

    pub fn is_dir(&self) -> bool {
        self.inode.borrow().is_dir()
    }
}

/// The kinds of file system that can be mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsType {
    Tmpfs,
    Proc,
    /// A host directory.
    Host,
}

impl FsType {
    /// The name mount(2) takes and /proc/mounts shows.
    pub fn name(self) -> &'static str {
        match self {
            FsType::Tmpfs => "tmpfs",
            FsType::Proc => "proc",
            FsType::Host => "hostfs",
        }
    }
}

struct Mount {
    root: InodeRef,
    /// Where it is attached (None for the root file system and for a
    /// detached mount).
    on: Option<Loc>,
    readonly: bool,
    fstype: FsType,
    /// The source /proc/mounts shows (a device name).
    source: Vec<u8>,
    /// Unmounted: nothing reaches it any more, but the places open in it
    /// stay valid (Linux's lazy detach keeps them the same way).
    detached: bool,
}

/// One line of /proc/mounts, before formatting.
pub struct MountInfo {
    pub source: Vec<u8>,
    pub point: Vec<u8>,
    pub fstype: FsType,
    pub readonly: bool,
}

/// A path split for creation: the parent directory and the last name.
pub struct Parent {
    pub dir: Loc,
    pub name: Vec<u8>,
    /// The path ended in '/'.
    pub trailing_slash: bool,
}

pub struct Vfs {
    mounts: Vec<Mount>,
    /// Mount index by the place it covers: (mount, inode id).
    covered: HashMap<(usize, u64), usize>,
    next_id: Cell<u64>,
    /// The next st_dev for a new file system instance.
    next_dev: Cell<u64>,
    /// What procfs knows of the processes (see `proc`).
    pub proc: RefCell<proc::Snapshot>,
    /// The console's terminal state (see `tty`).
    pub console: RefCell<tty::Console>,
    /// Each user's pipe capacity (pipe-user-pages-soft, see `pipe`).
    pub pipe_users: Rc<pipe::PipeUsers>,
    /// The host's paths are the guest's (the host view), so the host's
    /// cwd is where the first process starts.
    host_paths: bool,
}

impl Default for Vfs {
    fn default() -> Self {
        Vfs::new()
    }
}

impl Vfs {
    /// An empty tmpfs root with /tmp (1777) and /dev (devices, /dev/shm).
    pub fn new() -> Vfs {
        let mut vfs = Vfs {
            mounts: Vec::new(),
            covered: HashMap::new(),
            next_id: Cell::new(1),
            next_dev: Cell::new(TMPFS_DEV + 1),
            proc: RefCell::default(),
            console: RefCell::default(),
            pipe_users: Rc::default(),
            host_paths: false,
        };
        let root = vfs.new_inode(S_IFDIR | 0o755, Data::Dir(BTreeMap::new()), Duration::ZERO);
        vfs.mounts.push(Mount {
            root,
            on: None,
            readonly: false,
            fstype: FsType::Tmpfs,
            // Not "rootfs": df and friends skip that name.
            source: b"tmpfs".to_vec(),
            detached: false,
        });
        let root = vfs.root();
        vfs.mkdir(&root, b"tmp", 0o1777).expect("fresh root");
        let dev = vfs.mkdir(&root, b"dev", 0o755).expect("fresh root");
        for (name, d) in [
            (&b"null"[..], Device::Null),
            (b"zero", Device::Zero),
            (b"full", Device::Full),
            (b"random", Device::Random),
            (b"urandom", Device::Urandom),
            (b"tty", Device::Console),
            (b"console", Device::Console),
        ] {
            let mode = if d == Device::Console { 0o620 } else { 0o666 };
            vfs.create(&dev, name, S_IFCHR | mode, Data::Device(d), Duration::ZERO)
                .expect("fresh /dev");
        }
        // /dev/shm for shm_open and sem_open: a tmpfs directory.
        vfs.mkdir(&dev, b"shm", 0o1777).expect("fresh /dev");
        // The links udev makes on Linux, which bash's process substitution
        // (/dev/fd/63) and `cat /dev/stdin` expect.
        for (name, target) in [
            (&b"fd"[..], &b"/proc/self/fd"[..]),
            (b"stdin", b"/proc/self/fd/0"),
            (b"stdout", b"/proc/self/fd/1"),
            (b"stderr", b"/proc/self/fd/2"),
        ] {
            let link = Data::Symlink(target.to_vec());
            vfs.create(&dev, name, S_IFLNK | 0o777, link, Duration::ZERO)
                .expect("fresh /dev");
        }
        vfs
    }

    /// The host's view beside a small system of the guest's own (what
    /// `cleave run` shows): `archive`, an initramfs, is unpacked first, so
    /// its /bin, /sbin and /etc (riscv64 programs: the shell that system()
    /// runs) are the guest's; the host's other top-level entries are
    /// mounted read-only at their paths (see the module comment).
    pub fn host_view_beside(archive: &[u8]) -> Result<Vfs, initramfs::Error> {
        let system = Vfs::new();
        initramfs::unpack(&system, archive)?;
        let mut vfs = Vfs::view_of(system, std::path::Path::new("/"), false);
        vfs.host_paths = true;
        Ok(vfs)
    }

    /// Where the first process starts: the host's cwd in the host view,
    /// else `/`.
    pub fn boot_cwd(&self) -> Vec<u8> {
        match std::env::current_dir() {
            Ok(cwd) if self.host_paths => cwd.into_os_string().into_encoded_bytes(),
            _ => b"/".to_vec(),
        }
    }

    /// The guest's `/` made of host directory `dir` (`cleave run --root`):
    /// its top-level entries but tmp, dev and proc, mounted at the same
    /// path (writable with `rw`), on a tmpfs root that keeps the kernel's
    /// own /tmp, /dev and /proc. A top-level regular file is linked in as
    /// it is. Fails when `dir` is not a readable directory.
    pub fn rooted_at(dir: &std::path::Path, rw: bool) -> std::io::Result<Vfs> {
        std::fs::read_dir(dir)?;
        Ok(Vfs::view_of(Vfs::new(), dir, rw))
    }

    /// `vfs` with the top-level entries of host directory `dir` it does not
    /// have yet (but tmp, dev and proc) added, and procfs at /proc.
    fn view_of(mut vfs: Vfs, dir: &std::path::Path, rw: bool) -> Vfs {
        let root = vfs.root();
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.flatten().collect())
            .unwrap_or_default();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().into_encoded_bytes();
            if matches!(&name[..], b"tmp" | b"dev" | b"proc") || vfs.lookup(&root, &name).is_ok() {
                continue;
            }
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_symlink() {
                if let Ok(target) = std::fs::read_link(e.path()) {
                    let target = target.into_os_string().into_encoded_bytes();
                    let _ = vfs.create(
                        &root,
                        &name,
                        S_IFLNK | 0o777,
                        Data::Symlink(target),
                        Duration::ZERO,
                    );
                }
            } else if ft.is_dir() {
                if let Ok(point) = vfs.mkdir(&root, &name, 0o755) {
                    let _ = vfs.mount_host(&point, e.path(), !rw);
                }
            } else if let Ok(inode) = host::root_inode(&vfs, e.path(), !rw) {
                let _ = vfs.link(&root, &name, &inode, Duration::ZERO);
            }
        }
        let point = vfs.lookup(&root, b"proc").unwrap_or_else(|_| {
            vfs.mkdir(&root, b"proc", 0o555)
                .expect("a root without /proc")
        });
        vfs.mount_new(&point, FsType::Proc, b"proc", false);
        vfs
    }

    /// Makes host directory `dir` (absolute) visible at the same guest
    /// path, when nothing is at that path in the guest (it lies under
    /// the host's /tmp, say): the missing directories are made in tmpfs and
    /// `dir` is mounted read-only on the last. `cleave run` exposes the
    /// program's directory and the host cwd this way. A path the guest
    /// already has (/tmp itself, /dev) is left alone; see
    /// [`Vfs::expose_host_file`] for a program directly in one.
    pub fn expose_host(&mut self, dir: &std::path::Path) {
        let bytes = dir.as_os_str().as_encoded_bytes();
        if !dir.is_absolute() || !dir.is_dir() {
            return;
        }
        let root = self.root();
        // Whatever the guest already has there wins: the host's /tmp is
        // never mounted over the guest's.
        if self.walk(&root, &root, bytes, true).is_ok() {
            return;
        }
        if let Ok(point) = self.make_dirs(bytes) {
            let _ = self.mount_host(&point, dir.to_path_buf(), true);
        }
    }

    /// Makes host file `file` (absolute) visible at the same guest path when
    /// its directory is one of the kernel's own (the host's /tmp/prog is
    /// not in the guest's /tmp): it is linked in read-only, alone.
    pub fn expose_host_file(&mut self, file: &std::path::Path) {
        let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
            return;
        };
        let root = self.root();
        let path = file.as_os_str().as_encoded_bytes();
        if !file.is_absolute() || !file.is_file() || self.walk(&root, &root, path, true).is_ok() {
            return;
        }
        let Ok(dir) = self.walk(&root, &root, dir.as_os_str().as_encoded_bytes(), true) else {
            return;
        };
        if matches!(dir.inode.borrow().data, Data::Dir(_)) {
            if let Ok(inode) = host::root_inode(self, file.to_path_buf(), true) {
                let _ = self.link(&dir, name.as_encoded_bytes(), &inode, Duration::ZERO);
            }
        }
    }

    /// `cleave run --mount`: host directory `host` over guest directory
    /// `at` (an absolute path), which is made if it is missing and its
    /// parent is the kernel's own (tmpfs): nothing is made on the host.
    pub fn mount_host_at(&mut self, at: &[u8], host: PathBuf, readonly: bool) -> KResult<()> {
        let point = self.make_dirs(at)?;
        self.mount_host(&point, host, readonly)
    }

    /// The host file guest path `path` (from `/`) leads to, if it is one
    /// (`cleave run --root` checks the program before booting).
    pub fn host_path_of(&self, path: &[u8]) -> KResult<Option<PathBuf>> {
        let root = self.root();
        let loc = self.walk(&root, &root, path, true)?;
        let i = loc.inode.borrow();
        Ok(match &i.data {
            Data::Host(h) => Some(h.host_path()?),
            _ => None,
        })
    }

    /// Walks absolute `path` without following symlinks, making missing
    /// directories in tmpfs.
    fn make_dirs(&mut self, path: &[u8]) -> KResult<Loc> {
        let mut cur = self.root();
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            if comp == b"." || comp == b".." {
                return Err(Errno::EINVAL);
            }
            cur = match self.lookup_crossed(&cur, comp) {
                Ok(l) if l.is_dir() => l,
                Ok(_) => return Err(Errno::ENOTDIR),
                Err(Errno::ENOENT) if matches!(cur.inode.borrow().data, Data::Dir(_)) => {
                    self.mkdir(&cur, comp, 0o755)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(cur)
    }

    /// Mounts host directory `host` over directory `at`. /proc/mounts
    /// names its source "hostfs": the guest never learns host paths.
    pub fn mount_host(&mut self, at: &Loc, host: PathBuf, readonly: bool) -> KResult<()> {
        let root = host::root_inode(self, host, readonly)?;
        self.attach(at, root, readonly, FsType::Host, b"hostfs".to_vec());
        Ok(())
    }

    /// Mounts a new, empty instance of `fstype` (tmpfs or proc) over `at`.
    pub fn mount_new(&mut self, at: &Loc, fstype: FsType, source: &[u8], readonly: bool) {
        let (mode, data) = match fstype {
            FsType::Proc => (S_IFDIR | 0o555, Data::Proc(proc::ProcNode::root())),
            _ => (S_IFDIR | 0o1777, Data::Dir(BTreeMap::new())),
        };
        let root = self.new_inode(mode, data, Duration::ZERO);
        let dev = self.next_dev.get();
        self.next_dev.set(dev + 1);
        root.borrow_mut().dev = dev;
        self.attach(at, root, readonly, fstype, source.to_vec());
    }

    /// MS_BIND: the tree at `src` also appears at `at`.
    pub fn bind(&mut self, src: &Loc, at: &Loc, readonly: bool) {
        let m = &self.mounts[src.mnt];
        let (fstype, source) = (m.fstype, m.source.clone());
        self.attach(at, src.inode.clone(), readonly, fstype, source);
    }

    fn attach(
        &mut self,
        at: &Loc,
        root: InodeRef,
        readonly: bool,
        fstype: FsType,
        source: Vec<u8>,
    ) {
        let idx = self.mounts.len();
        self.mounts.push(Mount {
            root,
            on: Some(at.clone()),
            readonly,
            fstype,
            source,
            detached: false,
        });
        self.covered.insert((at.mnt, at.inode.borrow().id), idx);
    }

    /// Whether `loc` is the root of a mount (what umount needs).
    pub fn is_mount_root(&self, loc: &Loc) -> bool {
        Rc::ptr_eq(&loc.inode, &self.mounts[loc.mnt].root)
    }

    /// MS_REMOUNT: the mount `loc` is the root of becomes read-only or
    /// writable.
    pub fn remount(&mut self, loc: &Loc, readonly: bool) {
        self.mounts[loc.mnt].readonly = readonly;
    }

    /// Whether any mount is attached inside mount `parent`.
    pub fn has_submounts(&self, parent: usize) -> bool {
        self.mounts
            .iter()
            .any(|m| !m.detached && m.on.as_ref().is_some_and(|on| on.mnt == parent))
    }

    /// Detaches the mount whose root is `loc` (the caller has checked it is
    /// one and not busy). The root file system cannot go: EINVAL.
    pub fn umount(&mut self, loc: &Loc) -> KResult<()> {
        let m = &mut self.mounts[loc.mnt];
        let Some(on) = m.on.take() else {
            return Err(Errno::EINVAL);
        };
        m.detached = true;
        self.covered.remove(&(on.mnt, on.inode.borrow().id));
        Ok(())
    }

    /// The type of the file system `loc` is on.
    pub fn fs_of(&self, loc: &Loc) -> FsType {
        match &loc.inode.borrow().data {
            Data::Host(_) => FsType::Host,
            _ => self.mounts[loc.mnt].fstype,
        }
    }

    /// The mounts visible from `root`, in mount order (/proc/mounts).
    pub fn mounts(&self, root: &Loc) -> Vec<MountInfo> {
        let mut out = Vec::new();
        for (i, m) in self.mounts.iter().enumerate() {
            if m.detached {
                continue;
            }
            let here = Loc {
                mnt: i,
                inode: m.root.clone(),
            };
            // Only what lies below the reader's root, as Linux shows it.
            if !self.is_below(root, &here) {
                continue;
            }
            out.push(MountInfo {
                source: m.source.clone(),
                point: self.path_of(root, &here),
                fstype: m.fstype,
                readonly: m.readonly,
            });
        }
        out
    }

    /// Whether `loc` is `root` or below it.
    pub fn is_below(&self, root: &Loc, loc: &Loc) -> bool {
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                return true;
            }
            let up = self.parent(root, &cur);
            if up.same(&cur) {
                return false;
            }
            cur = up;
        }
        false
    }

    pub fn root(&self) -> Loc {
        Loc {
            mnt: 0,
            inode: self.mounts[0].root.clone(),
        }
    }

    pub fn readonly(&self, loc: &Loc) -> bool {
        self.mounts[loc.mnt].readonly
            || matches!(&loc.inode.borrow().data, Data::Host(h) if h.readonly())
    }

    pub fn new_inode(&self, mode: u32, data: Data, now: Duration) -> InodeRef {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        Rc::new(RefCell::new(Inode {
            id,
            dev: TMPFS_DEV,
            ino: id,
            mode,
            nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
            uid: 0,
            gid: 0,
            atime: now,
            mtime: now,
            ctime: now,
            data,
            parent: Weak::new(),
            name: Vec::new(),
            running: 0,
            charge: None,
        }))
    }

    /// Creates `name` in directory `dir`: EEXIST, EROFS, ENOTDIR.
    pub fn create(
        &self,
        dir: &Loc,
        name: &[u8],
        mode: u32,
        data: Data,
        now: Duration,
    ) -> KResult<Loc> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if self.lookup(dir, name).is_ok() {
            return Err(Errno::EEXIST);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let inode = host::create(self, &dir.inode, name, mode, &data)?;
            return Ok(Loc {
                mnt: dir.mnt,
                inode,
            });
        }
        let inode = self.new_inode(mode, data, now);
        inode.borrow_mut().dev = dir.inode.borrow().dev;
        self.link(dir, name, &inode, now)?;
        Ok(Loc {
            mnt: dir.mnt,
            inode,
        })
    }

    /// An empty tmpfs directory `name` in `dir`, owned by root and dated at
    /// boot: the directories the kernel makes itself.
    pub fn mkdir(&self, dir: &Loc, name: &[u8], perm: u32) -> KResult<Loc> {
        let data = Data::Dir(BTreeMap::new());
        self.create(dir, name, S_IFDIR | perm, data, Duration::ZERO)
    }

    /// Adds an entry `name` for `inode` in directory `dir` (a hard link;
    /// on a host directory, to a file of the same mount).
    pub fn link(&self, dir: &Loc, name: &[u8], inode: &InodeRef, now: Duration) -> KResult<()> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let (from, old) = {
                let i = inode.borrow();
                (i.parent.upgrade().ok_or(Errno::ENOENT)?, i.name.clone())
            };
            return host::link(&from, &old, &dir.inode, name);
        }
        let mut d = dir.inode.borrow_mut();
        let is_dir = inode.borrow().is_dir();
        let Data::Dir(entries) = &mut d.data else {
            return Err(if d.is_dir() {
                Errno::EROFS
            } else {
                Errno::ENOTDIR
            });
        };
        if entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        entries.insert(name.to_vec(), inode.clone());
        d.mtime = now;
        d.ctime = now;
        if is_dir {
            d.nlink += 1;
        }
        // Files remember a name too, the last one linked, for the paths
        // /proc/PID/fd shows.
        let mut i = inode.borrow_mut();
        i.parent = Rc::downgrade(&dir.inode);
        i.name = name.to_vec();
        Ok(())
    }

    /// Removes entry `name` from directory `dir`, returning it.
    pub fn unlink_entry(&self, dir: &Loc, name: &[u8], now: Duration) -> KResult<InodeRef> {
        if self.readonly(dir) {
            return Err(Errno::EROFS);
        }
        if matches!(dir.inode.borrow().data, Data::Host(_)) {
            let victim = self.lookup(dir, name)?.inode;
            let is_dir = victim.borrow().is_dir();
            host::unlink(&dir.inode, name, is_dir)?;
            let mut i = victim.borrow_mut();
            i.nlink = if is_dir { 0 } else { i.nlink.saturating_sub(1) };
            drop(i);
            return Ok(victim);
        }
        let mut d = dir.inode.borrow_mut();
        let Data::Dir(entries) = &mut d.data else {
            return Err(Errno::ENOTDIR);
        };
        let inode = entries.remove(name).ok_or(Errno::ENOENT)?;
        d.mtime = now;
        d.ctime = now;
        let mut i = inode.borrow_mut();
        if i.is_dir() {
            d.nlink -= 1;
            i.nlink = 0;
        } else {
            i.nlink = i.nlink.saturating_sub(1);
        }
        i.ctime = now;
        drop(i);
        Ok(inode)
    }

    /// The entry `name` of directory `dir` (no mount crossing, no "."/"..").
    pub fn lookup(&self, dir: &Loc, name: &[u8]) -> KResult<Loc> {
        let inode = {
            let d = dir.inode.borrow();
            match &d.data {
                Data::Dir(entries) => entries.get(name).cloned().ok_or(Errno::ENOENT)?,
                Data::Host(_) => {
                    drop(d);
                    host::lookup(self, &dir.inode, name)?
                }
                Data::Proc(_) => {
                    drop(d);
                    proc::lookup(self, &dir.inode, name)?
                }
                _ => return Err(Errno::ENOTDIR),
            }
        };
        Ok(Loc {
            mnt: dir.mnt,
            inode,
        })
    }

    /// What is seen at `loc`: the root of a mount attached there, if any.
    fn cross_down(&self, mut loc: Loc) -> Loc {
        loop {
            let id = loc.inode.borrow().id;
            let Some(&m) = self.covered.get(&(loc.mnt, id)) else {
                break;
            };
            loc = Loc {
                mnt: m,
                inode: self.mounts[m].root.clone(),
            };
        }
        loc
    }

    /// "..": never above `root`, upward across mount points.
    pub fn parent(&self, root: &Loc, cur: &Loc) -> Loc {
        let mut cur = cur.clone();
        loop {
            if cur.same(root) {
                return cur;
            }
            let m = &self.mounts[cur.mnt];
            if Rc::ptr_eq(&cur.inode, &m.root) {
                match &m.on {
                    Some(on) => {
                        cur = on.clone();
                        continue;
                    }
                    None => return cur,
                }
            }
            let parent = cur.inode.borrow().parent.upgrade();
            return match parent {
                Some(p) => Loc {
                    mnt: cur.mnt,
                    inode: p,
                },
                None => cur,
            };
        }
    }

    /// The target of a symlink.
    pub fn readlink(&self, loc: &Loc) -> KResult<Vec<u8>> {
        let i = loc.inode.borrow();
        match &i.data {
            Data::Symlink(t) => Ok(t.clone()),
            Data::Host(h) if i.is_symlink() => h.readlink(),
            Data::Proc(p) => proc::readlink(self, p),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Resolves `path` from `start` (relative) or `root` (absolute).
    pub fn walk(&self, root: &Loc, start: &Loc, path: &[u8], follow: bool) -> KResult<Loc> {
        let mut links = 0;
        self.walk_inner(root, start, path, follow, &mut links)
    }

    fn walk_inner(
        &self,
        root: &Loc,
        start: &Loc,
        path: &[u8],
        follow: bool,
        links: &mut u32,
    ) -> KResult<Loc> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let mut cur = if path[0] == b'/' {
            root.clone()
        } else {
            start.clone()
        };
        let trailing = path.ends_with(b"/");
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, comp) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            if !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            if *comp == b"." {
                continue;
            }
            if *comp == b".." {
                cur = self.parent(root, &cur);
                continue;
            }
            if comp.len() > 255 {
                return Err(Errno::ENAMETOOLONG);
            }
            let next = self.cross_down(self.lookup(&cur, comp)?);
            if next.inode.borrow().is_symlink() && (!last || follow || trailing) {
                *links += 1;
                if *links > MAXSYMLINKS {
                    return Err(Errno::ELOOP);
                }
                // procfs's fd, cwd and root links lead to the file itself,
                // not to what their text names (Linux's magic links).
                if let Some(to) = proc::follow(self, &next) {
                    cur = to?;
                    continue;
                }
                let target = self.readlink(&next)?;
                cur = self.walk_inner(root, &cur, &target, true, links)?;
            } else {
                cur = next;
            }
        }
        if trailing && !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        Ok(cur)
    }

    /// Resolves all but the last component of `path`.
    pub fn walk_parent(&self, root: &Loc, start: &Loc, path: &[u8]) -> KResult<Parent> {
        if path.is_empty() {
            return Err(Errno::ENOENT);
        }
        let trimmed_len = path.iter().rposition(|&b| b != b'/').map_or(0, |p| p + 1);
        let trailing_slash = trimmed_len < path.len();
        let trimmed = &path[..trimmed_len];
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(p) => (&trimmed[..p + 1], &trimmed[p + 1..]),
            None if trimmed.is_empty() => (&b"/"[..], &b"."[..]),
            None => (&b""[..], trimmed),
        };
        let dir = if dir.is_empty() {
            start.clone()
        } else {
            self.walk(root, start, dir, true)?
        };
        if !dir.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(Parent {
            dir,
            name: name.to_vec(),
            trailing_slash,
        })
    }

    /// The entry `name` of `dir` with any mount on it crossed.
    pub fn lookup_crossed(&self, dir: &Loc, name: &[u8]) -> KResult<Loc> {
        Ok(self.cross_down(self.lookup(dir, name)?))
    }

    /// The absolute path of directory `loc` as seen from `root` (getcwd).
    pub fn path_of(&self, root: &Loc, loc: &Loc) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = loc.clone();
        for _ in 0..4096 {
            if cur.same(root) {
                break;
            }
            let m = &self.mounts[cur.mnt];
            if Rc::ptr_eq(&cur.inode, &m.root) {
                match &m.on {
                    Some(on) => {
                        cur = on.clone();
                        continue;
                    }
                    None => break,
                }
            }
            let Some(p) = cur.inode.borrow().parent.upgrade() else {
                break;
            };
            parts.push(cur.inode.borrow().name.clone());
            cur = Loc {
                mnt: cur.mnt,
                inode: p,
            };
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }

    /// The entries of a directory, "." and ".." first: (name, ino, d_type).
    pub fn entries(&self, root: &Loc, dir: &Loc) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
        let parent = self.parent(root, dir);
        let mut out = vec![
            (b".".to_vec(), dir.inode.borrow().ino, 4),
            (b"..".to_vec(), parent.inode.borrow().ino, 4),
        ];
        let d = dir.inode.borrow();
        match &d.data {
            Data::Dir(entries) => {
                for (name, i) in entries {
                    let i = i.borrow();
                    out.push((name.clone(), i.ino, i.dtype()));
                }
            }
            Data::Host(h) => out.extend(h.entries()?),
            Data::Proc(_) => {
                drop(d);
                out.extend(proc::entries(self, dir)?);
            }
            _ => return Err(Errno::ENOTDIR),
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host directory with links pointing outward, mounted at /mnt.
    fn confined() -> (Vfs, Loc, PathBuf) {
        let dir = std::env::temp_dir().join(format!("cleave-vfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("file"), b"inside").unwrap();
        std::os::unix::fs::symlink("/", dir.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../..", dir.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("/file", dir.join("absfile")).unwrap();
        let mut vfs = Vfs::new();
        let root = vfs.root();
        let mnt = vfs.mkdir(&root, b"mnt", 0o755).unwrap();
        vfs.mount_host(&mnt, dir.clone(), true).unwrap();
        (vfs, root, dir)
    }

    #[test]
    fn host_directories_stay_confined() {
        let (vfs, root, dir) = confined();
        let r = |p: &[u8]| vfs.walk(&root, &root, p, true);
        let inside = r(b"/mnt/file").unwrap();
        assert!(matches!(inside.inode.borrow().data, Data::Host(_)));
        // ".." at the mount's root is the mount point's parent: the guest /.
        assert!(r(b"/mnt/..").unwrap().same(&root));
        assert!(r(b"/mnt/../../..").unwrap().same(&root));
        // Outward symlinks resolve in the guest's view.
        assert!(r(b"/mnt/abs").unwrap().same(&root));
        assert!(r(b"/mnt/sub/up").unwrap().same(&root));
        // "/file" is the guest's /file, which does not exist.
        assert_eq!(r(b"/mnt/absfile").err(), Some(Errno::ENOENT));
        // A host mount as the process root: nothing above it.
        let mnt = r(b"/mnt").unwrap();
        let from = |p: &[u8]| vfs.walk(&mnt, &mnt, p, true);
        assert!(from(b"..").unwrap().same(&mnt));
        assert!(from(b"/abs/sub/up/..").unwrap().same(&mnt));
        assert!(from(b"absfile").is_ok());
        assert_eq!(vfs.path_of(&root, &from(b"sub").unwrap()), b"/mnt/sub");
        // Read-only: no creation.
        let err = vfs.create(
            &mnt,
            b"new",
            S_IFREG | 0o644,
            Data::File(Default::default()),
            Duration::ZERO,
        );
        assert_eq!(err.err(), Some(Errno::EROFS));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mounts_stack_bind_and_detach() {
        let mut vfs = Vfs::new();
        let root = vfs.root();
        let t = Duration::ZERO;
        let dir = |vfs: &Vfs, at: &Loc, name: &[u8]| {
            vfs.create(at, name, S_IFDIR | 0o755, Data::Dir(BTreeMap::new()), t)
                .unwrap()
        };
        let m = dir(&vfs, &root, b"m");
        dir(&vfs, &m, b"under");
        vfs.mount_new(&m, FsType::Tmpfs, b"one", false);
        let r = |vfs: &Vfs, p: &[u8]| vfs.walk(&root, &root, p, true);
        // The mount hides what was there, and stacks.
        assert_eq!(r(&vfs, b"/m/under").err(), Some(Errno::ENOENT));
        let first = r(&vfs, b"/m").unwrap();
        dir(&vfs, &first, b"in-first");
        vfs.mount_new(&first, FsType::Tmpfs, b"two", true);
        let second = r(&vfs, b"/m").unwrap();
        assert!(vfs.is_mount_root(&second) && vfs.readonly(&second));
        assert_eq!(r(&vfs, b"/m/in-first").err(), Some(Errno::ENOENT));
        assert!(r(&vfs, b"/m/..").unwrap().same(&root));
        let points: Vec<_> = vfs.mounts(&root).into_iter().map(|m| m.point).collect();
        assert_eq!(points, [&b"/"[..], b"/m", b"/m"]);
        // Unmounting the top one shows the first again; what was open in
        // the detached one stays usable.
        vfs.umount(&second).unwrap();
        assert!(r(&vfs, b"/m/in-first").is_ok());
        assert!(second.is_dir());
        // A bind mount shows the same directory elsewhere.
        let b = dir(&vfs, &root, b"b");
        let first = r(&vfs, b"/m").unwrap();
        vfs.bind(&first, &b, false);
        let seen = r(&vfs, b"/b/in-first").unwrap();
        assert!(Rc::ptr_eq(
            &seen.inode,
            &r(&vfs, b"/m/in-first").unwrap().inode
        ));
        assert_eq!(vfs.umount(&root).err(), Some(Errno::EINVAL));
    }

    #[test]
    fn writable_host_mounts_never_follow_host_symlinks() {
        let top = std::env::temp_dir().join(format!("cleave-vfs-rw-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&top);
        let (w, outside) = (top.join("w"), top.join("outside"));
        std::fs::create_dir_all(w.join("d")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let mut vfs = Vfs::new();
        let root = vfs.root();
        vfs.mount_host_at(b"/w", w.clone(), false).unwrap();
        let d = vfs.walk(&root, &root, b"/w/d", true).unwrap();
        let t = Duration::ZERO;
        let file = |vfs: &Vfs, at: &Loc, name: &[u8]| {
            vfs.create(at, name, S_IFREG | 0o644, Data::File(Default::default()), t)
        };
        assert!(file(&vfs, &d, b"x").is_ok());
        assert!(w.join("d/x").exists());
        // Behind the guest's back, the directory it holds becomes a link
        // to somewhere outside: the guest still holds the directory, now
        // d2, and nothing appears outside.
        std::fs::rename(w.join("d"), w.join("d2")).unwrap();
        std::os::unix::fs::symlink(&outside, w.join("d")).unwrap();
        assert!(file(&vfs, &d, b"y").is_ok());
        assert!(w.join("d2/y").exists());
        // The mount's own directory too: the mount keeps it.
        std::fs::rename(&w, top.join("w2")).unwrap();
        std::os::unix::fs::symlink(&outside, &w).unwrap();
        let w = top.join("w2");
        assert!(file(&vfs, &vfs.walk(&root, &root, b"/w", true).unwrap(), b"z").is_ok());
        assert!(w.join("z").exists());
        // A fresh lookup of the name that is a symlink now is the guest's
        // symlink, resolved in the guest: /w/d leads to the guest's path.
        let link = vfs.walk(&root, &root, b"/w/d", false).unwrap();
        assert!(link.inode.borrow().is_symlink());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        // A read-only mount refuses, even where the host would allow.
        vfs.mount_host_at(b"/ro", w.clone(), true).unwrap();
        let ro = vfs.walk(&root, &root, b"/ro", true).unwrap();
        assert_eq!(file(&vfs, &ro, b"z").err(), Some(Errno::EROFS));
        std::fs::remove_dir_all(top).unwrap();
    }

    #[test]
    fn symlink_loops_and_trailing_slashes() {
        let vfs = Vfs::new();
        let root = vfs.root();
        let t = Duration::ZERO;
        vfs.create(
            &root,
            b"a",
            S_IFLNK | 0o777,
            Data::Symlink(b"b".to_vec()),
            t,
        )
        .unwrap();
        vfs.create(
            &root,
            b"b",
            S_IFLNK | 0o777,
            Data::Symlink(b"a".to_vec()),
            t,
        )
        .unwrap();
        vfs.create(
            &root,
            b"f",
            S_IFREG | 0o644,
            Data::File(Default::default()),
            t,
        )
        .unwrap();
        assert_eq!(
            vfs.walk(&root, &root, b"/a", true).err(),
            Some(Errno::ELOOP)
        );
        assert!(vfs.walk(&root, &root, b"/a", false).is_ok());
        assert_eq!(
            vfs.walk(&root, &root, b"/f/", true).err(),
            Some(Errno::ENOTDIR)
        );
        assert!(vfs.walk(&root, &root, b"/tmp/./../dev/null", true).is_ok());
    }
}
