//! The page cache (Linux's mm/filemap.c): a file's pages in frames, one
//! [`MemObject`] per file, shared by every mapping of the file, by exec and
//! by read() and write().
//!
//! - A tmpfs file's object lives as long as something maps it. The file's
//!   bytes stay in the inode; the object's frames are copies kept coherent:
//!   write() updates both, read() prefers the frames (a MAP_SHARED store
//!   lands there), truncate drops or zeroes them, and the last unmap writes
//!   the frames back into the inode.
//! - A host file is read-only, so its pages never change: its object stays
//!   in the cache after the last unmap, keyed by the file's identity (dev,
//!   ino) and checked against its size and mtime, so a program run many
//!   times maps the same frames each time and the hart's decode cache (one
//!   per frame) stays warm across exec.
//!
//! Accounting: a cached frame is counted once for the object plus once per
//! page-table entry mapping it. Frames of host files that nothing maps are
//! the cache's own: `Phys::alloc` evicts them when memory runs out, before
//! any allocation fails, and the kernel drops them all at shutdown.

use super::phys::Phys;
use super::vma::MemObject;
use super::PAGE_SIZE;
use crate::errno::KResult;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// Where a file's pages come from (and, for a writable file, go back to).
pub trait PageSource {
    /// The file's size in bytes now.
    fn size(&self) -> u64;
    /// Fills `page` with page `index` of the file: its bytes, zeros past the
    /// end of the file.
    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()>;
    /// Takes page `index` back from the cache (only the bytes before the end
    /// of the file count). Read-only sources ignore it.
    fn write_back(&self, index: u64, page: &[u8]);
    /// The file's name, for /proc/PID/maps.
    fn name(&self) -> Vec<u8>;
}

/// A file held in memory by the kernel itself (the embedded init, an
/// executable named on the command line): read-only.
pub struct Bytes {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

impl PageSource for Bytes {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        copy_page_from(&self.data, index, page);
        Ok(())
    }

    fn write_back(&self, _: u64, _: &[u8]) {}

    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
}

/// Fills `page` with page `index` of `data`, zero past its end.
pub fn copy_page_from(data: &[u8], index: u64, page: &mut [u8]) {
    let start = (index * PAGE_SIZE).min(data.len() as u64) as usize;
    let n = (data.len() - start).min(page.len());
    page[..n].copy_from_slice(&data[start..start + n]);
    page[n..].fill(0);
}

/// A cached host file: what identifies its content.
struct HostEntry {
    size: u64,
    mtime: (i64, i64),
    obj: Rc<RefCell<MemObject>>,
}

type Obj = Rc<RefCell<MemObject>>;

/// Every file's page cache, by file.
#[derive(Default)]
pub struct PageCache {
    /// Host files by (dev, ino): the cache holds them.
    host: HashMap<(u64, u64), HostEntry>,
    /// tmpfs files by inode id: their mappings hold them.
    tmpfs: HashMap<u64, Weak<RefCell<MemObject>>>,
}

impl PageCache {
    /// The cached object of host file (dev, ino) if its size and mtime are
    /// still those it was read with.
    pub fn host(&self, dev: u64, ino: u64, size: u64, mtime: (i64, i64)) -> Option<Obj> {
        self.host
            .get(&(dev, ino))
            .filter(|e| e.size == size && e.mtime == mtime)
            .map(|e| e.obj.clone())
    }

    /// The object of tmpfs inode `id`, if something maps it.
    pub fn tmpfs(&self, id: u64) -> Option<Obj> {
        self.tmpfs.get(&id).and_then(Weak::upgrade)
    }

    pub fn insert_tmpfs(&mut self, id: u64, obj: &Obj) {
        // Forget objects whose last mapping went, so the map stays small.
        if self.tmpfs.len() >= 64 {
            self.tmpfs.retain(|_, w| w.strong_count() > 0);
        }
        self.tmpfs.insert(id, Rc::downgrade(obj));
    }

    /// Cached host objects, for eviction and shutdown.
    fn host_objects(&self) -> Vec<Obj> {
        self.host.values().map(|e| e.obj.clone()).collect()
    }
}

impl Phys {
    /// Frees the cached host pages nothing maps (memory pressure).
    /// Returns how many frames came free.
    pub(super) fn reclaim(&mut self) -> usize {
        let mut freed = 0;
        for obj in self.cache.host_objects() {
            freed += obj.borrow_mut().evict_unmapped(self);
        }
        freed
    }

    /// Empties the page cache of host files: at shutdown, once nothing is
    /// mapped, so that every frame is free again.
    pub fn drop_caches(&mut self) {
        for (_, e) in std::mem::take(&mut self.cache.host) {
            if Rc::strong_count(&e.obj) == 1 {
                e.obj.borrow_mut().release(self);
            }
        }
        self.cache.tmpfs.clear();
    }

    /// Caches host file `key` = (dev, ino, size, mtime) as `obj`,
    /// replacing the object of an older version of the file (whose frames
    /// go with its last mapping).
    pub fn cache_host(&mut self, key: (u64, u64, u64, (i64, i64)), obj: Obj) {
        let (dev, ino, size, mtime) = key;
        let old = self
            .cache
            .host
            .insert((dev, ino), HostEntry { size, mtime, obj });
        if let Some(old) = old {
            if Rc::strong_count(&old.obj) == 1 {
                old.obj.borrow_mut().release(self);
            }
        }
    }
}
