//! Executable memory for translated blocks: the only unsafe code of the
//! hart. The rest of the JIT is safe Rust that produces bytes; this module
//! stores them where they can run and calls them.
//!
//! The buffer is W^X: one memfd mapped twice at the same offsets, a
//! read-write view where `push` and `link` store bytes and a read-execute
//! view that `call` enters. No page is ever writable and executable at once,
//! so a stray write elsewhere in the process cannot become host code, and
//! hosts that refuse writable executable mappings (SELinux without execmem,
//! PaX) can still run the JIT. Translated code is position-independent (it names other code in
//! the buffer only by rel32 and by offsets, never by address), so it runs at
//! the execution view without relocation. If the host refuses the double
//! mapping, `new` fails and the hart interprets everything.
//!
//! x86 keeps instruction fetch coherent with stores by physical address, so
//! a store through the writable view is seen at the executable one; with
//! one thread that writes and later jumps there, no fence or serializing
//! instruction is needed (that would change only if another thread ran
//! blocks while we patch them: cross-modifying code).
//!
//! Every call goes through the entry code given to `new`, which stays at
//! the start of the buffer: a System V function `(env, x, pc, block)` that
//! calls `block` and returns what it returns, with the registers the ABI
//! preserves as it found them.
//!
//! The safe interface rests on one contract with `jit::x86`, the only
//! producer of code: the entry code and blocks read and write host memory
//! only through the pointers in `Env` and `x` (the register files, the
//! reservation, the TLBs, and RAM at a virtual address plus the host
//! offset of a TLB entry that maps the address's page, which `mmu::Tlb`
//! makes only for frames inside the RAM it was filled for, and `call`
//! checks that RAM is this one) and the stack, call
//! nothing but `call_fp` (with the `Env` they were given and the stack
//! aligned), jump only within themselves, through the link sites they
//! declared or to the `code` of a jump-cache entry, and return with `ret`.
//! The buffer checks everything else: `call`, `link` and `remember` accept
//! only entries handed out since the last `clear`, `link` only patches
//! declared sites, and `clear` empties the jump cache.

use crate::hart::Reservation;
use crate::mmu::{Tlb, TlbEntry};
use std::collections::HashSet;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;

/// Where a block starts, valid until the buffer is cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    offset: u32,
    generation: u32,
}

impl Entry {
    /// Names no block: never live.
    pub const NONE: Entry = Entry {
        offset: u32::MAX,
        generation: u32::MAX,
    };
}

/// Entries of the jump cache; a power of two.
pub(crate) const JUMP_CACHE_SIZE: usize = 1024;

/// A block that blocks may jump to directly when its page is another
/// (through a register, or a jump off their page): the block for guest
/// address `pc` on the frame at physical address `frame`. Blocks check the
/// fetch TLB first: the jump is taken only while `pc` still maps to
/// `frame`.
#[derive(Clone, Copy)]
#[repr(C)]
pub(crate) struct JumpEntry {
    /// `NO_PC` when empty: odd, so never a jump target.
    pub pc: u64,
    pub frame: u64,
    /// Where the block starts in the executable view.
    pub code: u64,
    /// Makes an entry 32 bytes: blocks index the cache with a shift.
    _pad: u64,
}

const NO_PC: u64 = u64::MAX;

const EMPTY_JUMP: JumpEntry = JumpEntry {
    pc: NO_PC,
    frame: 0,
    code: 0,
    _pad: 0,
};

/// The jump-cache slot of guest address `pc`.
fn jump_slot(pc: u64) -> usize {
    (pc >> 1) as usize & (JUMP_CACHE_SIZE - 1)
}

/// What a block sees, laid out for the generated code (offsets in `x86`).
#[repr(C)]
pub(crate) struct Env {
    pub tlb_load: *const TlbEntry,
    pub tlb_store: *const TlbEntry,
    /// The instruction budget; blocks take what they retire from it.
    pub left: u64,
    /// How the block left (`x86::NORMAL`, `FALLBACK` or `LINK`).
    pub exit: u64,
    /// For `LINK`: the site to link.
    pub site: u64,
    /// The FP registers (raw bits) and fcsr.
    pub f: *mut [u64; 32],
    pub fcsr: *mut u32,
    pub tlb_fetch: *const TlbEntry,
    /// The jump cache, `JUMP_CACHE_SIZE` entries; blocks only read it.
    pub jumps: *const JumpEntry,
    /// The hart's LR reservation.
    pub reservation: *mut Reservation,
    /// Scratch for blocks: the host offsets of the pages of their groups
    /// of accesses (see `x86::groups`).
    pub groups: [u64; GROUP_SLOTS],
}

