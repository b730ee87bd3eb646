//! Sv39 translation and the software TLB.
//!
//! The TLB is three direct-mapped arrays (fetch, load, store) mapping a
//! virtual page number to the physical address of its frame, and to the
//! host address of the frame's bytes for translated code. An entry is
//! only filled after a full walk has checked V/R/W/X/U and A/D, so a hit
//! needs no further checks. Store entries are never filled for frames that
//! hold decoded code: such stores take the slow path, which drops the
//! decoded copy.

use crate::{Access, PhysMem, Trap, PAGE_SIZE};

/// Sv39 page-table entry bits.
pub mod pte {
    pub const V: u64 = 1 << 0;
    pub const R: u64 = 1 << 1;
    pub const W: u64 = 1 << 2;
    pub const X: u64 = 1 << 3;
    pub const U: u64 = 1 << 4;
    pub const G: u64 = 1 << 5;
    pub const A: u64 = 1 << 6;
    pub const D: u64 = 1 << 7;
    /// The two bits reserved for supervisor software.
    pub const RSW0: u64 = 1 << 8;
    pub const RSW1: u64 = 1 << 9;
    pub const PPN_SHIFT: u32 = 10;
    pub const PPN_MASK: u64 = (1 << 44) - 1;

    /// The physical address a PTE points at.
    pub fn addr(pte: u64) -> u64 {
        ((pte >> PPN_SHIFT) & PPN_MASK) << 12
    }

    /// A PTE pointing at physical address `pa` with `flags`.
    pub fn make(pa: u64, flags: u64) -> u64 {
        ((pa >> 12) << PPN_SHIFT) | flags
    }
}

pub(crate) const TLB_SIZE: usize = 512;
const INVALID: u64 = u64::MAX;

/// `repr(C)`: translated code reads entries at fixed offsets. Only this
/// module makes entries (in `Tlb::fill`), so every valid one satisfies the
/// invariant translated code relies on, see `host`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct TlbEntry {
    /// Virtual page number, or INVALID.
    vpn: u64,
    /// Physical address of the frame.
    pa: u64,
    /// The host address of the frame in the RAM the TLB was filled for,
    /// minus the page's virtual address: a virtual address on the page plus
    /// this is the host address of its byte, which translated code then
    /// accesses with no further check. The frame lies wholly inside that
    /// RAM.
    host: u64,
    /// Makes an entry 32 bytes: translated code indexes with a shift.
    _pad: u64,
}

impl TlbEntry {
    /// Where translated code finds the fields.
    pub const VPN: i32 = std::mem::offset_of!(TlbEntry, vpn) as i32;
    pub const PA: i32 = std::mem::offset_of!(TlbEntry, pa) as i32;
    pub const HOST: i32 = std::mem::offset_of!(TlbEntry, host) as i32;

    pub fn vpn(&self) -> u64 {
        self.vpn
    }

    pub fn pa(&self) -> u64 {
        self.pa
    }
}

/// Kept inline in the Hart (not boxed): one pointer less on every access.
pub(crate) struct Tlb {
    fetch: [TlbEntry; TLB_SIZE],
    load: [TlbEntry; TLB_SIZE],
    store: [TlbEntry; TLB_SIZE],
    /// The RAM (start, length) that the entries' host addresses point
    /// into; (0, 0) before the first fill.
    ram: (usize, usize),
    /// The entries filled since the last full flush, while there are at
    /// most FILLED_MAX (as `table * TLB_SIZE + slot`): a flush after a
    /// short run (a context switch, fork) clears those, not all 48 KiB.
    filled: [u16; FILLED_MAX],
    filled_len: usize,
}

/// More fills than this since a flush, and the flush clears everything.
const FILLED_MAX: usize = 64;

const EMPTY: TlbEntry = TlbEntry {
    vpn: INVALID,
    pa: 0,
    host: 0,
    _pad: 0,
};

#[inline(always)]
pub(crate) fn slot(vpn: u64) -> usize {
    vpn as usize & (TLB_SIZE - 1)
}

impl Tlb {
    pub fn new() -> Tlb {
        Tlb {
            fetch: [EMPTY; TLB_SIZE],
            load: [EMPTY; TLB_SIZE],
            store: [EMPTY; TLB_SIZE],
            ram: (0, 0),
            filled: [0; FILLED_MAX],
            filled_len: 0,
        }
    }

    fn table_mut(&mut self, access: Access) -> &mut [TlbEntry; TLB_SIZE] {
        match access {
            Access::Fetch => &mut self.fetch,
            Access::Load => &mut self.load,
            Access::Store => &mut self.store,
        }
    }

