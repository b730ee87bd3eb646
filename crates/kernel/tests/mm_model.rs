//! Property test: random sequences of map / unmap / protect / write / read /
//! fork / exit / madvise / mremap over several address spaces, every byte
//! checked against a plain model in which fork simply copies private pages
//! and shares shared ones. Copy-on-write must be invisible: isolation and
//! sharing exact.
//!
//! Memory is reached three ways: through uaccess; through rv's hart running
//! byte loops (store a pattern, hash what it loads); and through a software
//! hart that walks the Sv39 tables itself with a TLB the test can inspect.
//! Both harts take their faults to `handle_fault` and the flushes from
//! `take_tlb_flush`, so that a missing flush shows up as a stale read, a
//! write to the wrong frame, or a stale entry in the software TLB. After
//! every step the frames' reference counts, the COW invariants and the
//! counters are checked against the page tables.
//!
//! MM_MODEL_SEEDS=n runs more seeds; a failure prints its seed and step.

use kernel::errno::Errno;
use kernel::mm::*;
use rv::{pte, Access, Hart, Trap};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use testkit::Rng;

const ARENA: u64 = 0x10_0000_0000;
const ARENA_PAGES: u64 = 48;
const P: u64 = PAGE_SIZE;
const MAX_SPACES: usize = 5;
/// Where the hart's programs live, outside the arena.
const TEXT: u64 = 0x10000;
/// a0 = address, a1 = first byte, a2 = count: stores a1, a1 + 7, ...
///   1: sb a1,0(a0); addi a1,a1,7; addi a0,a0,1; addi a2,a2,-1; bnez a2,1b; ebreak
const STORE_LOOP: [u32; 6] = [
    0x00b5_0023,
    0x0075_8593,
    0x0015_0513,
    0xfff6_0613,
    0xfe06_18e3,
    0x0010_0073,
];
/// a0 = address, a2 = count, a3 = 0: a3 = a3 * 31 + byte, over the bytes.
///   1: lbu t0,0(a0); slli t1,a3,5; sub a3,t1,a3; add a3,a3,t0;
///      addi a0,a0,1; addi a2,a2,-1; bnez a2,1b; ebreak
const HASH_LOOP: [u32; 8] = [
    0x0005_4283,
    0x0056_9313,
    0x40d3_06b3,
    0x0056_86b3,
    0x0015_0513,
    0xfff6_0613,
    0xfe06_14e3,
    0x0010_0073,
];
const HASH_AT: u64 = TEXT + 0x100;

fn hash(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64))
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Uaccess,
    Hart,
    SoftHart,
}

type Frame = Box<[u8; 4096]>;

/// A page's content in the model: private pages are copied by fork (a
/// deep clone), shared ones are the same cell in every space.
#[derive(Clone)]
enum Content {
    Private(Frame),
    Shared(Rc<RefCell<Frame>>),
}

#[derive(Clone)]
struct Page {
    content: Content,
    prot: u64,
    /// Which mmap made it: pages of one mapping with one protection are
    /// one VMA, which is what mremap needs.
    id: u64,
}

impl Page {
    fn get(&self, off: usize) -> u8 {
        match &self.content {
            Content::Private(f) => f[off],
            Content::Shared(f) => f.borrow()[off],
        }
    }
    fn set(&mut self, off: usize, b: u8) {
        match &mut self.content {
            Content::Private(f) => f[off] = b,
            Content::Shared(f) => f.borrow_mut()[off] = b,
        }
    }
    fn shared(&self) -> bool {
        matches!(self.content, Content::Shared(_))
    }
    fn readable(&self) -> bool {
        self.prot & (PROT_READ | PROT_WRITE) != 0
    }
    fn writable(&self) -> bool {
        self.prot & PROT_WRITE != 0
    }
}

struct Space {
    mm: Mm,
    /// Arena page index -> page.
    pages: BTreeMap<u64, Page>,
    /// rv's hart, with this space's page table installed.
    hart: Hart,
    /// The software hart's TLB: (virtual page, access) -> frame address.
    tlb: HashMap<(u64, u8), u64>,
}

