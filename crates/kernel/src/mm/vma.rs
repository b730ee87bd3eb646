//! Virtual memory areas: the ranges of an address space and what backs them.
//!
//! The VMAs say what may be mapped; the page table says what is mapped now.
//! A page absent from the table but inside a VMA is filled on first touch.

use super::filemap::{Orphan, Orphans, PageSource, ShmemUsage};
use super::phys::{Phys, PAGE_SHIFT, PAGE_SIZE};
use super::{PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::errno::KResult;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;

/// A memory object: pages that exist independently of any one mapping, so
/// that every mapping of it sees the same frames: shared anonymous memory
/// (Linux's shmem) and a file's page cache (see filemap.rs).
pub struct MemObject {
    /// Size in pages of an object with no source: touching a page past it
    /// is SIGBUS, as past a file's end. A file's size is its source's.
    size: u64,
    /// Page index -> frame. The object holds one reference on each frame.
    frames: BTreeMap<u64, usize>,
    /// Pages a shared writable mapping has mapped: they may differ from
    /// the source's bytes (the hart keeps no dirty bits for the kernel to
    /// read), so they are what goes back to it.
    dirty: BTreeSet<u64>,
    /// Where missing pages are read from (None: they start zeroed).
    source: Option<Rc<dyn PageSource>>,
    /// Where the frames go when the object does (filemap.rs): whoever
    /// drops the last reference, from wherever, frees nothing by hand.
    orphans: Orphans,
    /// For a tmpfs file, whose frames are its only copy: the count its
    /// frames are charged to (ENOSPC when full).
    shmem: Option<Rc<ShmemUsage>>,
    /// A System V shared memory segment's key (`crate::ipc::shm`): its
    /// mappings are attaches, which shmdt finds and never merges.
    sysv_key: Option<i32>,
}

impl fmt::Debug for MemObject {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_struct("MemObject")
            .field("pages", &self.size())
            .field("cached", &self.frames.len())
            .finish()
    }
}

impl MemObject {
    /// Shared anonymous memory of `size_pages` pages, zero-filled.
    pub(super) fn new(orphans: &Orphans, size_pages: u64) -> Rc<RefCell<MemObject>> {
        Rc::new(RefCell::new(MemObject {
            size: size_pages,
            frames: BTreeMap::new(),
            dirty: BTreeSet::new(),
            source: None,
            orphans: orphans.clone(),
            shmem: None,
            sysv_key: None,
        }))
    }

    /// A System V segment of `size_pages` pages with key `key`: shared
    /// memory whose frames are charged as tmpfs's are (Linux keeps a
    /// segment in a file of its internal shmem mount).
    pub(super) fn sysv(
        orphans: &Orphans,
        size_pages: u64,
        key: i32,
        shmem: Rc<ShmemUsage>,
    ) -> Rc<RefCell<MemObject>> {
        Rc::new(RefCell::new(MemObject {
            size: size_pages,
            frames: BTreeMap::new(),
            dirty: BTreeSet::new(),
            source: None,
            orphans: orphans.clone(),
            shmem: Some(shmem),
            sysv_key: Some(key),
        }))
    }

    /// Whether this is a System V segment.
    pub fn is_sysv(&self) -> bool {
        self.sysv_key.is_some()
    }

    /// The page cache of a file: pages are read from `source` when first
    /// needed.
    pub(super) fn with_source(
        orphans: &Orphans,
        source: Rc<dyn PageSource>,
        shmem: Option<Rc<ShmemUsage>>,
    ) -> Rc<RefCell<MemObject>> {
        Rc::new(RefCell::new(MemObject {
            size: 0,
            frames: BTreeMap::new(),
            dirty: BTreeSet::new(),
            source: Some(source),
            orphans: orphans.clone(),
            shmem,
            sysv_key: None,
        }))
    }

    /// Frames the object holds.
    pub fn frames(&self) -> usize {
        self.frames.len()
    }