    pub fn fetch(&self) -> &[TlbEntry; TLB_SIZE] {
        &self.fetch
    }

    pub fn load(&self) -> &[TlbEntry; TLB_SIZE] {
        &self.load
    }

    pub fn store(&self) -> &[TlbEntry; TLB_SIZE] {
        &self.store
    }

    /// Whether every valid entry's host address points into `ram`.
    pub fn points_into(&self, ram: &[u8]) -> bool {
        self.ram == (0, 0) || self.ram == (ram.as_ptr() as usize, ram.len())
    }

    /// Maps virtual page `vpn` to the frame at `pa` of `ram` for `access`.
    /// Entries made for another RAM are dropped first.
    pub fn fill(&mut self, access: Access, vpn: u64, pa: u64, ram: &[u8]) {
        let here = (ram.as_ptr() as usize, ram.len());
        if self.ram != here {
            self.flush_all();
            self.ram = here;
        }
        assert!(
            pa as usize + PAGE_SIZE <= ram.len(),
            "TLB entry outside RAM"
        );
        let entry = TlbEntry {
            vpn,
            pa,
            host: (here.0 as u64).wrapping_add(pa).wrapping_sub(vpn << 12),
            _pad: 0,
        };
        if let Some(f) = self.filled.get_mut(self.filled_len) {
            *f = (access as usize * TLB_SIZE + slot(vpn)) as u16;
        }
        self.filled_len += 1;
        self.table_mut(access)[slot(vpn)] = entry;
    }

    pub fn flush_all(&mut self) {
        if self.filled_len <= FILLED_MAX {
            for i in 0..self.filled_len {
                let at = self.filled[i] as usize;
                let access = [Access::Fetch, Access::Load, Access::Store][at / TLB_SIZE];
                self.table_mut(access)[at % TLB_SIZE] = EMPTY;
            }
        } else {
            self.fetch.fill(EMPTY);
            self.load.fill(EMPTY);
            self.store.fill(EMPTY);
        }
        self.filled_len = 0;
    }

    pub fn flush_page(&mut self, va: u64) {
        let vpn = va >> 12;
        for table in [&mut self.fetch, &mut self.load, &mut self.store] {
            let e = &mut table[slot(vpn)];
            if e.vpn == vpn {
                *e = EMPTY;
            }
        }
    }

    pub fn flush_stores(&mut self) {
        self.store.fill(EMPTY);
    }

    /// Drops every store entry for frame `pa` (it now holds decoded code).
    pub fn forget_store_frame(&mut self, pa: u64) {
        for e in self.store.iter_mut() {
            if e.vpn != INVALID && e.pa == pa {
                *e = EMPTY;
            }
        }
    }
}

/// Walks the Sv39 table rooted at `root` for `va` and checks that a user
/// `access` is allowed. Returns the physical address of the 4 KiB frame
/// holding `va` (within a superpage, the frame's slice of it).
pub(crate) fn walk(mem: &PhysMem, root: u64, va: u64, access: Access) -> Result<u64, Trap> {
    let fault = Trap::PageFault { addr: va, access };
    // Bits 63..39 must all equal bit 38.
    if ((va as i64) << 25 >> 25) as u64 != va {
        return Err(fault);
    }
    let mut table = root;
    for level in (0..3).rev() {
        let index = (va >> (12 + 9 * level)) & 0x1ff;
        let addr = table + index * 8;
        if addr as usize + 8 > mem.ram.len() {
            return Err(fault);
        }
        let e = mem.read_u64(addr);
        if e & pte::V == 0 || (e & pte::W != 0 && e & pte::R == 0) {
            return Err(fault);
        }
        if e & (pte::R | pte::X) == 0 {
            table = pte::addr(e);
            continue;
        }
        // A leaf.
        let allowed = match access {
            Access::Fetch => e & pte::X != 0,
            Access::Load => e & pte::R != 0,
            Access::Store => e & pte::W != 0 && e & pte::D != 0,
        };
        if !allowed || e & pte::U == 0 || e & pte::A == 0 {
            return Err(fault);
        }
        let span_pages = 1u64 << (9 * level);
        let ppn = (e >> pte::PPN_SHIFT) & pte::PPN_MASK;
        if ppn & (span_pages - 1) != 0 {
            return Err(fault); // misaligned superpage
        }
        let pa = (ppn + ((va >> 12) & (span_pages - 1))) << 12;
        if pa as usize + PAGE_SIZE > mem.ram.len() {
            return Err(fault);
        }
        return Ok(pa);
    }
    Err(fault)
}