/// Sv39 walk as the hart does it.
fn walk(phys: &Phys, root: u64, va: u64, access: Access) -> Option<u64> {
    let mut table = root;
    for level in (0..3).rev() {
        let e = phys
            .mem
            .read_u64(table + ((va >> (12 + 9 * level)) & 0x1ff) * 8);
        if e & pte::V == 0 {
            return None;
        }
        if e & (pte::R | pte::X) == 0 {
            table = pte::addr(e);
            continue;
        }
        assert_eq!(level, 0, "the kernel maps 4 KiB pages only");
        let ok = match access {
            Access::Fetch => e & pte::X != 0,
            Access::Load => e & pte::R != 0,
            Access::Store => e & pte::W != 0 && e & pte::D != 0,
        };
        return (ok && e & pte::U != 0 && e & pte::A != 0).then(|| pte::addr(e));
    }
    None
}

fn access_key(a: Access) -> u8 {
    match a {
        Access::Fetch => 0,
        Access::Load => 1,
        Access::Store => 2,
    }
}

impl Space {
    fn new(mm: Mm, pages: BTreeMap<u64, Page>) -> Space {
        let mut hart = Hart::new();
        hart.set_page_table(mm.root());
        Space {
            mm,
            pages,
            hart,
            tlb: HashMap::new(),
        }
    }

    /// The kernel's side of a TLB shootdown, after every call into the mm:
    /// every hart running this address space forgets.
    fn drain_tlb(&mut self) {
        match self.mm.take_tlb_flush() {
            TlbFlush::None => {}
            TlbFlush::All => {
                self.tlb.clear();
                self.hart.flush_tlb();
            }
            TlbFlush::Pages(pages) => {
                for va in pages {
                    self.tlb.retain(|&(vpn, _), _| vpn != va >> 12);
                    self.hart.flush_tlb_page(va);
                }
            }
        }
    }

    /// Runs a program on rv's hart until its ebreak or a fault the mm
    /// refuses; returns a0 (how far it got) and a3.
    fn run(&mut self, phys: &mut Phys, pc: u64, a0: u64, a1: u64, a2: u64) -> (u64, u64) {
        let r = &mut self.hart.regs;
        r.pc = pc;
        (r.x[10], r.x[11], r.x[12], r.x[13]) = (a0, a1, a2, 0);
        loop {
            match self.hart.run(&mut phys.mem, 100_000) {
                Trap::Breakpoint => break,
                Trap::BudgetExhausted => {}
                Trap::PageFault { addr, access } => {
                    let r = self.mm.handle_fault(phys, addr, access);
                    self.drain_tlb();
                    if r.is_err() {
                        break;
                    }
                }
                other => panic!("hart trapped: {other:?} at {:#x}", self.hart.regs.pc),
            }
        }
        (self.hart.regs.x[10], self.hart.regs.x[13])
    }

    /// The hart's translation: TLB first, else walk, else fault and retry.
    fn soft_translate(&mut self, phys: &mut Phys, va: u64, access: Access) -> Option<u64> {
        let key = (va >> 12, access_key(access));
        if let Some(&pa) = self.tlb.get(&key) {
            return Some(pa);
        }
        let root = self.mm.root();
        let pa = match walk(phys, root, va, access) {
            Some(pa) => pa,
            None => {
                let r = self.mm.handle_fault(phys, va, access);
                self.drain_tlb();
                r.ok()?;
                walk(phys, root, va, access).expect("fault handled but the walk still fails")
            }
        };
        self.tlb.insert(key, pa);
        Some(pa)
    }

    /// Every cached translation must still be what the table says.
    fn check_tlb(&self, phys: &Phys) {
        for (&(vpn, a), &pa) in &self.tlb {
            let access = [Access::Fetch, Access::Load, Access::Store][a as usize];
            assert_eq!(
                walk(phys, self.mm.root(), vpn << 12, access),
                Some(pa),
                "stale TLB entry for {:#x} ({access:?}): a flush is missing",
                vpn << 12
            );
        }
    }
}

struct World {
    phys: Phys,
    spaces: Vec<Space>,
    rng: Rng,
    next_id: u64,
}