    /// Size in pages: for a file, the pages that hold some of its bytes.
    pub fn size(&self) -> u64 {
        match &self.source {
            None => self.size,
            Some(src) => src.size().div_ceil(PAGE_SIZE),
        }
    }

    /// Size in bytes: a file's, or the whole pages of anonymous memory.
    pub fn bytes(&self) -> u64 {
        self.source
            .as_ref()
            .map_or(self.size * PAGE_SIZE, |s| s.size())
    }

    pub fn source(&self) -> Option<&Rc<dyn PageSource>> {
        self.source.as_ref()
    }

    /// The file's name, as /proc/PID/maps shows it: a segment's is that of
    /// Linux's file for it on the internal shm mount, always unlinked.
    pub fn name(&self) -> Option<Vec<u8>> {
        match (&self.source, self.sysv_key) {
            (Some(src), _) => Some(src.name()),
            (None, Some(key)) => Some(format!("/SYSV{key:08x} (deleted)").into_bytes()),
            (None, None) => None,
        }
    }

    /// The frame holding page `index` if it is in memory.
    pub fn cached(&self, index: u64) -> Option<usize> {
        self.frames.get(&index).copied()
    }

    /// The pages of `pages` in memory, as (page, frame).
    pub fn cached_range(
        &self,
        pages: std::ops::Range<u64>,
    ) -> impl Iterator<Item = (u64, usize)> + '_ {
        self.frames.range(pages).map(|(&index, &pfn)| (index, pfn))
    }

    /// The frame holding page `index`, allocated (zeroed, or read from the
    /// source) on first use. Returns whether it was just allocated. A
    /// tmpfs file's new page is ENOSPC when its file system is full.
    pub fn frame(&mut self, phys: &mut Phys, index: u64) -> KResult<(usize, bool)> {
        if let Some(&pfn) = self.frames.get(&index) {
            return Ok((pfn, false));
        }
        if let Some(shmem) = &self.shmem {
            shmem.charge(1)?;
        }
        let pfn = self.new_frame(phys, index).inspect_err(|_| {
            if let Some(shmem) = &self.shmem {
                shmem.uncharge(1);
            }
        })?;
        self.frames.insert(index, pfn);
        Ok((pfn, true))
    }

    fn new_frame(&self, phys: &mut Phys, index: u64) -> KResult<usize> {
        Ok(match &self.source {
            None => phys.alloc_zeroed()?,
            Some(src) => {
                let mut page = [0; PAGE_SIZE as usize];
                src.read_page(index, &mut page)?;
                let pfn = phys.alloc()?;
                phys.mem.frame_mut(pfn).copy_from_slice(&page);
                pfn
            }
        })
    }

    /// Whether the frames are the only copy of the bytes (a tmpfs file, a
    /// segment): Linux's shmem pages, which are always dirty.
    pub fn is_shmem(&self) -> bool {
        self.shmem.is_some()
    }

    /// Whether page `index` has been mapped where a store can reach it.
    pub fn is_dirty(&self, index: u64) -> bool {
        self.dirty.contains(&index)
    }

    /// Page `index` is mapped where a store can reach it.
    pub(super) fn mark_dirty(&mut self, index: u64) {
        self.dirty.insert(index);
    }

    /// Writes the dirty pages in [first, end) back to the source (msync,
    /// fsync). They stay dirty: the mappings can still store to them.
    pub fn write_back(&self, phys: &Phys, first: u64, end: u64) -> KResult<()> {
        let Some(src) = &self.source else {
            return Ok(());
        };
        for &index in self.dirty.range(first..end) {
            if let Some(&pfn) = self.frames.get(&index) {
                src.write_back(index, phys.mem.frame(pfn))?;
            }
        }
        Ok(())
    }

    /// Reads bytes at `offset` through the cache (the loader's headers):
    /// fewer than asked at the end of the file.
    pub fn read(&mut self, phys: &mut Phys, offset: u64, buf: &mut [u8]) -> KResult<usize> {
        let end = self.bytes().min(offset.saturating_add(buf.len() as u64));
        let mut at = offset;
        while at < end {
            let (pfn, _) = self.frame(phys, at >> PAGE_SHIFT)?;
            let in_page = (at % PAGE_SIZE) as usize;
            let n = ((PAGE_SIZE as usize) - in_page).min((end - at) as usize);
            let done = (at - offset) as usize;
            buf[done..done + n].copy_from_slice(&phys.mem.frame(pfn)[in_page..in_page + n]);
            at += n as u64;
        }
        Ok(end.saturating_sub(offset) as usize)
    }

    /// Drops the cached pages from `index` on (truncate) and zeroes the
    /// cached last page past `bytes`, the new size.
    pub fn truncate(&mut self, phys: &mut Phys, bytes: u64) {
        let keep = bytes.div_ceil(PAGE_SIZE);
        self.dirty.split_off(&keep);
        let gone = self.frames.split_off(&keep);
        if let Some(shmem) = &self.shmem {
            shmem.uncharge(gone.len());
        }
        for (_, pfn) in gone {
            phys.put(pfn);
        }
        if !bytes.is_multiple_of(PAGE_SIZE) {
            if let Some(&pfn) = self.frames.get(&(bytes / PAGE_SIZE)) {
                phys.mem.frame_mut(pfn)[(bytes % PAGE_SIZE) as usize..].fill(0);
            }
        }
    }

    /// Gives back the frames only the object holds (memory pressure):
    /// they are read from the source again when needed. Returns how many.
    pub(super) fn evict_unmapped(&mut self, phys: &mut Phys) -> usize {
        let before = self.frames.len();
        self.frames.retain(|index, &mut pfn| {
            // A dirty frame is the only copy of its page.
            if phys.refcount(pfn) > 1 || self.dirty.contains(index) {
                return true;
            }
            phys.put(pfn);
            false
        });
        before - self.frames.len()
    }
}

