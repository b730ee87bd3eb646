//! The interpreter: fetch from the decode cache, execute, repeat.
//!
//! `run` finds the decoded page holding pc and hands it to `run_page`,
//! which executes until control leaves the page, a trap, or the budget.
//! Within a page the common path is: index the slot, dispatch on the op,
//! touch memory through the TLB. Nothing on it allocates or hashes.

use crate::decode::{decode, insn_len, CodePage, Insn, Op};
use crate::fpu::{self, Rounding};
use crate::hart::Hart;
use crate::mmu::{slot, walk, TlbEntry};
use crate::{Access, PhysMem, Trap, PAGE_SIZE};
use std::rc::Rc;

pub(crate) fn run(hart: &mut Hart, mem: &mut PhysMem, budget: u64) -> Trap {
    let end = hart.instret.saturating_add(budget);
    loop {
        if hart.instret >= end {
            return Trap::BudgetExhausted;
        }
        let page = match code_page(hart, mem, hart.regs.pc) {
            Ok(page) => page,
            Err(trap) => return trap,
        };
        if let Some(trap) = run_page(hart, mem, &page, end) {
            return trap;
        }
    }
}

/// The decoded page for the frame holding `pc`, created on first use.
fn code_page(hart: &mut Hart, mem: &mut PhysMem, pc: u64) -> Result<Rc<CodePage>, Trap> {
    let pa = translate(hart, mem, pc, Access::Fetch)?;
    let pfn = (pa >> 12) as usize;
    if let Some(page) = &mem.code[pfn] {
        return Ok(page.clone());
    }
    let page = Rc::new(CodePage::new());
    mem.code[pfn] = Some(page.clone());
    // Stores to this frame must now take the slow path, which drops the page.
    hart.tlb.forget_store_frame(pa);
    Ok(page)
}

/// Physical address of the frame holding `va`, through the TLB.
#[inline]
fn translate(hart: &mut Hart, mem: &mut PhysMem, va: u64, access: Access) -> Result<u64, Trap> {
    let vpn = va >> 12;
    let table = match access {
        Access::Fetch => &mut hart.tlb.fetch,
        Access::Load => &mut hart.tlb.load,
        Access::Store => &mut hart.tlb.store,
    };
    let e = table[slot(vpn)];
    if e.vpn == vpn {
        return Ok(e.pa);
    }
    let pa = walk(mem, hart.root, va, access)?;
    if access == Access::Store && mem.invalidate_code(pa as usize >> 12) {
        hart.code_dirty = true;
    }
    table[slot(vpn)] = TlbEntry { vpn, pa };
    Ok(pa)
}

#[inline(always)]
fn load<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64) -> Result<[u8; N], Trap> {
    let vpn = va >> 12;
    let off = (va & 0xfff) as usize;
    let e = hart.tlb.load[slot(vpn)];
    if e.vpn == vpn && off + N <= PAGE_SIZE {
        let pa = e.pa as usize + off;
        return Ok(mem.ram[pa..pa + N].try_into().unwrap());
    }
    load_slow(hart, mem, va)
}

#[cold]
fn load_slow<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64) -> Result<[u8; N], Trap> {
    let mut out = [0u8; N];
    let off = (va & 0xfff) as usize;
    let first = (PAGE_SIZE - off).min(N);
    let pa = translate(hart, mem, va, Access::Load)? as usize + off;
    out[..first].copy_from_slice(&mem.ram[pa..pa + first]);
    if first < N {
        // Misaligned across a page boundary.
        let pa = translate(hart, mem, va.wrapping_add(first as u64), Access::Load)? as usize;
        out[first..].copy_from_slice(&mem.ram[pa..pa + N - first]);
    }
    Ok(out)
}

#[inline(always)]
fn store<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64, bytes: [u8; N]) -> Result<(), Trap> {
    let vpn = va >> 12;
    let off = (va & 0xfff) as usize;
    let e = hart.tlb.store[slot(vpn)];
    if e.vpn == vpn && off + N <= PAGE_SIZE {
        let pa = e.pa as usize + off;
        mem.ram[pa..pa + N].copy_from_slice(&bytes);
        return Ok(());
    }
    store_slow(hart, mem, va, bytes)
}