impl World {
    fn range(&mut self) -> (u64, u64) {
        let start = self.rng.below(ARENA_PAGES);
        let len = 1 + self.rng.below(8.min(ARENA_PAGES - start));
        (start, len)
    }

    fn prot(&mut self) -> u64 {
        let rw = PROT_READ | PROT_WRITE;
        let choices = [
            PROT_NONE,
            PROT_READ,
            rw,
            rw,
            rw,
            PROT_WRITE,
            PROT_READ | PROT_EXEC,
        ];
        *self.rng.pick(&choices)
    }

    fn step(&mut self) -> String {
        let s = self.rng.below(self.spaces.len() as u64) as usize;
        let choice = self.rng.below(100);
        let (start, len) = self.range();
        let va = ARENA + start * P;
        let desc = match choice {
            0..=14 => self.map(s, start, len),
            15..=21 => {
                let space = &mut self.spaces[s];
                space.mm.munmap(&mut self.phys, va, len * P).unwrap();
                for i in start..start + len {
                    space.pages.remove(&i);
                }
                format!("munmap {s} {start}+{len}")
            }
            22..=30 => self.protect(s, start, len),
            31..=56 => self.write(s),
            57..=72 => self.read(s),
            73..=80 if self.spaces.len() < MAX_SPACES => {
                let parent = &mut self.spaces[s];
                let mm = parent.mm.fork(&mut self.phys).unwrap();
                parent.drain_tlb();
                let pages = parent.pages.clone();
                self.spaces.push(Space::new(mm, pages));
                format!("fork {s}")
            }
            81..=85 if self.spaces.len() > 1 => {
                let space = self.spaces.swap_remove(s);
                drop(space.mm);
                self.phys.reap();
                format!("exit {s}")
            }
            86..=90 => {
                let space = &mut self.spaces[s];
                let r = space.mm.madvise(&mut self.phys, va, len * P, MADV_DONTNEED);
                let hole = (start..start + len).any(|i| !space.pages.contains_key(&i));
                assert_eq!(r, if hole { Err(Errno::ENOMEM) } else { Ok(()) });
                for i in start..start + len {
                    if let Some(p) = space.pages.get_mut(&i) {
                        if !p.shared() {
                            p.content = Content::Private(Box::new([0; 4096]));
                        }
                    }
                }
                format!("madvise-dontneed {s} {start}+{len}")
            }
            _ => self.mremap(s, start, len),
        };
        if let Some(space) = self.spaces.get_mut(s) {
            space.drain_tlb();
        }
        desc
    }

    fn map(&mut self, s: usize, start: u64, len: u64) -> String {
        let prot = self.prot();
        let shared = self.rng.chance(25);
        let populate = if self.rng.chance(10) { MAP_POPULATE } else { 0 };
        let flags =
            MAP_FIXED | MAP_ANONYMOUS | populate | if shared { MAP_SHARED } else { MAP_PRIVATE };
        let va = ARENA + start * P;
        let space = &mut self.spaces[s];
        assert_eq!(
            space.mm.mmap(&mut self.phys, va, len * P, prot, flags, 0),
            Ok(va)
        );
        self.next_id += 1;
        for i in start..start + len {
            let content = if shared {
                Content::Shared(Rc::new(RefCell::new(Box::new([0; 4096]))))
            } else {
                Content::Private(Box::new([0; 4096]))
            };
            let id = self.next_id;
            space.pages.insert(i, Page { content, prot, id });
        }
        format!("mmap {s} {start}+{len} prot={prot} shared={shared}")
    }

    fn protect(&mut self, s: usize, start: u64, len: u64) -> String {
        let prot = self.prot();
        let space = &mut self.spaces[s];
        let r = space
            .mm
            .mprotect(&mut self.phys, ARENA + start * P, len * P, prot);
        // Linux changes page by page up to the first hole.
        let mut hole = false;
        for i in start..start + len {
            match space.pages.get_mut(&i) {
                Some(p) => p.prot = prot,
                None => {
                    hole = true;
                    break;
                }
            }
        }
        assert_eq!(r, if hole { Err(Errno::ENOMEM) } else { Ok(()) });
        format!("mprotect {s} {start}+{len} prot={prot}")
    }