impl Drop for MemObject {
    /// The last reference went, wherever that was: the frames go to `Phys`,
    /// which frees them (after giving a writable source its dirty pages
    /// back: MAP_SHARED writes) the next time it reaps.
    fn drop(&mut self) {
        if let Some(shmem) = &self.shmem {
            shmem.uncharge(self.frames.len());
        }
        let mut orphans = self.orphans.borrow_mut();
        for (index, pfn) in std::mem::take(&mut self.frames) {
            let back = (self.source.clone())
                .filter(|_| self.dirty.contains(&index))
                .map(|src| (src, index));
            orphans.push(Orphan { pfn, back });
        }
    }
}

/// What supplies a VMA's pages on first touch.
#[derive(Clone, Debug)]
pub enum Backing {
    /// Zero-filled private memory with nothing behind it: MAP_PRIVATE |
    /// MAP_ANONYMOUS, brk, stacks. Never shared.
    Anonymous,
    /// Pages of a memory object; `pgoff` is the object page at `vma.start`.
    Object {
        obj: Rc<RefCell<MemObject>>,
        pgoff: u64,
    },
}

#[derive(Clone, Debug)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    /// PROT_READ | PROT_WRITE | PROT_EXEC.
    pub prot: u64,
    /// MAP_SHARED: writes go to the backing object and are seen by every
    /// mapping of it; fork shares the pages instead of copying them.
    pub shared: bool,
    /// MAP_GROWSDOWN: a fault just below extends the VMA down (stacks).
    pub growsdown: bool,
    /// MADV_DONTFORK: the child of a fork does not get this range.
    pub dontfork: bool,
    /// MADV_WIPEONFORK: the child gets this range empty (zero-filled).
    pub wipeonfork: bool,
    /// Linux's VM_MAYWRITE: false for a shared mapping of a file opened
    /// read-only, which mprotect may then never make writable.
    pub may_write: bool,
    pub backing: Backing,
}