#[cold]
fn store_slow<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64, bytes: [u8; N]) -> Result<(), Trap> {
    let off = (va & 0xfff) as usize;
    let first = (PAGE_SIZE - off).min(N);
    // Translate both halves before writing either: a fault must not leave
    // a partial store behind.
    let pa1 = translate(hart, mem, va, Access::Store)? as usize + off;
    let pa2 = if first < N {
        translate(hart, mem, va.wrapping_add(first as u64), Access::Store)? as usize
    } else {
        0
    };
    mem.ram[pa1..pa1 + first].copy_from_slice(&bytes[..first]);
    mem.ram[pa2..pa2 + N - first].copy_from_slice(&bytes[first..]);
    Ok(())
}

/// Physical address for an atomic access, which must be naturally aligned
/// and writable (a fault on an AMO is a store fault).
fn atomic_addr(hart: &mut Hart, mem: &mut PhysMem, va: u64, size: u64, access: Access) -> Result<usize, Trap> {
    if !va.is_multiple_of(size) {
        return Err(Trap::Misaligned { addr: va, access });
    }
    Ok(translate(hart, mem, va, access)? as usize + (va & 0xfff) as usize)
}

/// Fetches and decodes the instruction at `pc`. The bool says whether the
/// result may be cached: an instruction straddling two pages depends on a
/// second translation and is decoded afresh each time.
#[cold]
fn fetch_decode(hart: &mut Hart, mem: &mut PhysMem, pc: u64) -> Result<(Insn, bool), Trap> {
    let pa = translate(hart, mem, pc, Access::Fetch)? as usize + (pc & 0xfff) as usize;
    let low = u16::from_le_bytes([mem.ram[pa], mem.ram[pa + 1]]);
    if insn_len(low) == 2 {
        return Ok((decode(low as u32), true));
    }
    if pc & 0xfff != 0xffe {
        let high = u16::from_le_bytes([mem.ram[pa + 2], mem.ram[pa + 3]]);
        return Ok((decode(low as u32 | (high as u32) << 16), true));
    }
    let next = pc.wrapping_add(2);
    let pa2 = translate(hart, mem, next, Access::Fetch)? as usize;
    let high = u16::from_le_bytes([mem.ram[pa2], mem.ram[pa2 + 1]]);
    Ok((decode(low as u32 | (high as u32) << 16), false))
}

fn unbox(v: u64) -> u32 {
    if v >> 32 == 0xffff_ffff {
        v as u32
    } else {
        0x7fc0_0000
    }
}

fn nan_box(v: u32) -> u64 {
    v as u64 | 0xffff_ffff_0000_0000
}

fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

const CSR_FFLAGS: i32 = 0x001;
const CSR_FRM: i32 = 0x002;
const CSR_FCSR: i32 = 0x003;
const CSR_CYCLE: i32 = 0xc00;
const CSR_TIME: i32 = 0xc01;
const CSR_INSTRET: i32 = 0xc02;

fn read_csr(hart: &Hart, csr: i32, instret: u64) -> Option<u64> {
    let fcsr = hart.regs.fcsr as u64;
    Some(match csr {
        CSR_FFLAGS => fcsr & 0x1f,
        CSR_FRM => (fcsr >> 5) & 7,
        CSR_FCSR => fcsr & 0xff,
        CSR_CYCLE | CSR_INSTRET => instret,
        CSR_TIME => hart.time(),
        _ => return None,
    })
}

fn write_csr(hart: &mut Hart, csr: i32, value: u64) -> Option<()> {
    let v = value as u32;
    let fcsr = &mut hart.regs.fcsr;
    match csr {
        CSR_FFLAGS => *fcsr = (*fcsr & !0x1f) | (v & 0x1f),
        CSR_FRM => *fcsr = (*fcsr & !0xe0) | ((v & 7) << 5),
        CSR_FCSR => *fcsr = v & 0xff,
        _ => return None,
    }
    Some(())
}