    /// A random byte range in the arena, sometimes spilling past it.
    fn bytes(&mut self) -> (u64, usize) {
        let off = self.rng.below(ARENA_PAGES * P + 64);
        let len = match self.rng.below(3) {
            0 => 1 + self.rng.below(16),
            1 => 1 + self.rng.below(P),
            _ => 1 + self.rng.below(3 * P),
        };
        (ARENA + off, len as usize)
    }

    fn path(&mut self) -> Path {
        *self.rng.pick(&[Path::Uaccess, Path::Hart, Path::SoftHart])
    }

    fn write(&mut self, s: usize) -> String {
        let (va, len) = self.bytes();
        let seed = self.rng.next() as u8;
        let data: Vec<u8> = (0..len)
            .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
            .collect();
        let path = self.path();
        let space = &mut self.spaces[s];
        let page_of = |a: u64| (a - ARENA) / P;
        let writable = |pages: &BTreeMap<u64, Page>, a: u64| {
            a < ARENA + ARENA_PAGES * P && pages.get(&page_of(a)).is_some_and(|p| p.writable())
        };
        // How many bytes the model says land: all or nothing for uaccess,
        // up to the first bad page for a hart (a sequence of stores).
        let mut landed = 0;
        while landed < len && writable(&space.pages, va + landed as u64) {
            landed += (P - (va + landed as u64) % P) as usize;
        }
        let landed = landed.min(len);
        match path {
            Path::Uaccess => {
                let r = space.mm.write_user(&mut self.phys, va, &data);
                let expect = if landed == len {
                    Ok(())
                } else {
                    Err(Errno::EFAULT)
                };
                assert_eq!(r, expect);
                if r.is_err() {
                    return format!("write_user {s} {va:#x}+{len} (EFAULT)");
                }
            }
            Path::Hart => {
                let (end, _) = space.run(&mut self.phys, TEXT, va, seed as u64, len as u64);
                assert_eq!(end - va, landed as u64, "hart store loop from {va:#x}");
            }
            Path::SoftHart => {
                let mut done = 0;
                while done < len {
                    let at = va + done as u64;
                    let n = ((P - at % P) as usize).min(len - done);
                    let Some(pa) = space.soft_translate(&mut self.phys, at, Access::Store) else {
                        break;
                    };
                    self.phys.mem.write(pa + at % P, &data[done..done + n]);
                    done += n;
                }
                assert_eq!(done, landed, "soft hart store at {:#x}", va + done as u64);
            }
        }
        for (i, &b) in data[..landed].iter().enumerate() {
            let a = va + i as u64;
            let page = space.pages.get_mut(&page_of(a)).unwrap();
            page.set((a % P) as usize, b);
        }
        format!("write {s} {va:#x}+{len} {path:?}")
    }

    fn read(&mut self, s: usize) -> String {
        let (va, len) = self.bytes();
        let path = self.path();
        let space = &mut self.spaces[s];
        let page_of = |a: u64| (a - ARENA) / P;
        let readable = |a: u64| {
            a < ARENA + ARENA_PAGES * P
                && space.pages.get(&page_of(a)).is_some_and(|p| p.readable())
        };
        // The model's bytes, up to the first unreadable one.
        let want: Vec<u8> = (va..va + len as u64)
            .take_while(|&a| readable(a))
            .map(|a| space.pages[&page_of(a)].get((a % P) as usize))
            .collect();
        let all = want.len() == len;
        match path {
            Path::Uaccess => {
                let mut buf = vec![0; len];
                let r = space.mm.read_user(&mut self.phys, va, &mut buf);
                assert_eq!(r.is_ok(), all, "read_user {va:#x}+{len}: {r:?}");
                if all {
                    assert_eq!(buf, want, "read_user {va:#x}+{len} in space {s}");
                }
            }
            Path::Hart => {
                let (end, h) = space.run(&mut self.phys, HASH_AT, va, 0, len as u64);
                assert_eq!(end - va, want.len() as u64, "hart load loop from {va:#x}");
                assert_eq!(
                    h,
                    hash(want.into_iter()),
                    "hart read {va:#x}+{len} in space {s}"
                );
            }
            Path::SoftHart => {
                let mut buf = vec![0; len];
                let mut done = 0;
                while done < len {
                    let at = va + done as u64;
                    let n = ((P - at % P) as usize).min(len - done);
                    let Some(pa) = space.soft_translate(&mut self.phys, at, Access::Load) else {
                        break;
                    };
                    self.phys.mem.read(pa + at % P, &mut buf[done..done + n]);
                    done += n;
                }
                assert_eq!(
                    done == len,
                    all,
                    "soft hart load at {:#x}",
                    va + done as u64
                );
                if all {
                    assert_eq!(buf, want, "soft hart read {va:#x}+{len} in space {s}");
                }
            }
        }
        format!("read {s} {va:#x}+{len} {path:?}")
    }