impl Vma {
    /// The file this VMA maps and the file page at `start`: what
    /// /proc/PID/maps and a core's NT_FILE name.
    pub fn file(&self) -> Option<(Vec<u8>, u64)> {
        match &self.backing {
            Backing::Object { obj, pgoff } => obj.borrow().name().map(|name| (name, *pgoff)),
            Backing::Anonymous => None,
        }
    }

    pub(super) fn anonymous(start: u64, end: u64, prot: u64) -> Vma {
        Vma {
            start,
            end,
            prot,
            shared: false,
            growsdown: false,
            dontfork: false,
            wipeonfork: false,
            may_write: true,
            backing: Backing::Anonymous,
        }
    }

    pub fn pages(&self) -> u64 {
        (self.end - self.start) >> PAGE_SHIFT
    }

    /// Page-table permission bits (R, W, X) for present pages of this VMA.
    /// RISC-V has no write-only pages, and Linux maps PROT_WRITE as R|W.
    pub(super) fn pte_perm(&self) -> u64 {
        use rv::pte::{R, W, X};
        let mut perm = 0;
        if self.prot & (PROT_READ | PROT_WRITE) != 0 {
            perm |= R;
        }
        if self.prot & PROT_WRITE != 0 {
            perm |= W;
        }
        if self.prot & PROT_EXEC != 0 {
            perm |= X;
        }
        perm
    }

    /// The object page backing `va`, for object-backed VMAs.
    pub fn object_page(&self, va: u64) -> Option<(&Rc<RefCell<MemObject>>, u64)> {
        match &self.backing {
            Backing::Anonymous => None,
            Backing::Object { obj, pgoff } => {
                Some((obj, pgoff + ((va - self.start) >> PAGE_SHIFT)))
            }
        }
    }

    /// The file this VMA maps, if any, for /proc/PID/maps.
    pub fn file_name(&self) -> Option<Vec<u8>> {
        match &self.backing {
            Backing::Object { obj, .. } => obj.borrow().name(),
            Backing::Anonymous => None,
        }
    }

    /// Splits at `at`: `self` keeps [start, at), the result is [at, end).
    fn split_off(&mut self, at: u64) -> Vma {
        let mut right = self.clone();
        right.start = at;
        if let Backing::Object { pgoff, .. } = &mut right.backing {
            *pgoff += (at - self.start) >> PAGE_SHIFT;
        }
        self.end = at;
        right
    }

    /// Whether `next`, starting where `self` ends, can join it into one VMA.
    fn mergeable(&self, next: &Vma) -> bool {
        self.end == next.start
            && self.prot == next.prot
            && self.shared == next.shared
            && self.growsdown == next.growsdown
            && self.dontfork == next.dontfork
            && self.wipeonfork == next.wipeonfork
            && self.may_write == next.may_write
            && match (&self.backing, &next.backing) {
                (Backing::Anonymous, Backing::Anonymous) => true,
                // Each attach of a segment stays a VMA of its own, as
                // Linux's shm VMAs (which have a close method) do.
                (Backing::Object { obj: a, pgoff: pa }, Backing::Object { obj: b, pgoff: pb }) => {
                    Rc::ptr_eq(a, b) && pa + self.pages() == *pb && !a.borrow().is_sysv()
                }
                _ => false,
            }
    }
}

/// The VMAs of one address space, sorted and non-overlapping, keyed by start.
#[derive(Default)]
pub(super) struct VmaTree {
    map: BTreeMap<u64, Vma>,
}

impl VmaTree {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// The VMA containing `va`.
    pub fn find(&self, va: u64) -> Option<&Vma> {
        self.map
            .range(..=va)
            .next_back()
            .map(|(_, v)| v)
            .filter(|v| va < v.end)
    }

    pub fn get_mut(&mut self, start: u64) -> Option<&mut Vma> {
        self.map.get_mut(&start)
    }

    /// The first VMA ending after `va` (Linux's find_vma).
    pub fn find_after(&self, va: u64) -> Option<&Vma> {
        if let Some(v) = self.find(va) {
            return Some(v);
        }
        self.map.range(va..).next().map(|(_, v)| v)
    }