/// Executes instructions from `page` until pc leaves it. Returns a trap, or
/// None to let `run` look up the next page.
fn run_page(hart: &mut Hart, mem: &mut PhysMem, page: &CodePage, end: u64) -> Option<Trap> {
    let base = hart.regs.pc & !0xfff;
    let mut pc = hart.regs.pc;
    let mut instret = hart.instret;

    // Leaves with pc at the current instruction.
    macro_rules! trap {
        ($t:expr) => {{
            let t = $t;
            hart.regs.pc = pc;
            hart.instret = instret;
            return Some(t);
        }};
    }
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(t) => trap!(t),
            }
        };
    }
    macro_rules! x {
        ($r:expr) => {
            hart.regs.x[($r & 31) as usize]
        };
    }
    macro_rules! f {
        ($r:expr) => {
            hart.regs.f[($r & 31) as usize]
        };
    }

    loop {
        if instret >= end {
            trap!(Trap::BudgetExhausted);
        }
        let cell = &page.slots[((pc >> 1) & 0x7ff) as usize];
        let mut i = cell.get();
        if i.op == Op::Undecoded {
            let (insn, cacheable) = tri!(fetch_decode(hart, mem, pc));
            if cacheable {
                cell.set(insn);
            }
            i = insn;
        }
        let mut next = pc.wrapping_add(i.len as u64);
        let rs1 = x!(i.rs1);
        let rs2 = x!(i.rs2);
        let imm = i.imm as i64 as u64;
        let addr = rs1.wrapping_add(imm);

        macro_rules! set {
            ($v:expr) => {{
                let v = $v;
                x!(i.rd) = v;
            }};
        }
        macro_rules! branch {
            ($cond:expr) => {
                if $cond {
                    next = pc.wrapping_add(imm);
                }
            };
        }
        macro_rules! stored {
            ($e:expr) => {{
                tri!($e);
                if hart.code_dirty {
                    // The store dropped decoded code, possibly this page.
                    hart.code_dirty = false;
                    hart.regs.x[0] = 0;
                    hart.regs.pc = next;
                    hart.instret = instret + 1;
                    return None;
                }
            }};
        }
        macro_rules! rounding {
            () => {{
                let rm = if i.rm == 7 { (hart.regs.fcsr >> 5) & 7 } else { i.rm as u32 };
                match Rounding::from_bits(rm) {
                    Some(rm) => rm,
                    None => trap!(Trap::IllegalInstruction { bits: i.imm as u32 }),
                }
            }};
        }
        // An FP operation: `$body` sees the rounding mode as `rm` and the
        // flags to accrue as `fl`.
        macro_rules! fp {
            (|$rm:ident, $fl:ident| $body:expr) => {{
                let $rm = rounding!();
                let mut $fl = 0u32;
                let r = $body;
                hart.regs.fcsr |= $fl;
                r
            }};
            (|$fl:ident| $body:expr) => {{
                let mut $fl = 0u32;
                let r = $body;
                hart.regs.fcsr |= $fl;
                r
            }};
        }
        macro_rules! fs {
            ($r:expr) => {
                unbox(f!($r))
            };
        }
        macro_rules! amo {
            ($size:expr, $op:expr) => {{
                let pa = tri!(atomic_addr(hart, mem, rs1, $size, Access::Store));
                let old = if $size == 4 {
                    sext32(u32::from_le_bytes(mem.ram[pa..pa + 4].try_into().unwrap()) as u64)
                } else {
                    u64::from_le_bytes(mem.ram[pa..pa + 8].try_into().unwrap())
                };
                let op: fn(u64, u64) -> u64 = $op;
                let new = op(old, rs2);
                mem.ram[pa..pa + $size].copy_from_slice(&new.to_le_bytes()[..$size]);
                set!(old);
                if hart.code_dirty {
                    hart.code_dirty = false;
                    hart.regs.x[0] = 0;
                    hart.regs.pc = next;
                    hart.instret = instret + 1;
                    return None;
                }
            }};
        }

        use Op::*;
        match i.op {
            Undecoded => unreachable!("decoded above"),
            Illegal => trap!(Trap::IllegalInstruction { bits: i.imm as u32 }),
            Lui => set!(imm),
            Auipc => set!(pc.wrapping_add(imm)),
            Jal => {
                set!(next);
                next = pc.wrapping_add(imm);
            }
            Jalr => {
                set!(next);
                next = addr & !1;
            }
            Beq => branch!(rs1 == rs2),
            Bne => branch!(rs1 != rs2),
            Blt => branch!((rs1 as i64) < rs2 as i64),
            Bge => branch!(rs1 as i64 >= rs2 as i64),
            Bltu => branch!(rs1 < rs2),
            Bgeu => branch!(rs1 >= rs2),
            Lb => set!(i8::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Lh => set!(i16::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Lw => set!(i32::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Ld => set!(u64::from_le_bytes(tri!(load(hart, mem, addr)))),
            Lbu => set!(u8::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Lhu => set!(u16::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Lwu => set!(u32::from_le_bytes(tri!(load(hart, mem, addr))) as u64),
            Sb => stored!(store(hart, mem, addr, (rs2 as u8).to_le_bytes())),
            Sh => stored!(store(hart, mem, addr, (rs2 as u16).to_le_bytes())),
            Sw => stored!(store(hart, mem, addr, (rs2 as u32).to_le_bytes())),
            Sd => stored!(store(hart, mem, addr, rs2.to_le_bytes())),
            Addi => set!(addr),
            Slti => set!(((rs1 as i64) < imm as i64) as u64),
            Sltiu => set!((rs1 < imm) as u64),
            Xori => set!(rs1 ^ imm),
            Ori => set!(rs1 | imm),
            Andi => set!(rs1 & imm),
            Slli => set!(rs1 << (imm & 63)),
            Srli => set!(rs1 >> (imm & 63)),
            Srai => set!(((rs1 as i64) >> (imm & 63)) as u64),
            Addiw => set!(sext32(addr)),
            Slliw => set!(sext32(rs1 << (imm & 31))),
            Srliw => set!(sext32(((rs1 as u32) >> (imm & 31)) as u64)),
            Sraiw => set!(((rs1 as i32) >> (imm & 31)) as i64 as u64),
            Add => set!(rs1.wrapping_add(rs2)),
            Sub => set!(rs1.wrapping_sub(rs2)),
            Sll => set!(rs1 << (rs2 & 63)),
            Slt => set!(((rs1 as i64) < rs2 as i64) as u64),
            Sltu => set!((rs1 < rs2) as u64),
            Xor => set!(rs1 ^ rs2),
            Srl => set!(rs1 >> (rs2 & 63)),
            Sra => set!(((rs1 as i64) >> (rs2 & 63)) as u64),
            Or => set!(rs1 | rs2),
            And => set!(rs1 & rs2),
            Addw => set!(sext32(rs1.wrapping_add(rs2))),
            Subw => set!(sext32(rs1.wrapping_sub(rs2))),
            Sllw => set!(sext32(rs1 << (rs2 & 31))),
            Srlw => set!(sext32(((rs1 as u32) >> (rs2 & 31)) as u64)),
            Sraw => set!(((rs1 as i32) >> (rs2 & 31)) as i64 as u64),
            Fence => {}
            FenceI => {
                // Stores already dropped stale decoded code; refetch anyway.
                hart.regs.pc = next;
                hart.instret = instret + 1;
                return None;
            }
            Ecall => trap!(Trap::Ecall),
            Ebreak => trap!(Trap::Breakpoint),
            Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => {
                let illegal = Trap::IllegalInstruction { bits: csr_bits(&i) };
                let Some(old) = read_csr(hart, i.imm, instret) else { trap!(illegal) };
                let src = match i.op {
                    Csrrw | Csrrs | Csrrc => rs1,
                    _ => i.rs1 as u64,
                };
                let new = match i.op {
                    Csrrw | Csrrwi => Some(src),
                    Csrrs | Csrrsi => (i.rs1 != 0).then_some(old | src),
                    _ => (i.rs1 != 0).then_some(old & !src),
                };
                if let Some(new) = new {
                    if write_csr(hart, i.imm, new).is_none() {
                        trap!(illegal);
                    }
                }
                set!(old);
            }
            Mul => set!(rs1.wrapping_mul(rs2)),
            Mulh => set!(((rs1 as i64 as i128 * rs2 as i64 as i128) >> 64) as u64),
            Mulhsu => set!(((rs1 as i64 as i128 * rs2 as i128) >> 64) as u64),
            Mulhu => set!(((rs1 as u128 * rs2 as u128) >> 64) as u64),
            Div => set!(match rs2 {
                0 => u64::MAX,
                _ => (rs1 as i64).wrapping_div(rs2 as i64) as u64,
            }),
            Divu => set!(rs1.checked_div(rs2).unwrap_or(u64::MAX)),
            Rem => set!(match rs2 {
                0 => rs1,
                _ => (rs1 as i64).wrapping_rem(rs2 as i64) as u64,
            }),
            Remu => set!(rs1.checked_rem(rs2).unwrap_or(rs1)),
            Mulw => set!(sext32(rs1.wrapping_mul(rs2))),
            Divw => set!(match rs2 as i32 {
                0 => u64::MAX,
                d => (rs1 as i32).wrapping_div(d) as i64 as u64,
            }),
            Divuw => set!(match rs2 as u32 {
                0 => u64::MAX,
                d => sext32(((rs1 as u32) / d) as u64),
            }),
            Remw => set!(match rs2 as i32 {
                0 => sext32(rs1),
                d => (rs1 as i32).wrapping_rem(d) as i64 as u64,
            }),
            Remuw => set!(match rs2 as u32 {
                0 => sext32(rs1),
                d => sext32(((rs1 as u32) % d) as u64),
            }),
            LrW | LrD => {
                let size = if i.op == LrW { 4 } else { 8 };
                let pa = tri!(atomic_addr(hart, mem, rs1, size, Access::Load));
                let v = if size == 4 {
                    sext32(u32::from_le_bytes(mem.ram[pa..pa + 4].try_into().unwrap()) as u64)
                } else {
                    u64::from_le_bytes(mem.ram[pa..pa + 8].try_into().unwrap())
                };
                hart.reservation = Some(rs1);
                set!(v);
            }
            ScW | ScD => {
                let size = if i.op == ScW { 4 } else { 8 };
                if !rs1.is_multiple_of(size) {
                    trap!(Trap::Misaligned { addr: rs1, access: Access::Store });
                }
                // Like hardware (and qemu), a failing SC touches no memory.
                if hart.reservation.take() == Some(rs1) {
                    let pa = tri!(atomic_addr(hart, mem, rs1, size, Access::Store));
                    mem.ram[pa..pa + size as usize].copy_from_slice(&rs2.to_le_bytes()[..size as usize]);
                    set!(0);
                    if hart.code_dirty {
                        hart.code_dirty = false;
                        hart.regs.x[0] = 0;
                        hart.regs.pc = next;
                        hart.instret = instret + 1;
                        return None;
                    }
                } else {
                    set!(1);
                }
            }
            AmoSwapW => amo!(4, |_, b| b),
            AmoAddW => amo!(4, |a, b| a.wrapping_add(b)),
            AmoXorW => amo!(4, |a, b| a ^ b),
            AmoAndW => amo!(4, |a, b| a & b),
            AmoOrW => amo!(4, |a, b| a | b),
            AmoMinW => amo!(4, |a, b| (a as i32).min(b as i32) as u64),
            AmoMaxW => amo!(4, |a, b| (a as i32).max(b as i32) as u64),
            AmoMinuW => amo!(4, |a, b| (a as u32).min(b as u32) as u64),
            AmoMaxuW => amo!(4, |a, b| (a as u32).max(b as u32) as u64),
            AmoSwapD => amo!(8, |_, b| b),
            AmoAddD => amo!(8, |a, b| a.wrapping_add(b)),
            AmoXorD => amo!(8, |a, b| a ^ b),
            AmoAndD => amo!(8, |a, b| a & b),
            AmoOrD => amo!(8, |a, b| a | b),
            AmoMinD => amo!(8, |a, b| (a as i64).min(b as i64) as u64),
            AmoMaxD => amo!(8, |a, b| (a as i64).max(b as i64) as u64),
            AmoMinuD => amo!(8, |a, b| a.min(b)),
            AmoMaxuD => amo!(8, |a, b| a.max(b)),

            Flw => f!(i.rd) = nan_box(u32::from_le_bytes(tri!(load(hart, mem, addr)))),
            Fld => f!(i.rd) = u64::from_le_bytes(tri!(load(hart, mem, addr))),
            Fsw => stored!(store(hart, mem, addr, (f!(i.rs2) as u32).to_le_bytes())),
            Fsd => stored!(store(hart, mem, addr, f!(i.rs2).to_le_bytes())),

            FmaddS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_fma(fs!(i.rs1), fs!(i.rs2), fs!(i.rs3), rm, &mut fl))),
            FmsubS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_fma(fs!(i.rs1), fs!(i.rs2), fs!(i.rs3) ^ SIGN32, rm, &mut fl))),
            FnmsubS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_fma(fs!(i.rs1) ^ SIGN32, fs!(i.rs2), fs!(i.rs3), rm, &mut fl))),
            FnmaddS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_fma(fs!(i.rs1) ^ SIGN32, fs!(i.rs2), fs!(i.rs3) ^ SIGN32, rm, &mut fl))),
            FaddS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_add(fs!(i.rs1), fs!(i.rs2), rm, &mut fl))),
            FsubS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_sub(fs!(i.rs1), fs!(i.rs2), rm, &mut fl))),
            FmulS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_mul(fs!(i.rs1), fs!(i.rs2), rm, &mut fl))),
            FdivS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_div(fs!(i.rs1), fs!(i.rs2), rm, &mut fl))),
            FsqrtS => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f32_sqrt(fs!(i.rs1), rm, &mut fl))),
            FsgnjS => f!(i.rd) = nan_box((fs!(i.rs1) & !SIGN32) | (fs!(i.rs2) & SIGN32)),
            FsgnjnS => f!(i.rd) = nan_box((fs!(i.rs1) & !SIGN32) | (!fs!(i.rs2) & SIGN32)),
            FsgnjxS => f!(i.rd) = nan_box(fs!(i.rs1) ^ (fs!(i.rs2) & SIGN32)),
            FminS => f!(i.rd) = nan_box(fp!(|fl| fpu::f32_min(fs!(i.rs1), fs!(i.rs2), &mut fl))),
            FmaxS => f!(i.rd) = nan_box(fp!(|fl| fpu::f32_max(fs!(i.rs1), fs!(i.rs2), &mut fl))),
            FcvtWS => set!(fp!(|rm, fl| fpu::f32_to_i32(fs!(i.rs1), rm, &mut fl)) as i64 as u64),
            FcvtWuS => set!(sext32(fp!(|rm, fl| fpu::f32_to_u32(fs!(i.rs1), rm, &mut fl)) as u64)),
            FcvtLS => set!(fp!(|rm, fl| fpu::f32_to_i64(fs!(i.rs1), rm, &mut fl)) as u64),
            FcvtLuS => set!(fp!(|rm, fl| fpu::f32_to_u64(fs!(i.rs1), rm, &mut fl))),
            FcvtSW => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::i32_to_f32(rs1 as i32, rm, &mut fl))),
            FcvtSWu => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::u32_to_f32(rs1 as u32, rm, &mut fl))),
            FcvtSL => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::i64_to_f32(rs1 as i64, rm, &mut fl))),
            FcvtSLu => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::u64_to_f32(rs1, rm, &mut fl))),
            FmvXW => set!(sext32(f!(i.rs1))),
            FmvWX => f!(i.rd) = nan_box(rs1 as u32),
            FeqS => set!(fp!(|fl| fpu::f32_eq(fs!(i.rs1), fs!(i.rs2), &mut fl)) as u64),
            FltS => set!(fp!(|fl| fpu::f32_lt(fs!(i.rs1), fs!(i.rs2), &mut fl)) as u64),
            FleS => set!(fp!(|fl| fpu::f32_le(fs!(i.rs1), fs!(i.rs2), &mut fl)) as u64),
            FclassS => set!(fpu::f32_class(fs!(i.rs1))),

            FmaddD => f!(i.rd) = fp!(|rm, fl| fpu::f64_fma(f!(i.rs1), f!(i.rs2), f!(i.rs3), rm, &mut fl)),
            FmsubD => f!(i.rd) = fp!(|rm, fl| fpu::f64_fma(f!(i.rs1), f!(i.rs2), f!(i.rs3) ^ SIGN64, rm, &mut fl)),
            FnmsubD => f!(i.rd) = fp!(|rm, fl| fpu::f64_fma(f!(i.rs1) ^ SIGN64, f!(i.rs2), f!(i.rs3), rm, &mut fl)),
            FnmaddD => f!(i.rd) = fp!(|rm, fl| fpu::f64_fma(f!(i.rs1) ^ SIGN64, f!(i.rs2), f!(i.rs3) ^ SIGN64, rm, &mut fl)),
            FaddD => f!(i.rd) = fp!(|rm, fl| fpu::f64_add(f!(i.rs1), f!(i.rs2), rm, &mut fl)),
            FsubD => f!(i.rd) = fp!(|rm, fl| fpu::f64_sub(f!(i.rs1), f!(i.rs2), rm, &mut fl)),
            FmulD => f!(i.rd) = fp!(|rm, fl| fpu::f64_mul(f!(i.rs1), f!(i.rs2), rm, &mut fl)),
            FdivD => f!(i.rd) = fp!(|rm, fl| fpu::f64_div(f!(i.rs1), f!(i.rs2), rm, &mut fl)),
            FsqrtD => f!(i.rd) = fp!(|rm, fl| fpu::f64_sqrt(f!(i.rs1), rm, &mut fl)),
            FsgnjD => f!(i.rd) = (f!(i.rs1) & !SIGN64) | (f!(i.rs2) & SIGN64),
            FsgnjnD => f!(i.rd) = (f!(i.rs1) & !SIGN64) | (!f!(i.rs2) & SIGN64),
            FsgnjxD => f!(i.rd) = f!(i.rs1) ^ (f!(i.rs2) & SIGN64),
            FminD => f!(i.rd) = fp!(|fl| fpu::f64_min(f!(i.rs1), f!(i.rs2), &mut fl)),
            FmaxD => f!(i.rd) = fp!(|fl| fpu::f64_max(f!(i.rs1), f!(i.rs2), &mut fl)),
            FcvtWD => set!(fp!(|rm, fl| fpu::f64_to_i32(f!(i.rs1), rm, &mut fl)) as i64 as u64),
            FcvtWuD => set!(sext32(fp!(|rm, fl| fpu::f64_to_u32(f!(i.rs1), rm, &mut fl)) as u64)),
            FcvtLD => set!(fp!(|rm, fl| fpu::f64_to_i64(f!(i.rs1), rm, &mut fl)) as u64),
            FcvtLuD => set!(fp!(|rm, fl| fpu::f64_to_u64(f!(i.rs1), rm, &mut fl))),
            FcvtDW => f!(i.rd) = fp!(|rm, fl| fpu::i32_to_f64(rs1 as i32, rm, &mut fl)),
            FcvtDWu => f!(i.rd) = fp!(|rm, fl| fpu::u32_to_f64(rs1 as u32, rm, &mut fl)),
            FcvtDL => f!(i.rd) = fp!(|rm, fl| fpu::i64_to_f64(rs1 as i64, rm, &mut fl)),
            FcvtDLu => f!(i.rd) = fp!(|rm, fl| fpu::u64_to_f64(rs1, rm, &mut fl)),
            FmvXD => set!(f!(i.rs1)),
            FmvDX => f!(i.rd) = rs1,
            FeqD => set!(fp!(|fl| fpu::f64_eq(f!(i.rs1), f!(i.rs2), &mut fl)) as u64),
            FltD => set!(fp!(|fl| fpu::f64_lt(f!(i.rs1), f!(i.rs2), &mut fl)) as u64),
            FleD => set!(fp!(|fl| fpu::f64_le(f!(i.rs1), f!(i.rs2), &mut fl)) as u64),
            FclassD => set!(fpu::f64_class(f!(i.rs1))),
            FcvtSD => f!(i.rd) = nan_box(fp!(|rm, fl| fpu::f64_to_f32(f!(i.rs1), rm, &mut fl))),
            FcvtDS => f!(i.rd) = fp!(|rm, fl| {
                let _ = rm;
                fpu::f32_to_f64(fs!(i.rs1), &mut fl)
            }),
        }
        hart.regs.x[0] = 0;
        instret += 1;
        pc = next;
        if pc & !0xfff != base {
            hart.regs.pc = pc;
            hart.instret = instret;
            return None;
        }
    }
}

const SIGN32: u32 = 1 << 31;
const SIGN64: u64 = 1 << 63;

/// Reconstructs a CSR instruction's bits for an illegal-instruction trap.
fn csr_bits(i: &Insn) -> u32 {
    let f3 = match i.op {
        Op::Csrrw => 1,
        Op::Csrrs => 2,
        Op::Csrrc => 3,
        Op::Csrrwi => 5,
        Op::Csrrsi => 6,
        _ => 7,
    };
    ((i.imm as u32) << 20) | ((i.rs1 as u32) << 15) | (f3 << 12) | ((i.rd as u32) << 7) | 0x73
}