    /// Moves part of one mapping elsewhere in the arena (same size).
    fn mremap(&mut self, s: usize, start: u64, len: u64) -> String {
        let space = &mut self.spaces[s];
        let first = space.pages.get(&start).map(|p| (p.id, p.prot));
        let one_vma = first.is_some_and(|(id, prot)| {
            (start..start + len).all(|i| {
                space
                    .pages
                    .get(&i)
                    .is_some_and(|p| p.id == id && p.prot == prot)
            })
        });
        let to = self.rng.below(ARENA_PAGES - len + 1);
        if !one_vma || (to < start + len && start < to + len) {
            return "mremap skipped".into();
        }
        let space = &mut self.spaces[s];
        let r = space.mm.mremap(
            &mut self.phys,
            ARENA + start * P,
            len * P,
            len * P,
            MREMAP_MAYMOVE | MREMAP_FIXED,
            ARENA + to * P,
        );
        assert_eq!(r, Ok(ARENA + to * P));
        self.next_id += 1;
        let moved: Vec<Page> = (start..start + len)
            .map(|i| space.pages.remove(&i).unwrap())
            .collect();
        for i in to..to + len {
            space.pages.remove(&i);
        }
        for (i, mut page) in moved.into_iter().enumerate() {
            page.id = self.next_id;
            space.pages.insert(to + i as u64, page);
        }
        format!("mremap {s} {start}+{len} -> {to}")
    }

    /// The page tables against the frames' counts and the counters.
    fn check(&self) {
        let zero = self.phys.zero_pfn();
        let mut holders: HashMap<usize, u32> = HashMap::new();
        let mut object_frames: HashMap<usize, ()> = HashMap::new();
        let mut exclusive_writable = vec![];
        let mut resident_sum = 0;
        let mut tables_sum = 0;
        for space in &self.spaces {
            space.check_tlb(&self.phys);
            let stats = space.mm.stats();
            let text = leaf(&self.phys, space.mm.root(), TEXT).expect("text mapped");
            assert_eq!(text & pte::W, 0);
            *holders.entry((pte::addr(text) / P) as usize).or_default() += 1;
            let mut resident = 1;
            for i in 0..ARENA_PAGES {
                let va = ARENA + i * P;
                let Some(e) = leaf(&self.phys, space.mm.root(), va) else {
                    continue;
                };
                let page = space.pages.get(&i).expect("a PTE where nothing is mapped");
                let pfn = (pte::addr(e) / P) as usize;
                let rights = if e & pte::V != 0 {
                    e & (pte::R | pte::W | pte::X)
                } else {
                    0
                };
                if e & pte::W != 0 {
                    assert!(page.writable(), "W on a page the model says is read-only");
                }
                if page.prot == PROT_NONE {
                    assert_eq!(rights, 0);
                }
                if pfn == zero {
                    assert_eq!(e & pte::W, 0, "the zero frame mapped writable");
                    continue;
                }
                resident += 1;
                *holders.entry(pfn).or_default() += 1;
                if page.shared() {
                    object_frames.insert(pfn, ());
                } else if e & pte::W != 0 {
                    exclusive_writable.push(pfn);
                }
            }
            assert_eq!(stats.resident_pages, resident);
            resident_sum += resident;
            tables_sum += stats.page_table_pages;
        }
        for (&pfn, &n) in &holders {
            let expect = n + object_frames.contains_key(&pfn) as u32;
            assert_eq!(self.phys.refcount(pfn), expect, "refcount of frame {pfn}");
        }
        for pfn in exclusive_writable {
            assert_eq!(holders[&pfn], 1, "a private writable frame mapped twice");
        }
        assert_eq!(self.phys.stats.resident_pages, resident_sum);
        assert_eq!(self.phys.stats.page_table_pages, tables_sum);
    }
}