/// Groups of accesses one block may check at once.
pub(crate) const GROUP_SLOTS: usize = 8;

/// What `call_fp` returns, in rax and rdx: whether the instruction ran (0
/// when its rounding mode is reserved and nothing changed), and the value
/// for its integer rd, if it has one.
#[repr(C)]
pub(crate) struct FpDone {
    pub done: u64,
    pub value: u64,
}

/// The one function blocks call: an F or D instruction (`packed` as
/// `fpu::execute_packed` takes it, `x` the value of its integer rs1) on the
/// `Env`'s FP registers.
extern "C" fn call_fp(env: *mut Env, packed: u64, x: u64) -> FpDone {
    // SAFETY: blocks call this only with the `Env` that `call` passed them,
    // which lives on `call`'s stack for the whole call; its `f` and `fcsr`
    // come from the `&mut` borrows in `Machine`, also held for the whole
    // call, and nothing else touches them while the block waits for us.
    let (f, fcsr) = unsafe { (&mut *(*env).f, &mut *(*env).fcsr) };
    match crate::fpu::execute_packed(f, fcsr, packed, x) {
        Some(value) => FpDone { done: 1, value },
        None => FpDone { done: 0, value: 0 },
    }
}

/// The address blocks call for FP arithmetic.
pub(crate) fn call_fp_address() -> u64 {
    call_fp as *const () as usize as u64
}

/// The result of one `call`.
pub(crate) struct Exit {
    pub pc: u64,
    pub left: u64,
    pub exit: u64,
    pub site: u64,
}

/// Everything a block may touch, borrowed for the duration of one call.
pub(crate) struct Machine<'a> {
    pub x: &'a mut [u64; 64],
    pub f: &'a mut [u64; 32],
    pub fcsr: &'a mut u32,
    pub reservation: &'a mut Reservation,
    pub ram: &'a mut [u8],
    /// Its host addresses point into `ram`.
    pub tlb: &'a Tlb,
}

/// One shared mapping of the buffer's memfd, unmapped on drop.
struct View {
    base: NonNull<u8>,
    size: usize,
}

impl View {
    /// Maps all `size` bytes of `fd` with protection `prot`, or None.
    fn new(fd: &OwnedFd, size: usize, prot: libc::c_int) -> Option<View> {
        // SAFETY: a new shared mapping of our own memfd at an address the
        // kernel picks replaces nothing and aliases no Rust object (only the
        // other view, which Rust never references either); the result is
        // checked before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(View {
            base: NonNull::new(p.cast())?,
            size,
        })
    }
}

impl Drop for View {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `View::new`; views live
        // in a `CodeBuffer`, and no block runs while it is dropped.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.size) };
    }
}

