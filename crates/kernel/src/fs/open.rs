//! Which object an open of an inode makes (Linux's do_dentry_open with
//! the inode's `i_fop`): the one place that looks at what an inode holds
//! to choose its kind of open file.

use super::dev::DevFile;
use super::dir::Dir;
use super::file::{inode_name, FileOps};
use super::hostfile::HostFile;
use super::pipe::PipeEnd;
use super::proc::file::ProcFile;
use super::tmpfs::TmpfsFile;
use super::{Data, FsType, Loc, Stream, Vfs, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use std::any::Any;

/// The open file of inode `loc` (a host FIFO is opened on the host first:
/// `fifo.rs`).
pub fn inode_file(vfs: &Vfs, loc: Loc) -> Box<dyn FileOps> {
    let i = loc.inode.borrow();
    let (is_dir, is_reg) = (i.is_dir(), i.mode & S_IFMT == S_IFREG);
    let ops: Box<dyn FileOps> = match &i.data {
        _ if is_dir => {
            drop(i);
            Box::new(Dir { loc })
        }
        Data::File(_) => {
            drop(i);
            let file = TmpfsFile { loc };
            if vfs.fs_of(&file.loc) == FsType::Proc {
                Box::new(ProcFile(file))
            } else {
                Box::new(file)
            }
        }
        Data::Host(_) if is_reg => {
            drop(i);
            Box::new(HostFile { loc })
        }
        &Data::Device(dev) => {
            drop(i);
            Box::new(DevFile { loc, dev })
        }
        _ => {
            drop(i);
            Box::new(PathFile { loc })
        }
    };
    ops
}

/// Opening a pipe or host stream again through /proc/PID/fd (see
/// `Data::Stream`): a pipe end that reads, writes or both, as the access
/// mode says. None for every other inode.
pub fn reopen(loc: &Loc, acc: u32) -> Option<KResult<Box<dyn FileOps>>> {
    let Data::Stream(stream) = &loc.inode.borrow().data else {
        return None;
    };
    Some(match stream {
        Stream::Pipe(pipe) => match pipe.upgrade() {
            Some(pipe) => Ok(Box::new(PipeEnd::reopen(pipe, acc))),
            None => Err(Errno::ENOENT),
        },
        Stream::Host(s) => Ok(Box::new(*s)),
    })
}

/// What an O_PATH open of an inode with no open file of its own makes
/// (a symlink, a procfs node, a pipe's /proc/PID/fd inode): it names the
/// place, for fstat and the *at calls; reading and writing it are EBADF
/// (Linux's empty_fops under FMODE_PATH).
pub struct PathFile {
    pub loc: Loc,
}

impl FileOps for PathFile {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