/// The leaf PTE for `va`, if one is present (PROT_NONE ones included).
fn leaf(phys: &Phys, root: u64, va: u64) -> Option<u64> {
    let mut table = root;
    for level in (1..3).rev() {
        let e = phys
            .mem
            .read_u64(table + ((va >> (12 + 9 * level)) & 0x1ff) * 8);
        if e & pte::V == 0 {
            return None;
        }
        table = pte::addr(e);
    }
    let e = phys.mem.read_u64(table + ((va >> 12) & 0x1ff) * 8);
    (e != 0).then_some(e)
}

/// Runs one seed; returns the global counters it ended with.
fn run_seed(seed: u64, steps: usize) -> MmStats {
    let mut phys = Phys::new(32 << 20);
    let mut mm = Mm::new(&mut phys).unwrap();
    let text: Vec<u8> = STORE_LOOP.iter().flat_map(|i| i.to_le_bytes()).collect();
    let hash: Vec<u8> = HASH_LOOP.iter().flat_map(|i| i.to_le_bytes()).collect();
    let rx = PROT_READ | PROT_EXEC;
    mm.mmap(
        &mut phys,
        TEXT,
        P,
        rx,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        0,
    )
    .unwrap();
    mm.write_user_force(&mut phys, TEXT, &text).unwrap();
    mm.write_user_force(&mut phys, HASH_AT, &hash).unwrap();
    let mut world = World {
        phys,
        spaces: vec![Space::new(mm, BTreeMap::new())],
        rng: Rng::new(seed),
        next_id: 0,
    };
    let mut log = Vec::new();
    for step in 0..steps {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let desc = world.step();
            world.check();
            desc
        }));
        match outcome {
            Ok(desc) => log.push(desc),
            Err(e) => {
                let tail = log[log.len().saturating_sub(12)..].join("\n  ");
                eprintln!("seed {seed} failed at step {step}; last steps:\n  {tail}");
                std::panic::resume_unwind(e);
            }
        }
    }
    // Everything verified once more, in full, then released.
    for s in 0..world.spaces.len() {
        let space = &mut world.spaces[s];
        for (&i, page) in &space.pages {
            if !page.readable() {
                continue;
            }
            let mut buf = vec![0; P as usize];
            space
                .mm
                .read_user(&mut world.phys, ARENA + i * P, &mut buf)
                .unwrap();
            for (off, &b) in buf.iter().enumerate() {
                assert_eq!(
                    b,
                    page.get(off),
                    "seed {seed}: final byte {off} of page {i}"
                );
            }
        }
    }
    for space in world.spaces.drain(..) {
        drop(space.mm);
        world.phys.reap();
    }
    // The leak test: every frame is back.
    assert_eq!(world.phys.live_mms(), 0);
    assert_eq!(
        world.phys.free_frames(),
        world.phys.total_frames(),
        "seed {seed} leaked"
    );
    assert_eq!(world.phys.stats.resident_pages, 0);
    assert_eq!(world.phys.stats.page_table_pages, 0);
    world.phys.stats
}

#[test]
fn random_operations_match_the_model() {
    let seeds: u64 = std::env::var("MM_MODEL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(48);
    let mut total = MmStats::default();
    for seed in 0..seeds {
        let s = run_seed(seed, 400);
        total.zero_fill_faults += s.zero_fill_faults;
        total.cow_faults += s.cow_faults;
        total.pages_copied += s.pages_copied;
        total.cow_reused += s.cow_reused;
    }
    // The runs did exercise every path of copy-on-write.
    eprintln!("{total:?}");
    assert!(total.zero_fill_faults > 0 && total.pages_copied > 0 && total.cow_reused > 0);
}
