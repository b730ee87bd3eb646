//! A minimal x86-64 assembler: just the instruction forms the translator
//! (`x86`) uses, as bytes appended to a buffer. It knows registers and
//! encodings, nothing of guests.

pub(crate) const RAX: u8 = 0;
pub(crate) const RCX: u8 = 1;
pub(crate) const RDX: u8 = 2;
pub(crate) const RBX: u8 = 3;
pub(crate) const RSP: u8 = 4;
pub(crate) const RBP: u8 = 5;
pub(crate) const RSI: u8 = 6;
pub(crate) const RDI: u8 = 7;
pub(crate) const R8: u8 = 8;
pub(crate) const R9: u8 = 9;
pub(crate) const R10: u8 = 10;
pub(crate) const R11: u8 = 11;
pub(crate) const R12: u8 = 12;
pub(crate) const R13: u8 = 13;
pub(crate) const R14: u8 = 14;
pub(crate) const R15: u8 = 15;

/// x86 condition codes (the low nibble of Jcc/SETcc).
pub(crate) const CC_O: u8 = 0x0;
pub(crate) const CC_B: u8 = 0x2;
pub(crate) const CC_AE: u8 = 0x3;
pub(crate) const CC_E: u8 = 0x4;
pub(crate) const CC_BE: u8 = 0x6;
pub(crate) const CC_NE: u8 = 0x5;
pub(crate) const CC_A: u8 = 0x7;
pub(crate) const CC_P: u8 = 0xa;
pub(crate) const CC_L: u8 = 0xc;
pub(crate) const CC_GE: u8 = 0xd;
pub(crate) const CC_G: u8 = 0xf;

/// The prefix that makes a read-modify-write of memory atomic.
pub(crate) const LOCK: u8 = 0xf0;

/// Group-1 ALU operations: the /digit of `81 /d id` and the opcode of
/// `op r64, r/m64`.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Alu(pub u8, pub u8);
pub(crate) const ADD: Alu = Alu(0, 0x03);
pub(crate) const OR: Alu = Alu(1, 0x0b);
pub(crate) const AND: Alu = Alu(4, 0x23);
pub(crate) const SUB: Alu = Alu(5, 0x2b);
pub(crate) const XOR: Alu = Alu(6, 0x33);
pub(crate) const CMP: Alu = Alu(7, 0x3b);

/// `mov r64, r/m64` and `mov r/m64, r64`.
pub(crate) const MOV_LOAD: u8 = 0x8b;
pub(crate) const MOV_STORE: u8 = 0x89;

/// Group-2 shift digits.
pub(crate) const SHL: u8 = 4;
pub(crate) const SHR: u8 = 5;
pub(crate) const SAR: u8 = 7;

/// A forward jump waiting for its target: the offset of its rel32.
pub(crate) struct Fixup(pub usize);

/// A minimal x86-64 assembler: just the forms the translator uses.
#[derive(Default)]
pub(crate) struct Asm {
    pub code: Vec<u8>,
}

impl Asm {
    pub fn bytes(&mut self, b: &[u8]) {
        self.code.extend_from_slice(b);
    }

    pub fn imm32(&mut self, v: i32) {
        self.bytes(&v.to_le_bytes());
    }

    pub fn rex(&mut self, w: bool, reg: u8, base: u8) {
        let rex = 0x40 | (w as u8) << 3 | (reg >> 3) << 2 | (base >> 3);
        if rex != 0x40 {
            self.code.push(rex);
        }
    }

    /// `opcode reg, [base + disp]` (the direction is the opcode's).
    pub fn mem(&mut self, w: bool, opcode: &[u8], reg: u8, base: u8, disp: i32) {
        self.rex(w, reg, base);
        self.bytes(opcode);
        let short = i8::try_from(disp).is_ok();
        let mode = if short { 0x40 } else { 0x80 };
        self.code.push(mode | (reg & 7) << 3 | (base & 7));
        if base & 7 == RSP {
            self.code.push(0x24);
        }
        if short {
            self.code.push(disp as u8);
        } else {
            self.imm32(disp);
        }
    }

