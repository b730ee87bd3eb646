//! Pipes: a ring of 16 page buffers (64 KiB) shared by a read end and a
//! write end.
//!
//! Readers and writers that must wait block on `WaitReason::Pipe { id }`
//! (see `task/block.rs`) and are woken, restarting their call, whenever the
//! pipe changes: data written, data read, an end closed. Closing happens
//! wherever an [`OpenFile`](super::OpenFile) is dropped (close, dup2 over
//! it, exec's close-on-exec, exit), so dropping an end only records the
//! pipe's id; the run loop wakes the waiters before it next picks a
//! thread ([`take_wakeups`]).

use super::file::{O_RDONLY, O_WRONLY};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Linux's default pipe capacity: 16 page-sized buffers (64 KiB).
pub const PIPE_PAGES: usize = 16;
const PAGE: usize = 4096;
/// Writes up to this size are atomic: they fit one page buffer.
pub const PIPE_BUF: usize = 4096;

/// One page buffer: its unread bytes, after `offset` consumed ones.
struct Page {
    data: Vec<u8>,
    offset: usize,
}

/// Linux's pipe_inode_info: a ring of page buffers. As in Linux, a write
/// first tops up the last page (its size modulo a page, if that fits) and
/// then takes whole new pages; a full ring has no free page even when the
/// pages are partly read. So capacity depends on write sizes exactly as it
/// does on Linux (1000-byte writes fit 64000 bytes).
pub struct Pipe {
    pub id: u64,
    pages: VecDeque<Page>,
    pub readers: usize,
    pub writers: usize,
}

impl Pipe {
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Unread bytes (FIONREAD).
    pub fn len(&self) -> usize {
        self.pages.iter().map(|p| p.data.len()).sum()
    }

    /// Takes up to `len` bytes.
    pub fn read(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < len {
            let Some(page) = self.pages.front_mut() else {
                break;
            };
            let n = (len - out.len()).min(page.data.len());
            out.extend(page.data.drain(..n));
            page.offset += n;
            if page.data.is_empty() {
                self.pages.pop_front();
            }
        }
        out
    }

    /// Writes what fits of `data` (merging into the last page only when
    /// `merge`, at the start of a write); returns how much.
    pub fn write(&mut self, data: &[u8], merge: bool) -> usize {
        let mut done = 0;
        let chars = data.len() % PAGE;
        if merge && chars > 0 {
            if let Some(last) = self.pages.back_mut() {
                if last.offset + last.data.len() + chars <= PAGE {
                    last.data.extend_from_slice(&data[..chars]);
                    done = chars;
                }
            }
        }
        while done < data.len() && self.pages.len() < PIPE_PAGES {
            let n = (data.len() - done).min(PAGE);
            self.pages.push_back(Page {
                data: data[done..done + n].to_vec(),
                offset: 0,
            });
            done += n;
        }
        done
    }

    /// Whether a write of `len` bytes could put anything in now.
    pub fn has_room(&self, len: usize) -> bool {
        if self.pages.len() < PIPE_PAGES {
            return true;
        }
        let chars = len % PAGE;
        chars > 0
            && self
                .pages
                .back()
                .is_some_and(|l| l.offset + l.data.len() + chars <= PAGE)
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
    /// A new pipe's (read, write) ends.
    pub fn pair(id: u64) -> (PipeEnd, PipeEnd) {
        let pipe = Rc::new(RefCell::new(Pipe {
            id,
            pages: VecDeque::new(),
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

    /// pipe_poll: a read end is readable with data and hung up without
    /// writers; a write end is writable with a free page buffer and in
    /// error without readers.
    pub fn poll(&self) -> u16 {
        use super::file::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        let p = self.pipe.borrow();
        let mut mask = 0;
        if self.write {
            if p.pages.len() < PIPE_PAGES {
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
        mask
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
