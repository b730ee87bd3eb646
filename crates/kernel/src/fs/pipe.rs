//! Pipes: a ring of up to 16 page buffers (64 KiB) shared by a read end
//! and a write end.
//!
//! The buffers are frames of the guest's RAM ([`KernelPage`]), taken when
//! a write needs one and given back once read, so --mem bounds what pipes
//! hold and a full RAM fails a write with ENOMEM. As on Linux, a user
//! without privilege whose pipes' capacities add up to more than
//! pipe-user-pages-soft (16384 pages) gets new pipes of
//! [`PIPE_MIN_DEF_BUFFERS`] pages ([`PipeUsers`]).
//!
//! Readers and writers that must wait block on `WaitReason::Pipe { id }`
//! (see `task/block.rs`) and are woken, restarting their call, whenever the
//! pipe changes: data written, data read, an end closed. Closing happens
//! wherever an [`OpenFile`](super::OpenFile) is dropped (close, dup2 over
//! it, exec's close-on-exec, exit), so dropping an end only records the
//! pipe's id; the run loop wakes the waiters before it next picks a
//! thread ([`take_wakeups`]).

use super::file::{fionread, FileOps, Io, OpError, OpResult, Processes, Readiness};
use super::file::{FIONREAD, O_RDONLY, O_WRONLY};
use super::stat::Stat;
use super::stdio::PIPEFS_MAGIC;
use super::{Stream, Vfs, S_IFIFO};
use crate::errno::{Errno, KResult};
use crate::mm::{KernelPage, Phys};
use crate::wait::{PollKey, WaitReason};
use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Linux's default pipe capacity: 16 page-sized buffers (64 KiB).
pub const PIPE_PAGES: usize = 16;
/// The capacity of a new pipe of a user past the soft limit.
pub const PIPE_MIN_DEF_BUFFERS: usize = 2;
/// /proc/sys/fs/pipe-user-pages-soft's default.
pub const PIPE_USER_PAGES_SOFT: usize = 16384;
/// /proc/sys/fs/pipe-max-size's default: the most F_SETPIPE_SZ gives a
/// user without privilege.
pub const PIPE_MAX_SIZE: usize = 1 << 20;
const PAGE: usize = 4096;
/// Writes up to this size are atomic: they fit one page buffer.
pub const PIPE_BUF: usize = 4096;

/// One page buffer: its unread bytes are `start..end` of the frame.
struct Page {
    frame: KernelPage,
    start: usize,
    end: usize,
}

impl Page {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

/// The pipe capacity, in pages, each user's pipes have (Linux's
/// user_struct.pipe_bufs): shared by every pipe, which gives its own back
/// when it goes.
#[derive(Default)]
pub struct PipeUsers(RefCell<HashMap<u32, usize>>);

impl PipeUsers {
    /// Capacity for a new pipe of `uid`: the default, or the minimum for a
    /// user without `privileged` past the soft limit.
    fn account(&self, uid: u32, privileged: bool) -> usize {
        let mut users = self.0.borrow_mut();
        let bufs = users.entry(uid).or_default();
        let pages = if !privileged && *bufs + PIPE_PAGES > PIPE_USER_PAGES_SOFT {
            PIPE_MIN_DEF_BUFFERS
        } else {
            PIPE_PAGES
        };
        *bufs += pages;
        pages
    }

    /// Changes a pipe of `uid` from `old` to `new` pages: the user's new
    /// total.
    fn resize(&self, uid: u32, old: usize, new: usize) -> usize {
        let mut users = self.0.borrow_mut();
        let bufs = users.entry(uid).or_default();
        *bufs = *bufs - old + new;
        *bufs
    }

    fn release(&self, uid: u32, pages: usize) {
        let mut users = self.0.borrow_mut();
        if let Some(bufs) = users.get_mut(&uid) {
            *bufs -= pages;
            if *bufs == 0 {
                users.remove(&uid);
            }
        }
    }
}

/// Linux's pipe_inode_info: a ring of page buffers. As in Linux, a write
/// first tops up the last page (its size modulo a page, if that fits) and
/// then takes whole new pages; a full ring has no free page even when the
/// pages are partly read. So capacity depends on write sizes exactly as it
/// does on Linux (1000-byte writes fit 64000 bytes).
pub struct Pipe {
    pub id: u64,
    pages: VecDeque<Page>,
    /// The most pages it holds.
    capacity: usize,
    /// Whose capacity it is, to give back.
    owner: (Rc<PipeUsers>, u32),
    pub readers: usize,
    pub writers: usize,
}

impl Pipe {
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Unread bytes (FIONREAD).
    pub fn len(&self) -> usize {
        self.pages.iter().map(Page::len).sum()
    }

