//! Sv39 page tables stored in physical frames.
//!
//! Three levels of 512 eight-byte entries; a table is one frame. The kernel
//! maps user memory with 4 KiB leaves only, so every leaf lives in a level-0
//! table. The hart walks these same entries (rv's `mmu::walk`), which is why
//! every leaf carries U, A and D: the hart faults on a leaf without A (or
//! without D for a store) instead of setting them.

use super::phys::{Phys, PAGE_SHIFT};
use crate::errno::KResult;
use rv::pte;

/// Software bit: a private page that may be shared with another address
/// space or the zero frame. It is mapped without W; a write fault copies it
/// unless the frame turns out to have a single holder.
pub const COW: u64 = pte::RSW0;

const ENTRIES: usize = 512;

/// The frame a PTE points at.
#[inline]
pub fn pfn(e: u64) -> usize {
    (pte::addr(e) >> PAGE_SHIFT) as usize
}

/// A user leaf for `pfn` with permission bits `perm` (R, W, X and COW).
///
/// Without any of R, W, X (PROT_NONE) the entry is left invalid for the
/// hart but keeps its frame: a present page is any non-zero entry, which
/// works because frame 0 is never handed out.
#[inline]
pub fn leaf(pfn: usize, perm: u64) -> u64 {
    let valid = if perm & (pte::R | pte::W | pte::X) != 0 {
        pte::V
    } else {
        0
    };
    pte::make(
        (pfn as u64) << PAGE_SHIFT,
        perm | valid | pte::U | pte::A | pte::D,
    )
}

/// The access rights the hart sees in `e`.
#[inline]
pub fn rights(e: u64) -> u64 {
    if e & pte::V != 0 {
        e & (pte::R | pte::W | pte::X)
    } else {
        0
    }
}

#[inline]
fn index(va: u64, level: u32) -> usize {
    ((va >> (PAGE_SHIFT + 9 * level)) & 0x1ff) as usize
}

/// The first address past the level-`level` span holding `va`.
#[inline]
fn span_end(va: u64, level: u32) -> u64 {
    (va | ((1 << (PAGE_SHIFT + 9 * level)) - 1)) + 1
}

#[inline]
fn slot_pa(table: usize, index: usize) -> u64 {
    ((table as u64) << PAGE_SHIFT) + index as u64 * 8
}

/// Reads entry `index` of table frame `table`.
#[inline]
pub fn read(phys: &Phys, table: usize, index: usize) -> u64 {
    phys.mem.read_u64(slot_pa(table, index))
}

#[inline]
pub fn write(phys: &mut Phys, table: usize, index: usize, e: u64) {
    phys.mem.write_u64(slot_pa(table, index), e)
}

/// All 512 entries of a table, for loops that touch most of them.
pub fn load(phys: &Phys, table: usize) -> [u64; ENTRIES] {
    let mut out = [0; ENTRIES];
    for (e, bytes) in out.iter_mut().zip(phys.mem.frame(table).chunks_exact(8)) {
        *e = u64::from_le_bytes(bytes.try_into().unwrap());
    }
    out
}

pub fn store(phys: &mut Phys, table: usize, entries: &[u64; ENTRIES]) {
    for (bytes, e) in phys.mem.frame_mut(table).chunks_exact_mut(8).zip(entries) {
        bytes.copy_from_slice(&e.to_le_bytes());
    }
}

/// The location of one level-0 entry: a table frame and an index in it.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub table: usize,
    pub index: usize,
}

pub struct PageTable {
    root: usize,
    /// Table frames, the root included.
    pages: u64,
}

impl PageTable {
    pub fn new(phys: &mut Phys) -> KResult<PageTable> {
        let mut pt = PageTable { root: 0, pages: 0 };
        pt.root = pt.alloc_table(phys)?;
        Ok(pt)
    }

    /// Takes the tables, leaving an empty `PageTable` that holds no frame
    /// (root 0: frame 0 is never handed out).
    pub fn take(&mut self) -> PageTable {
        std::mem::replace(self, PageTable { root: 0, pages: 0 })
    }

