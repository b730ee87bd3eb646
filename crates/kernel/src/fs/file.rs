//! Open file descriptions (Linux's `struct file`): what an fd refers to,
//! with the offset and status flags that dup and fork share.

use super::pipe::PipeEnd;
use super::Loc;
use crate::task::files::HostStdio;
use std::cell::Cell;

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;

pub enum FileKind {
    /// One of the host's standard streams (the first process's 0, 1, 2).
    Console(HostStdio),
    /// A file, directory or device of the VFS.
    Inode(Loc),
    Pipe(PipeEnd),
}

pub struct OpenFile {
    pub kind: FileKind,
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...).
    pub flags: Cell<u32>,
    pub offset: Cell<u64>,
}

impl OpenFile {
    pub fn new(kind: FileKind, flags: u32) -> OpenFile {
        OpenFile {
            kind,
            flags: Cell::new(flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)),
            offset: Cell::new(0),
        }
    }

    pub fn readable(&self) -> bool {
        let f = self.flags.get();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let f = self.flags.get();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn nonblock(&self) -> bool {
        self.flags.get() & O_NONBLOCK != 0
    }
}