    /// The last VMA starting before `va`.
    pub fn prev(&self, va: u64) -> Option<&Vma> {
        self.map.range(..va).next_back().map(|(_, v)| v)
    }

    /// Starts of the VMAs intersecting [start, end), in order.
    pub fn starts_in(&self, start: u64, end: u64) -> Vec<u64> {
        let first = self.find(start).map_or(start, |v| v.start);
        self.map.range(first..end).map(|(&s, _)| s).collect()
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.find_after(start).is_some_and(|v| v.start < end)
    }

    /// Whether every page of [start, end) is inside some VMA.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut at = start;
        while at < end {
            match self.find(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    }

    pub fn insert(&mut self, vma: Vma) {
        debug_assert!(!self.overlaps(vma.start, vma.end));
        debug_assert!(!(vma.shared && matches!(vma.backing, Backing::Anonymous)));
        self.map.insert(vma.start, vma);
    }

    pub fn remove(&mut self, start: u64) -> Option<Vma> {
        self.map.remove(&start)
    }

    /// Makes `at` a VMA boundary, if a VMA straddles it.
    pub fn split(&mut self, at: u64) {
        let Some(&start) = self.find(at).map(|v| &v.start) else {
            return;
        };
        if start == at {
            return;
        }
        let vma = self.map.get_mut(&start).unwrap();
        let right = vma.split_off(at);
        self.map.insert(at, right);
    }

    /// Whether splitting at `at` would make a new VMA.
    pub fn splits(&self, at: u64) -> bool {
        self.find(at).is_some_and(|v| v.start != at)
    }

    /// Joins the VMAs meeting at `at` if nothing tells them apart.
    pub fn merge_at(&mut self, at: u64) {
        let Some(left) = self.prev(at) else { return };
        let Some(right) = self.map.get(&at) else {
            return;
        };
        if left.mergeable(right) {
            let right = self.map.remove(&at).unwrap();
            let left = self.map.range_mut(..at).next_back().unwrap().1;
            left.end = right.end;
            // `right` held one more reference on a shared object; the
            // object stays alive through `left`.
            drop(right);
        }
    }

    /// Where a VMA may start at the lowest: a growsdown VMA keeps a guard gap
    /// below itself so that no mapping lands where the stack must grow.
    pub fn start_gap(v: &Vma, guard: u64) -> u64 {
        if v.growsdown {
            v.start.saturating_sub(guard)
        } else {
            v.start
        }
    }

    /// Whether [start, end) is free, guard gaps included.
    pub fn is_free(&self, start: u64, end: u64, guard: u64) -> bool {
        let prev_ok = self.prev(end).is_none_or(|p| p.end <= start);
        let next_ok = self
            .map
            .range(start..)
            .next()
            .is_none_or(|(_, n)| end <= Self::start_gap(n, guard));
        prev_ok && next_ok
    }

    /// The highest free range of `len` bytes within [low, high), searching
    /// down from `high` (Linux's top-down unmapped-area search).
    pub fn unmapped_area_topdown(&self, len: u64, low: u64, high: u64, guard: u64) -> Option<u64> {
        // The lowest address the gap being considered may reach up to.
        let mut upper = self
            .map
            .range(high..)
            .next()
            .map_or(high, |(_, v)| high.min(Self::start_gap(v, guard)));
        for (_, v) in self.map.range(..high).rev() {
            let lower = v.end.max(low);
            if upper >= lower && upper - lower >= len {
                return Some(upper - len);
            }
            upper = upper.min(Self::start_gap(v, guard));
            if upper <= low {
                return None;
            }
        }
        (upper >= low && upper - low >= len).then(|| upper - len)
    }
}

/// `len` rounded up to whole pages, or None if that overflows.
pub fn page_align(len: u64) -> Option<u64> {
    len.checked_add(PAGE_SIZE - 1).map(|l| l & !(PAGE_SIZE - 1))
}