    /// Takes up to `len` bytes; the pages emptied go back to `phys`.
    pub fn read(&mut self, phys: &Phys, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len.min(self.len()));
        while out.len() < len {
            let Some(page) = self.pages.front_mut() else {
                break;
            };
            let n = (len - out.len()).min(page.len());
            let frame = phys.mem.frame(page.frame.pfn());
            out.extend_from_slice(&frame[page.start..page.start + n]);
            page.start += n;
            if page.len() == 0 {
                self.pages.pop_front();
            }
        }
        out
    }

    /// Writes what fits of `data` (merging into the last page only when
    /// `merge`, at the start of a write); returns how much, or ENOMEM when
    /// nothing was written for want of a frame.
    pub fn write(&mut self, phys: &mut Phys, data: &[u8], merge: bool) -> KResult<usize> {
        let mut done = 0;
        let chars = data.len() % PAGE;
        if merge && chars > 0 {
            if let Some(last) = self.pages.back_mut() {
                if last.end + chars <= PAGE {
                    let pfn = last.frame.pfn();
                    phys.mem.frame_mut(pfn)[last.end..last.end + chars]
                        .copy_from_slice(&data[..chars]);
                    last.end += chars;
                    done = chars;
                }
            }
        }
        while done < data.len() && self.pages.len() < self.capacity {
            let frame = match phys.kernel_page() {
                Ok(frame) => frame,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            };
            let n = (data.len() - done).min(PAGE);
            phys.mem.frame_mut(frame.pfn())[..n].copy_from_slice(&data[done..done + n]);
            self.pages.push_back(Page {
                frame,
                start: 0,
                end: n,
            });
            done += n;
        }
        Ok(done)
    }

    /// Its capacity in bytes (F_GETPIPE_SZ).
    pub fn size(&self) -> usize {
        self.capacity * PAGE
    }

    /// F_SETPIPE_SZ (Linux's pipe_set_size): `size` rounded up to a power
    /// of two pages. Growing past pipe-max-size, or for a user past
    /// pipe-user-pages-soft, needs `privileged` (EPERM); shrinking below
    /// the pages in use is EBUSY. Returns the new size in bytes.
    pub fn set_size(&mut self, size: u32, privileged: bool) -> KResult<usize> {
        if size > 1 << 31 {
            return Err(Errno::EINVAL);
        }
        let size = (size as usize).max(PAGE).next_power_of_two();
        let pages = size / PAGE;
        let grows = pages > self.capacity;
        if grows && size > PIPE_MAX_SIZE && !privileged {
            return Err(Errno::EPERM);
        }
        let (users, uid) = (self.owner.0.clone(), self.owner.1);
        let total = users.resize(uid, self.capacity, pages);
        let refused = if grows && total > PIPE_USER_PAGES_SOFT && !privileged {
            Some(Errno::EPERM)
        } else if pages < self.pages.len() {
            Some(Errno::EBUSY)
        } else {
            None
        };
        if let Some(e) = refused {
            users.resize(uid, pages, self.capacity);
            return Err(e);
        }
        self.capacity = pages;
        Ok(size)
    }

    /// Whether a write of `len` bytes could put anything in now.
    pub fn has_room(&self, len: usize) -> bool {
        if self.pages.len() < self.capacity {
            return true;
        }
        let chars = len % PAGE;
        chars > 0 && self.pages.back().is_some_and(|l| l.end + chars <= PAGE)
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let (users, uid) = &self.owner;
        users.release(*uid, self.capacity);
    }
}