    /// `opcode reg, [base + index + disp]`.
    pub fn mem_indexed(&mut self, w: bool, opcode: &[u8], reg: u8, base: u8, index: u8, disp: i32) {
        assert!(index != RSP, "rsp is no index");
        let rex = 0x40 | (w as u8) << 3 | (reg >> 3) << 2 | (index >> 3) << 1 | (base >> 3);
        if rex != 0x40 {
            self.code.push(rex);
        }
        self.bytes(opcode);
        // mod 00 has no displacement, except that rbp and r13 as a base
        // then mean "none": they take mod 01 with a displacement of 0.
        let mode = match disp {
            0 if base & 7 != RBP => 0x00,
            -128..=127 => 0x40,
            _ => 0x80,
        };
        self.code.push(mode | (reg & 7) << 3 | RSP);
        self.code.push((index & 7) << 3 | (base & 7));
        match mode {
            0x40 => self.code.push(disp as u8),
            0x80 => self.imm32(disp),
            _ => {}
        }
    }

    /// `opcode reg, rm` between registers.
    pub fn rr(&mut self, w: bool, opcode: &[u8], reg: u8, rm: u8) {
        self.rex(w, reg, rm);
        self.bytes(opcode);
        self.code.push(0xc0 | (reg & 7) << 3 | (rm & 7));
    }

    /// `mov dst, imm32` (sign-extended).
    pub fn mov_imm(&mut self, dst: u8, imm: i32) {
        self.rr(true, &[0xc7], 0, dst);
        self.imm32(imm);
    }

    /// `mov dst, imm64`.
    pub fn mov_imm64(&mut self, dst: u8, imm: u64) {
        self.rex(true, 0, dst);
        self.code.push(0xb8 | (dst & 7));
        self.bytes(&imm.to_le_bytes());
    }

    /// `op reg, imm` (sign-extended); `w` false for the 32-bit form.
    pub fn alu_imm(&mut self, w: bool, op: Alu, reg: u8, imm: i32) {
        match i8::try_from(imm) {
            Ok(imm) => {
                self.rr(w, &[0x83], op.0, reg);
                self.code.push(imm as u8);
            }
            Err(_) => {
                self.rr(w, &[0x81], op.0, reg);
                self.imm32(imm);
            }
        }
    }

    /// `op qword [base + disp], imm` (sign-extended).
    pub fn alu_mem_imm(&mut self, op: Alu, base: u8, disp: i32, imm: i32) {
        match i8::try_from(imm) {
            Ok(imm) => {
                self.mem(true, &[0x83], op.0, base, disp);
                self.code.push(imm as u8);
            }
            Err(_) => {
                self.mem(true, &[0x81], op.0, base, disp);
                self.imm32(imm);
            }
        }
    }

    /// `mov qword [base + disp], imm32` (sign-extended).
    pub fn store_imm(&mut self, base: u8, disp: i32, imm: i32) {
        self.mem(true, &[0xc7], 0, base, disp);
        self.imm32(imm);
    }

    pub fn shift_imm(&mut self, w: bool, digit: u8, reg: u8, count: u8) {
        self.rr(w, &[0xc1], digit, reg);
        self.code.push(count);
    }

    /// reg = low half of reg, sign-extended (movsxd).
    pub fn sext32(&mut self, reg: u8) {
        self.rr(true, &[0x63], reg, reg);
    }

    pub fn push(&mut self, r: u8) {
        self.rex(false, 0, r);
        self.code.push(0x50 | (r & 7));
    }

    pub fn pop(&mut self, r: u8) {
        self.rex(false, 0, r);
        self.code.push(0x58 | (r & 7));
    }

    /// `sub rsp, 8` (`add` with `undo`): keeps calls 16-byte aligned.
    pub fn pad_stack(&mut self, undo: bool) {
        self.alu_imm(true, if undo { ADD } else { SUB }, RSP, 8);
    }

    pub fn jcc(&mut self, cc: u8) -> Fixup {
        self.bytes(&[0x0f, 0x80 | cc, 0, 0, 0, 0]);
        Fixup(self.code.len() - 4)
    }

    pub fn jmp(&mut self) -> Fixup {
        self.bytes(&[0xe9, 0, 0, 0, 0]);
        Fixup(self.code.len() - 4)
    }

    /// A jump back to `target`, an offset already emitted.
    pub fn jcc_back(&mut self, cc: u8, target: usize) {
        let rel = target as i64 - (self.code.len() + 6) as i64;
        self.bytes(&[0x0f, 0x80 | cc]);
        self.imm32(rel as i32);
    }

    /// A jump back to `target`, an offset already emitted.
    pub fn jmp_back(&mut self, target: usize) {
        let rel = target as i64 - (self.code.len() + 5) as i64;
        self.code.push(0xe9);
        self.imm32(rel as i32);
    }

    pub fn bind(&mut self, f: Fixup) {
        let rel = (self.code.len() - (f.0 + 4)) as i32;
        self.code[f.0..f.0 + 4].copy_from_slice(&rel.to_le_bytes());
    }
}