    /// Physical address of the root table, for `Hart::set_page_table`.
    pub fn root_pa(&self) -> u64 {
        (self.root as u64) << PAGE_SHIFT
    }

    /// Page-table frames this table uses.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    fn alloc_table(&mut self, phys: &mut Phys) -> KResult<usize> {
        let pfn = phys.alloc_zeroed()?;
        self.pages += 1;
        phys.stats.page_table_pages += 1;
        Ok(pfn)
    }

    fn free_table(&mut self, phys: &mut Phys, pfn: usize) {
        phys.put(pfn);
        self.pages -= 1;
        phys.stats.page_table_pages -= 1;
    }

    /// The level-0 entry for `va`, if its tables exist.
    pub fn slot(&self, phys: &Phys, va: u64) -> Option<Slot> {
        let mut table = self.root;
        for level in [2, 1] {
            let e = read(phys, table, index(va, level));
            if e & pte::V == 0 {
                return None;
            }
            table = pfn(e);
        }
        Some(Slot {
            table,
            index: index(va, 0),
        })
    }

    /// The level-0 entry for `va`, allocating the tables on the way.
    pub fn slot_alloc(&mut self, phys: &mut Phys, va: u64) -> KResult<Slot> {
        let mut table = self.root;
        for level in [2, 1] {
            let i = index(va, level);
            let e = read(phys, table, i);
            table = if e & pte::V != 0 {
                pfn(e)
            } else {
                let next = self.alloc_table(phys)?;
                // A non-leaf entry: V alone.
                write(
                    phys,
                    table,
                    i,
                    pte::make((next as u64) << PAGE_SHIFT, pte::V),
                );
                next
            };
        }
        Ok(Slot {
            table,
            index: index(va, 0),
        })
    }

    /// The leaf PTE for `va`, or 0.
    pub fn lookup(&self, phys: &Phys, va: u64) -> u64 {
        self.slot(phys, va)
            .map_or(0, |s| read(phys, s.table, s.index))
    }

    /// Calls `f(phys, table, va, lo, hi)` for every existing level-0 table
    /// under [start, end): entries lo..hi of `table` map the pages from `va`
    /// on. Absent subtrees are skipped whole, so sparse ranges cost nothing.
    /// Stops at the first error `f` returns.
    pub fn for_each_l0<E>(
        &self,
        phys: &mut Phys,
        start: u64,
        end: u64,
        mut f: impl FnMut(&mut Phys, usize, u64, usize, usize) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut va = start;
        while va < end {
            let e2 = read(phys, self.root, index(va, 2));
            if e2 & pte::V == 0 {
                va = span_end(va, 2);
                continue;
            }
            let e1 = read(phys, pfn(e2), index(va, 1));
            let next = span_end(va, 1).min(end);
            if e1 & pte::V != 0 {
                f(phys, pfn(e1), va, index(va, 0), index(next - 1, 0) + 1)?;
            }
            va = next;
        }
        Ok(())
    }

    /// Frees the tables under [start, end) that no longer hold any entry,
    /// after an unmap, so that churn does not accumulate empty tables.
    pub fn prune(&mut self, phys: &mut Phys, start: u64, end: u64) {
        let mut va = start;
        while va < end {
            let i2 = index(va, 2);
            let e2 = read(phys, self.root, i2);
            let next2 = span_end(va, 2).min(end);
            if e2 & pte::V != 0 {
                let l1 = pfn(e2);
                while va < next2 {
                    let i1 = index(va, 1);
                    let e1 = read(phys, l1, i1);
                    if e1 & pte::V != 0 && is_empty(phys, pfn(e1)) {
                        write(phys, l1, i1, 0);
                        self.free_table(phys, pfn(e1));
                    }
                    va = span_end(va, 1);
                }
                if is_empty(phys, l1) {
                    write(phys, self.root, i2, 0);
                    self.free_table(phys, l1);
                }
            }
            va = next2;
        }
    }

    /// Frees every table, dropping the reference each leaf holds on its
    /// frame. Returns how many leaves mapped frames other than the zero frame.
    pub fn destroy(mut self, phys: &mut Phys) -> u64 {
        let mut mapped = 0;
        let zero = phys.zero_pfn();
        for e2 in load(phys, self.root) {
            if e2 & pte::V == 0 {
                continue;
            }
            for e1 in load(phys, pfn(e2)) {
                if e1 & pte::V == 0 {
                    continue;
                }
                for e0 in load(phys, pfn(e1)) {
                    // A PROT_NONE page has V clear but still holds its frame.
                    if e0 != 0 && pfn(e0) != zero {
                        phys.put(pfn(e0));
                        mapped += 1;
                    }
                }
                self.free_table(phys, pfn(e1));
            }
            self.free_table(phys, pfn(e2));
        }
        let root = self.root;
        self.free_table(phys, root);
        mapped
    }
}