thread_local! {
    static WAKEUPS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// Records that the waiters of pipe `id` must be woken.
pub fn note_wake(id: u64) {
    WAKEUPS.with(|w| w.borrow_mut().push(id));
}

/// The pipes whose waiters must be woken, since the last call.
pub fn take_wakeups() -> Vec<u64> {
    WAKEUPS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// One end of a pipe; dropping it closes that end.
pub struct PipeEnd {
    pub pipe: Rc<RefCell<Pipe>>,
    /// Whether it counts as a reader, a writer, or (a pipe opened again
    /// O_RDWR through /proc/PID/fd, as a FIFO can be) both.
    read: bool,
    write: bool,
}

impl PipeEnd {
    /// A new pipe's (read, write) ends, made by user `uid` (`privileged`:
    /// beyond pipe-user-pages-soft), whose pipes `users` counts.
    pub fn pair(id: u64, users: &Rc<PipeUsers>, uid: u32, privileged: bool) -> (PipeEnd, PipeEnd) {
        let capacity = users.account(uid, privileged);
        let pipe = Rc::new(RefCell::new(Pipe {
            id,
            pages: VecDeque::new(),
            capacity,
            owner: (users.clone(), uid),
            readers: 1,
            writers: 1,
        }));
        (
            PipeEnd {
                pipe: pipe.clone(),
                read: true,
                write: false,
            },
            PipeEnd {
                pipe,
                read: false,
                write: true,
            },
        )
    }

    pub fn id(&self) -> u64 {
        self.pipe.borrow().id
    }

    /// A new end of an existing pipe, opened with access mode `acc`.
    pub fn reopen(pipe: Rc<RefCell<Pipe>>, acc: u32) -> PipeEnd {
        let (read, write) = (acc != O_WRONLY, acc != O_RDONLY);
        {
            let mut p = pipe.borrow_mut();
            p.readers += usize::from(read);
            p.writers += usize::from(write);
            note_wake(p.id);
        }
        PipeEnd { pipe, read, write }
    }
}

impl FileOps for PipeEnd {
    fn name(&self) -> String {
        format!("pipe:[{}]", self.id())
    }

    /// pipe_read: what is there, end-of-file once no writer is left, else
    /// wait for a writer.
    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        let mut p = self.pipe.borrow_mut();
        if p.is_empty() {
            if p.writers == 0 {
                return Ok(Vec::new());
            }
            if io.nonblock {
                return Err(Errno::EAGAIN.into());
            }
            return Err(OpError::Block(WaitReason::Pipe { id: p.id }));
        }
        let out = p.read(io.phys, len);
        note_wake(p.id);
        Ok(out)
    }

    /// pipe_write: atomic up to PIPE_BUF, else as much as fits, blocking
    /// (`io.done` counts the bytes already written) until all is in.
    /// Without readers it is EPIPE (which raises SIGPIPE), or what was
    /// written before they went.
    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        let done = io.done.min(data.len());
        let mut p = self.pipe.borrow_mut();
        if p.readers == 0 {
            if done > 0 {
                return Ok(done);
            }
            return Err(Errno::EPIPE.into());
        }
        let rest = &data[done..];
        // Up to PIPE_BUF, all or nothing: it fits one new page or tops up
        // the last one.
        let n = if rest.len() <= PIPE_BUF && done == 0 && !p.has_room(rest.len()) {
            0
        } else {
            match p.write(io.phys, rest, done == 0) {
                Ok(n) => n,
                Err(e) if done == 0 => return Err(e.into()),
                Err(_) => return Ok(done),
            }
        };
        if n > 0 {
            note_wake(p.id);
        }
        let done = done + n;
        if done == data.len() || (io.nonblock && done > 0) {
            return Ok(done);
        }
        if io.nonblock {
            return Err(Errno::EAGAIN.into());
        }
        io.done = done;
        Err(OpError::Block(WaitReason::Pipe { id: p.id }))
    }

    /// pipe_poll: a read end is readable with data and hung up without
    /// writers; a write end is writable with a free page buffer and in
    /// error without readers.
    fn poll(&self, _events: u16, _procs: &dyn Processes) -> Readiness {
        use super::file::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        let p = self.pipe.borrow();
        let mut mask = 0;
        if self.write {
            if p.pages.len() < p.capacity {
                mask |= POLLOUT | POLLWRNORM;
            }
            if p.readers == 0 {
                mask |= POLLERR;
            }
        }
        if self.read {
            if !p.is_empty() {
                mask |= POLLIN | POLLRDNORM;
            }
            if p.writers == 0 {
                mask |= POLLHUP;
            }
        }
        Readiness {
            mask,
            key: Some(PollKey::File(p.id)),
        }
    }

    /// pipe_ioctl: FIONREAD, the bytes waiting.
    fn ioctl(&self, io: &mut Io, cmd: u32, arg: u64) -> OpResult<u64> {
        match cmd {
            FIONREAD => {
                let n = self.pipe.borrow().len() as u64;
                fionread(io, arg, n)
            }
            _ => Err(Errno::ENOTTY.into()),
        }
    }

    /// A pipefs inode, numbered by the pipe.
    fn stat(&self, _vfs: &Vfs) -> KResult<Stat> {
        Ok(Stat::kernel_inode(0xc, self.id(), S_IFIFO | 0o600))
    }

    fn magic(&self) -> u64 {
        PIPEFS_MAGIC
    }

    /// A pipe has no position: pread and pwrite are ESPIPE.
    fn positioned(&self) -> bool {
        false
    }

    fn write_may_block(&self) -> bool {
        true
    }

    fn stream(&self) -> Option<Stream> {
        Some(Stream::Pipe(Rc::downgrade(&self.pipe)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut p = self.pipe.borrow_mut();
        p.readers -= usize::from(self.read);
        p.writers -= usize::from(self.write);
        note_wake(p.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_frames_taken_on_write_and_given_back_once_read() {
        let mut phys = Phys::new(64 * 4096);
        let users = Rc::new(PipeUsers::default());
        let (r, w) = PipeEnd::pair(1, &users, 0, true);
        let mut p = w.pipe.borrow_mut();
        assert_eq!(p.write(&mut phys, &[7; 3 * PAGE], true), Ok(3 * PAGE));
        assert_eq!(phys.used_frames(), 3);
        assert_eq!(p.read(&phys, PAGE + 10), vec![7; PAGE + 10]);
        phys.reap();
        assert_eq!(phys.used_frames(), 2);
        // The ring holds 16 pages, whatever is read of them.
        assert_eq!(p.write(&mut phys, &[1; 20 * PAGE], true), Ok(14 * PAGE));
        assert!(!p.has_room(PAGE));
        drop(p);
        drop((r, w));
        phys.reap();
        assert_eq!(phys.used_frames(), 0);
    }

    #[test]
    fn a_full_ram_is_enomem() {
        let mut phys = Phys::new(16 * 4096);
        let users = Rc::new(PipeUsers::default());
        let (_r, w) = PipeEnd::pair(1, &users, 0, true);
        let mut p = w.pipe.borrow_mut();
        let all = phys.free_frames();
        assert_eq!(
            p.write(&mut phys, &vec![1; 16 * PAGE], true),
            Ok(all * PAGE)
        );
        assert_eq!(p.write(&mut phys, &[1; PAGE], true), Err(Errno::ENOMEM));
    }

    #[test]
    fn past_the_soft_limit_a_user_gets_small_pipes() {
        let users = Rc::new(PipeUsers::default());
        let per_user = PIPE_USER_PAGES_SOFT / PIPE_PAGES;
        let pipes: Vec<_> = (0..per_user)
            .map(|i| PipeEnd::pair(i as u64, &users, 1000, false))
            .collect();
        let capacity = |(_, w): &(PipeEnd, PipeEnd)| w.pipe.borrow().capacity;
        assert!(pipes.iter().all(|p| capacity(p) == PIPE_PAGES));
        let small = PipeEnd::pair(0, &users, 1000, false);
        assert_eq!(capacity(&small), PIPE_MIN_DEF_BUFFERS);
        // Another user, and root, are not limited by it.
        assert_eq!(capacity(&PipeEnd::pair(0, &users, 1001, false)), PIPE_PAGES);
        assert_eq!(capacity(&PipeEnd::pair(0, &users, 1000, true)), PIPE_PAGES);
        // Closed pipes give their pages back.
        drop(pipes);
        assert_eq!(capacity(&PipeEnd::pair(0, &users, 1000, false)), PIPE_PAGES);
    }
}
