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
//! Where things are: the tree ([`Vfs`]) here, inodes and places in
//! `inode.rs`, mounts and the host's view in `mount.rs`, names and path
//! resolution in `namei.rs`; open files in `file.rs` (the [`FileOps`]
//! trait) with one module per kind of open file (`pipe.rs`, `stdio.rs`,
//! `fifo.rs`, `tmpfs.rs`, `hostfile.rs`, `dir.rs`, `dev.rs`,
//! `proc/file.rs`, `eventfd.rs`, `pidfd.rs`), and `open.rs`, which picks
//! the kind an open of an inode makes.
//!
//! [`FileOps`]: file::FileOps
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

pub mod dev;
pub mod dir;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
pub mod file;
pub mod host;
pub mod hostfile;
pub mod initramfs;
mod inode;
pub mod memfd;
mod mount;
mod namei;
pub mod open;
pub mod pagecache;
pub mod pidfd;
pub mod pipe;
pub mod proc;
pub mod signalfd;
pub mod socket;
pub mod stat;
pub mod statfs;
pub mod stdio;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;

use crate::errno::{Errno, KResult};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::Duration;

pub use file::OpenFile;
pub use host::{host_access, rename_host, HostNode};
pub use inode::{Data, Device, ExeFile, Inode, Loc, Stream, WriteAccess};
pub use mount::{FsType, MountInfo};
pub use namei::Parent;

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
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFSOCK: u32 = 0o140000;

pub type InodeRef = Rc<RefCell<Inode>>;

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
    /// AF_UNIX's abstract names and sockets in flight (`socket/unix.rs`).
    pub unix: Rc<socket::unix::UnixNet>,
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
            unix: Rc::default(),
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
        // /dev/shm for shm_open and sem_open: a tmpfs of its own, as Linux
        // systems mount there.
        let shm = vfs.mkdir(&dev, b"shm", 0o1777).expect("fresh /dev");
        vfs.mount_new(&shm, FsType::Tmpfs, b"tmpfs", false);
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
        assert_eq!(points, [&b"/"[..], b"/dev/shm", b"/m", b"/m"]);
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