/// A new memfd, or None if the host refuses.
fn memfd() -> Option<OwnedFd> {
    // MFD_EXEC (Linux 6.3) asks for a memfd that may be mapped executable
    // even where vm.memfd_noexec makes them non-executable by default;
    // older kernels reject the flag, and all their memfds are executable.
    for flags in [libc::MFD_CLOEXEC | libc::MFD_EXEC, libc::MFD_CLOEXEC] {
        // SAFETY: the name is NUL-terminated and only read.
        let fd = unsafe { libc::memfd_create(c"cleave-jit".as_ptr(), flags) };
        if fd >= 0 {
            // SAFETY: `fd` was just opened and nothing else owns it.
            return Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    None
}

pub(crate) struct CodeBuffer {
    /// Where bytes are stored; never executed.
    write: View,
    /// The same memory where blocks run; never written.
    exec: View,
    /// The end of the entry code, where blocks start.
    floor: usize,
    top: usize,
    generation: u32,
    /// Offsets of the rel32 of every chainable `jmp` pushed since `clear`.
    sites: HashSet<u64>,
    /// Blocks by guest address, for jumps between pages; only live ones.
    jumps: Box<[JumpEntry; JUMP_CACHE_SIZE]>,
}

impl CodeBuffer {
    /// Reserves `size` bytes for code (the memfd's pages are allocated as
    /// used) and stores the `entry` code, or None if the host refuses.
    pub fn new(size: usize, entry: &[u8]) -> Option<CodeBuffer> {
        let fd = memfd()?;
        let len = libc::off_t::try_from(size).ok()?;
        // SAFETY: sizes a file we own; no mapping of it exists yet.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), len) } != 0 {
            return None;
        }
        let write = View::new(&fd, size, libc::PROT_READ | libc::PROT_WRITE)?;
        let exec = View::new(&fd, size, libc::PROT_READ | libc::PROT_EXEC)?;
        // The mappings keep the memory; `fd` is closed here.
        let mut buffer = CodeBuffer {
            write,
            exec,
            floor: 0,
            top: 0,
            generation: 0,
            sites: HashSet::new(),
            jumps: Box::new([EMPTY_JUMP; JUMP_CACHE_SIZE]),
        };
        buffer.push(entry, &[])?;
        buffer.floor = buffer.top;
        Some(buffer)
    }

    /// Copies `code` in; None when the buffer is full (then `clear` it).
    /// Each of `links` is a link site: the offset in `code` of a `jmp`'s
    /// rel32, and of an imm32 that is to hold the site's offset in the
    /// buffer (how the block names the site when it leaves through it).
    pub fn push(&mut self, code: &[u8], links: &[(usize, usize)]) -> Option<Entry> {
        // Blocks start 16-byte aligned, as the host's branch predictors like.
        let start = self.top.next_multiple_of(16);
        if start + code.len() > self.write.size || start + code.len() > i32::MAX as usize {
            return None;
        }
        let mut code = code.to_vec();
        for &(site, name) in links {
            assert!(
                site >= 1 && site + 4 <= code.len() && code[site - 1] == 0xe9,
                "link site is a jmp"
            );
            code[name..name + 4].copy_from_slice(&((start + site) as u32).to_le_bytes());
            self.sites.insert((start + site) as u64);
        }
        // SAFETY: `start + code.len() <= write.size`, so the destination
        // lies in the writable view, which no Rust reference covers, and no
        // block is executing (calls are synchronous and `&mut self` excludes
        // them).
        unsafe {
            std::ptr::copy_nonoverlapping(
                code.as_ptr(),
                self.write.base.as_ptr().add(start),
                code.len(),
            )
        };
        self.top = start + code.len();
        Some(Entry {
            offset: start as u32,
            generation: self.generation,
        })
    }

    /// Forgets every block: entries handed out before are refused from now on.
    pub fn clear(&mut self) {
        self.top = self.floor;
        self.generation = self.generation.wrapping_add(1);
        self.sites.clear();
        self.jumps.fill(EMPTY_JUMP);
    }

    /// Lets blocks jump to `entry` for guest address `pc` while it maps to
    /// the frame at physical address `frame`.
    pub fn remember(&mut self, pc: u64, frame: u64, entry: Entry) {
        assert!(self.is_live(entry), "stale JIT entry");
        self.jumps[jump_slot(pc)] = JumpEntry {
            pc,
            frame,
            code: self.exec.base.as_ptr() as u64 + entry.offset as u64,
            _pad: 0,
        };
    }

    /// Whether blocks jump to `entry` for `pc` (for tests).
    #[cfg(test)]
    pub fn remembers(&self, pc: u64, entry: Entry) -> bool {
        let e = self.jumps[jump_slot(pc)];
        e.pc == pc && e.code == self.exec.base.as_ptr() as u64 + entry.offset as u64
    }

    /// Forgets the jumps to blocks of the frame at `frame`, whose contents
    /// changed.
    pub fn forget_frame(&mut self, frame: u64) {
        for e in self.jumps.iter_mut().filter(|e| e.frame == frame) {
            *e = EMPTY_JUMP;
        }
    }

    /// Points the `jmp` at link site `site` to the block at `target`.
    pub fn link(&mut self, site: u64, target: Entry) {
        assert!(self.is_live(target), "stale JIT entry");
        assert!(self.sites.contains(&site), "not a link site");
        let site = site as usize;
        let rel = (target.offset as i64 - (site as i64 + 4)) as i32;
        // SAFETY: `site` was declared by `push` since the last `clear`, so
        // `site + 4 <= top <= size`, and those four bytes are the rel32 of a
        // `jmp`; pointing it at a live block start keeps the contract. The
        // rel32 is relative, so the same in both views. No block runs while
        // we hold `&mut self`.
        unsafe {
            std::ptr::copy_nonoverlapping(
                rel.to_le_bytes().as_ptr(),
                self.write.base.as_ptr().add(site),
                4,
            )
        };
    }

    /// Whether `entry` still names a block in this buffer.
    pub fn is_live(&self, entry: Entry) -> bool {
        entry.generation == self.generation
            && (self.floor..self.top).contains(&(entry.offset as usize))
    }

    /// Runs the block at `entry` with guest pc `pc` and budget `left`.
    pub fn call(&self, entry: Entry, m: Machine, pc: u64, left: u64) -> Exit {
        assert!(self.is_live(entry), "stale JIT entry");
        assert!(m.tlb.points_into(m.ram), "TLB of another RAM");
        let mut env = Env {
            tlb_load: m.tlb.load().as_ptr(),
            tlb_store: m.tlb.store().as_ptr(),
            tlb_fetch: m.tlb.fetch().as_ptr(),
            jumps: self.jumps.as_ptr(),
            left,
            exit: 0,
            site: 0,
            f: m.f,
            fcsr: m.fcsr,
            reservation: m.reservation,
            groups: [0; GROUP_SLOTS],
        };
        type EntryCode = unsafe extern "C" fn(*mut Env, *mut u64, u64, *const u8) -> u64;
        // SAFETY: the entry code sits at offset 0 since `new`, and `entry`
        // is live, so it is the start of a complete block copied in by
        // `push` since the last `clear`; both follow the contract in the
        // module comment: their accesses stay inside the borrows `m` holds
        // for this call (RAM through TLB entries made for `m.ram`, as
        // checked above; the `&mut` borrow of `m.ram` keeps it from moving
        // or being touched by anything else meanwhile). With no more than 2^32 clears between a push and
        // its call (a generation wrap), `is_live` is exact. The executable
        // view holds what `push` stored at the same offsets of the writable
        // one.
        let next = unsafe {
            let code = self.exec.base.as_ptr();
            let enter: EntryCode = std::mem::transmute(code);
            enter(
                &mut env,
                m.x.as_mut_ptr(),
                pc,
                code.add(entry.offset as usize),
            )
        };
        Exit {
            pc: next,
            left: env.left,
            exit: env.exit,
            site: env.site,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(buf: &CodeBuffer, entry: Entry, x: &mut [u64; 64], pc: u64) -> Exit {
        let (mut ram, tlb, mut f, mut fcsr) = (vec![0u8; 64], Tlb::new(), [0; 32], 0);
        let mut reservation = Reservation::NONE;
        let m = Machine {
            x,
            f: &mut f,
            fcsr: &mut fcsr,
            reservation: &mut reservation,
            ram: &mut ram,
            tlb: &tlb,
        };
        buf.call(entry, m, pc, 10)
    }

    /// Entry code that leaves everything to the block: jmp rcx.
    const JUMP: [u8; 2] = [0xff, 0xe1];

    const EXIT: u8 = std::mem::offset_of!(Env, exit) as u8;
    const SITE: u8 = std::mem::offset_of!(Env, site) as u8;

    /// lea rax, [rdx + 4]; mov qword [rdi + exit], 7; ret
    const LEAVE: [u8; 17] = [
        0x48, 0x8d, 0x42, 0x04, 0x48, 0xc7, 0x87, EXIT, 0, 0, 0, 0x07, 0, 0, 0, 0xc3, 0x90,
    ];

    /// The permissions ("rwxp" style) of the mapping holding all of `view`.
    fn permissions(view: &View) -> String {
        let (lo, hi) = (
            view.base.as_ptr() as usize,
            view.base.as_ptr() as usize + view.size,
        );
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .find_map(|line| {
                let (range, rest) = line.split_once(' ')?;
                let (start, end) = range.split_once('-')?;
                let start = usize::from_str_radix(start, 16).ok()?;
                let end = usize::from_str_radix(end, 16).ok()?;
                (start <= lo && hi <= end).then(|| rest[..4].to_string())
            })
            .expect("the view is one mapping")
    }

    #[test]
    fn no_view_is_writable_and_executable() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let entry = buf.push(&LEAVE, &[]).unwrap();
        assert_eq!(run(&buf, entry, &mut [0; 64], 0).exit, 7);
        assert_eq!(permissions(&buf.write), "rw-s");
        assert_eq!(permissions(&buf.exec), "r-xs");
    }

    #[test]
    fn runs_pushed_code() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let entry = buf.push(&LEAVE, &[]).unwrap();
        let exit = run(&buf, entry, &mut [0; 64], 0x1000);
        assert_eq!((exit.pc, exit.exit, exit.left), (0x1004, 7, 10));
    }

    #[test]
    fn blocks_see_the_register_file() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        // mov rax, [rsi + 8]; mov [rsi + 16], rax; ret
        let code = [0x48, 0x8b, 0x46, 0x08, 0x48, 0x89, 0x46, 0x10, 0xc3];
        let entry = buf.push(&code, &[]).unwrap();
        let mut x = [0; 64];
        x[1] = 0xdead_beef;
        let exit = run(&buf, entry, &mut x, 0);
        assert_eq!((exit.pc, x[2]), (0xdead_beef, 0xdead_beef));
    }

    #[test]
    fn links_patch_declared_sites() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let target = buf.push(&LEAVE, &[]).unwrap();
        // jmp +5 (to the stub); stub: mov qword [rdi + site], imm32; ret
        let mut code = vec![0xe9, 5, 0, 0, 0, 0x90, 0x90, 0x90, 0x90, 0x90];
        code.extend([0x48, 0xc7, 0x87, SITE, 0, 0, 0, 0, 0, 0, 0, 0xc3]);
        let source = buf.push(&code, &[(1, 17)]).unwrap();
        let exit = run(&buf, source, &mut [0; 64], 0x2000);
        let site = exit.site;
        assert_eq!(site, source.offset as u64 + 1);
        buf.link(site, target);
        let exit = run(&buf, source, &mut [0; 64], 0x2000);
        assert_eq!((exit.pc, exit.exit), (0x2004, 7));
    }

    #[test]
    #[should_panic(expected = "not a link site")]
    fn undeclared_sites_are_not_patched() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let entry = buf.push(&LEAVE, &[]).unwrap();
        buf.link(entry.offset as u64 + 1, entry);
    }

    #[test]
    fn full_buffer_refuses_and_clear_retires_entries() {
        let mut buf = CodeBuffer::new(4096, &JUMP).unwrap();
        let first = buf.push(&[0xc3; 4000], &[]).unwrap();
        assert!(buf.push(&[0xc3; 200], &[]).is_none());
        buf.clear();
        assert!(!buf.is_live(first));
        let again = buf.push(&[0xc3], &[]).unwrap();
        assert!(buf.is_live(again));
        assert_ne!(first, again);
    }

    #[test]
    fn the_jump_cache_forgets_frames_and_everything_on_clear() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let (a, b) = (
            buf.push(&LEAVE, &[]).unwrap(),
            buf.push(&LEAVE, &[]).unwrap(),
        );
        buf.remember(0x1000, 0x5000, a);
        buf.remember(0x2002, 0x6000, b);
        assert!(buf.remembers(0x1000, a) && buf.remembers(0x2002, b));
        buf.forget_frame(0x5000);
        assert!(!buf.remembers(0x1000, a) && buf.remembers(0x2002, b));
        buf.clear();
        assert!(!buf.remembers(0x2002, b));
    }

    #[test]
    #[should_panic(expected = "TLB of another RAM")]
    fn a_tlb_filled_for_other_ram_is_refused() {
        let mut buf = CodeBuffer::new(1 << 16, &JUMP).unwrap();
        let entry = buf.push(&LEAVE, &[]).unwrap();
        let (mut ram, other) = (vec![0u8; 8192], vec![0u8; 8192]);
        let mut tlb = Tlb::new();
        tlb.fill(crate::Access::Load, 5, 4096, &other);
        let (mut x, mut f, mut fcsr) = ([0; 64], [0; 32], 0);
        let mut reservation = Reservation::NONE;
        let m = Machine {
            x: &mut x,
            f: &mut f,
            fcsr: &mut fcsr,
            reservation: &mut reservation,
            ram: &mut ram,
            tlb: &tlb,
        };
        buf.call(entry, m, 0, 10);
    }

    #[test]
    #[should_panic(expected = "stale JIT entry")]
    fn stale_entries_are_not_called() {
        let mut buf = CodeBuffer::new(4096, &JUMP).unwrap();
        let entry = buf.push(&[0xc3], &[]).unwrap();
        buf.clear();
        run(&buf, entry, &mut [0; 64], 0);
    }
}
