//! Inodes: what a file of the tree is and holds ([`Data`]), and a place
//! in the tree ([`Loc`]), an inode as reached through a mount.

use super::tmpfs::MAX_LFS_FILESIZE;
use super::{host::HostNode, pagecache, pipe, proc, socket, InodeRef};
use super::{S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK};
use crate::errno::{Errno, KResult};
use crate::mm::Phys;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::Duration;

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
    /// Every device cleave has.
    pub const ALL: [Device; 6] = [
        Device::Null,
        Device::Zero,
        Device::Full,
        Device::Random,
        Device::Urandom,
        Device::Console,
    ];

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
    /// A FIFO of tmpfs (`mknod`, `mkfifo`): the pipe its opens share.
    Fifo(pipe::Fifo),
    /// A file of a host directory mount.
    Host(HostNode),
    /// A procfs node (`proc/`): its content is made at open time.
    Proc(proc::ProcNode),
    /// A pipe or host stream as a /proc/PID/fd link leads to it: opening
    /// it opens the same pipe or stream again, as Linux opens a pipe's
    /// pipefs inode (`cat /dev/stdin`, bash's `<(...)`).
    Stream(Stream),
    /// An AF_UNIX socket's name: what connect finds at its path.
    Socket(Weak<socket::unix::UnixSock>),
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
    /// How many open files may write it ([`WriteAccess`], Linux's
    /// i_writecount): exec of it is ETXTBSY while any does.
    pub writers: u32,
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

/// An open file's right to write its inode (Linux's get_write_access,
/// dropped with put_write_access when the file is closed).
pub struct WriteAccess(InodeRef);

impl WriteAccess {
    pub fn new(inode: InodeRef) -> WriteAccess {
        inode.borrow_mut().writers += 1;
        WriteAccess(inode)
    }
}

impl Drop for WriteAccess {
    fn drop(&mut self) {
        self.0.borrow_mut().writers -= 1;
    }
}

impl Inode {
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// A file of a host directory mount: its metadata is the host's.
    pub fn is_host(&self) -> bool {
        matches!(self.data, Data::Host(_))
    }

    pub fn size(&self) -> u64 {
        match &self.data {
            Data::File(f) => f.size(),
            Data::Symlink(d) => d.len() as u64,
            Data::Host(h) => h.size,
            Data::Dir(_) => 4096,
            Data::Device(_) | Data::Fifo(_) | Data::Proc(_) | Data::Stream(_) | Data::Socket(_) => {
                0
            }
        }
    }

    /// Sets a file's size (truncate, ftruncate, O_TRUNC) and its times:
    /// EISDIR for a directory, EFBIG past MAX_LFS_FILESIZE, EINVAL for
    /// what has no size to set.
    pub fn truncate(&mut self, phys: &mut Phys, len: u64, now: Duration) -> KResult<()> {
        let is_dir = self.is_dir();
        match &mut self.data {
            Data::File(f) => {
                if len > MAX_LFS_FILESIZE {
                    return Err(Errno::EFBIG);
                }
                f.check_resize(len)?;
                f.truncate(phys, len);
            }
            Data::Host(_) if is_dir => return Err(Errno::EISDIR),
            Data::Host(h) => h.truncate(len)?,
            Data::Dir(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        }
        self.mtime = now;
        self.ctime = now;
        Ok(())
    }

    /// Whether it is a directory with no entries (rmdir); any other inode
    /// is not an empty directory.
    pub fn is_empty_dir(&self) -> KResult<bool> {
        match &self.data {
            Data::Dir(entries) => Ok(entries.is_empty()),
            Data::Host(h) if self.is_dir() => Ok(h.entries()?.is_empty()),
            _ => Ok(false),
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
            S_IFSOCK => 12,
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
