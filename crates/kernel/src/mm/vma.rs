//! Virtual memory areas: the ranges of an address space and what backs them.
//!
//! The VMAs say what may be mapped; the page table says what is mapped now.
//! A page absent from the table but inside a VMA is filled on first touch.

use super::phys::{Phys, PAGE_SHIFT, PAGE_SIZE};
use super::{PROT_EXEC, PROT_READ, PROT_WRITE};
use crate::errno::KResult;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A memory object: pages that exist independently of any one mapping, so
/// that every mapping of it sees the same frames. Today that is shared
/// anonymous memory (Linux's shmem); a file's page cache will be one too.
#[derive(Debug)]
pub struct MemObject {
    /// Size in pages: touching a page past it is SIGBUS, as past a file's end.
    size: u64,
    /// Page index -> frame. The object holds one reference on each frame.
    frames: BTreeMap<u64, usize>,
}

impl MemObject {
    pub fn new(size_pages: u64) -> Rc<RefCell<MemObject>> {
        Rc::new(RefCell::new(MemObject {
            size: size_pages,
            frames: BTreeMap::new(),
        }))
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The frame holding page `index`, allocated zeroed on first use.
    /// Returns whether it was just allocated.
    pub(super) fn frame(&mut self, phys: &mut Phys, index: u64) -> KResult<(usize, bool)> {
        if let Some(&pfn) = self.frames.get(&index) {
            return Ok((pfn, false));
        }
        let pfn = phys.alloc_zeroed()?;
        self.frames.insert(index, pfn);
        Ok((pfn, true))
    }

    /// Drops the object's references: called when its last mapping goes.
    fn release(&mut self, phys: &mut Phys) {
        for (_, pfn) in std::mem::take(&mut self.frames) {
            phys.put(pfn);
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
    pub backing: Backing,
}

impl Vma {
    pub(super) fn anonymous(start: u64, end: u64, prot: u64) -> Vma {
        Vma {
            start,
            end,
            prot,
            shared: false,
            growsdown: false,
            dontfork: false,
            wipeonfork: false,
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
            && match (&self.backing, &next.backing) {
                (Backing::Anonymous, Backing::Anonymous) => true,
                (Backing::Object { obj: a, pgoff: pa }, Backing::Object { obj: b, pgoff: pb }) => {
                    Rc::ptr_eq(a, b) && pa + self.pages() == *pb
                }
                _ => false,
            }
    }

    /// Drops this VMA's hold on its backing; the last mapping of an object
    /// frees the object's pages. "Last" is the Rc count, so a caller must not
    /// keep a clone of a VMA alive across the release of the object's final
    /// mapping.
    pub(super) fn release(self, phys: &mut Phys) {
        if let Backing::Object { obj, .. } = self.backing {
            if Rc::strong_count(&obj) == 1 {
                obj.borrow_mut().release(phys);
            }
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

    pub fn into_vmas(self) -> impl Iterator<Item = Vma> {
        self.map.into_values()
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