fn is_empty(phys: &Phys, table: usize) -> bool {
    phys.mem.frame(table).iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_lookup_prune_destroy() {
        let mut phys = Phys::new(64 * 4096);
        let mut pt = PageTable::new(&mut phys).unwrap();
        assert_eq!(pt.pages(), 1);
        let frame = phys.alloc_zeroed().unwrap();
        let va = 0x3f_ffff_f000;
        let s = pt.slot_alloc(&mut phys, va).unwrap();
        write(&mut phys, s.table, s.index, leaf(frame, pte::R | pte::W));
        assert_eq!(pt.pages(), 3);
        let e = pt.lookup(&phys, va);
        assert_eq!(pfn(e), frame);
        assert_eq!(
            e & (pte::V | pte::R | pte::W | pte::U | pte::A | pte::D),
            0xd7
        );
        assert_eq!(pt.lookup(&phys, va - 4096), 0);
        assert_eq!(pt.lookup(&phys, 0x1000), 0);

        let mut seen = vec![];
        let Ok(()) = pt.for_each_l0(&mut phys, 0, 0x40_0000_0000, |_, t, va, lo, hi| {
            seen.push((t, va, lo, hi));
            Ok::<_, std::convert::Infallible>(())
        });
        assert_eq!(seen, [(s.table, 0x3f_ffe0_0000, 0, 512)]);

        // Still in use: nothing pruned.
        pt.prune(&mut phys, 0, 0x40_0000_0000);
        assert_eq!(pt.pages(), 3);
        phys.get(frame);
        assert_eq!(pt.destroy(&mut phys), 1);
        assert_eq!(phys.refcount(frame), 1);
        phys.put(frame);
        assert_eq!(phys.free_frames(), phys.total_frames());
        assert_eq!(phys.stats.page_table_pages, 0);
    }

    #[test]
    fn prune_frees_empty_tables() {
        let mut phys = Phys::new(64 * 4096);
        let mut pt = PageTable::new(&mut phys).unwrap();
        for va in [0x1000, 0x20_0000, 0x4000_0000] {
            let s = pt.slot_alloc(&mut phys, va).unwrap();
            let zero = phys.zero_pfn();
            write(&mut phys, s.table, s.index, leaf(zero, pte::R));
        }
        assert_eq!(pt.pages(), 6);
        let s = pt.slot(&phys, 0x20_0000).unwrap();
        write(&mut phys, s.table, s.index, 0);
        pt.prune(&mut phys, 0x20_0000, 0x20_1000);
        assert_eq!(pt.pages(), 5);
        let s = pt.slot(&phys, 0x4000_0000).unwrap();
        write(&mut phys, s.table, s.index, 0);
        pt.prune(&mut phys, 0x4000_0000, 0x4000_1000);
        assert_eq!(pt.pages(), 3);
        assert_ne!(pt.lookup(&phys, 0x1000), 0);
        pt.destroy(&mut phys);
    }
}
