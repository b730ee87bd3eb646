//! FUTEX_WAKE_OP's encoded operation: what to do to the second word and
//! when to wake its waiters.

use crate::errno::{Errno, KResult};

/// The result of decoding FUTEX_WAKE_OP's `val3`: what to do to the second
/// word and when to wake its waiters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WakeOp {
    op: u32,
    cmp: u32,
    oparg: i32,
    cmparg: i32,
}

pub const FUTEX_OP_SET: u32 = 0;
pub const FUTEX_OP_ADD: u32 = 1;
pub const FUTEX_OP_OR: u32 = 2;
pub const FUTEX_OP_ANDN: u32 = 3;
pub const FUTEX_OP_XOR: u32 = 4;
/// Flag on the op: the argument is a shift count, use 1 << oparg.
pub const FUTEX_OP_OPARG_SHIFT: u32 = 8;

pub const FUTEX_OP_CMP_EQ: u32 = 0;
pub const FUTEX_OP_CMP_NE: u32 = 1;
pub const FUTEX_OP_CMP_LT: u32 = 2;
pub const FUTEX_OP_CMP_LE: u32 = 3;
pub const FUTEX_OP_CMP_GT: u32 = 4;
pub const FUTEX_OP_CMP_GE: u32 = 5;

/// Sign-extends the low 12 bits.
fn sign_extend12(v: u32) -> i32 {
    ((v << 20) as i32) >> 20
}

impl WakeOp {
    /// Decodes `encoded` as Linux's futex_atomic_op_inuser: op in bits
    /// 28..31 (with FUTEX_OP_OPARG_SHIFT as bit 31), cmp in 24..28, oparg
    /// and cmparg as signed 12-bit fields.
    pub fn decode(encoded: u32) -> WakeOp {
        let mut oparg = sign_extend12((encoded >> 12) & 0xfff);
        if encoded & (FUTEX_OP_OPARG_SHIFT << 28) != 0 {
            // Linux warns and masks an out-of-range shift rather than
            // failing (its "fix this program" message).
            oparg = 1i32.wrapping_shl((oparg & 31) as u32);
        }
        WakeOp {
            op: (encoded & 0x7000_0000) >> 28,
            cmp: (encoded & 0x0f00_0000) >> 24,
            oparg,
            cmparg: sign_extend12(encoded & 0xfff),
        }
    }

    /// ENOSYS for an op riscv's arch_futex_atomic_op_inuser does not know,
    /// which it reports before touching the word.
    pub fn check(&self) -> KResult<()> {
        self.apply(0).map(drop)
    }

    /// The new value of the word, or ENOSYS for an unknown op.
    pub fn apply(&self, old: u32) -> KResult<u32> {
        let arg = self.oparg as u32;
        Ok(match self.op {
            FUTEX_OP_SET => arg,
            FUTEX_OP_ADD => old.wrapping_add(arg),
            FUTEX_OP_OR => old | arg,
            FUTEX_OP_ANDN => old & !arg,
            FUTEX_OP_XOR => old ^ arg,
            _ => return Err(Errno::ENOSYS),
        })
    }

    /// Whether the old value passes the comparison, signed as in Linux; an
    /// unknown comparison is ENOSYS (after the word was written, as on
    /// Linux).
    pub fn compare(&self, old: u32) -> KResult<bool> {
        let old = old as i32;
        let arg = self.cmparg;
        Ok(match self.cmp {
            FUTEX_OP_CMP_EQ => old == arg,
            FUTEX_OP_CMP_NE => old != arg,
            FUTEX_OP_CMP_LT => old < arg,
            FUTEX_OP_CMP_LE => old <= arg,
            FUTEX_OP_CMP_GT => old > arg,
            FUTEX_OP_CMP_GE => old >= arg,
            _ => return Err(Errno::ENOSYS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FUTEX_OP(op, oparg, cmp, cmparg) from linux/futex.h.
    fn futex_op(op: u32, oparg: i32, cmp: u32, cmparg: i32) -> u32 {
        ((op & 0xf) << 28)
            | ((cmp & 0xf) << 24)
            | (((oparg as u32) & 0xfff) << 12)
            | ((cmparg as u32) & 0xfff)
    }

    #[test]
    fn wake_op_arithmetic() {
        let cases = [
            (FUTEX_OP_SET, 7, 100, 7),
            (FUTEX_OP_ADD, 1, 100, 101),
            (FUTEX_OP_ADD, -1, 0, u32::MAX),
            (FUTEX_OP_OR, 0b1010, 0b0101, 0b1111),
            (FUTEX_OP_ANDN, 0b0110, 0b1111, 0b1001),
            (FUTEX_OP_XOR, 0b0110, 0b1100, 0b1010),
            (FUTEX_OP_SET, -2048, 0, (-2048i32) as u32),
            (FUTEX_OP_SET, 2047, 0, 2047),
        ];
        for (op, oparg, old, new) in cases {
            let w = WakeOp::decode(futex_op(op, oparg, FUTEX_OP_CMP_EQ, 0));
            assert_eq!(w.apply(old), Ok(new), "op {op} arg {oparg} old {old}");
        }
        // The shift flag: oparg is a bit number (and masked, not refused).
        let shl = |op, arg| WakeOp::decode(futex_op(op | FUTEX_OP_OPARG_SHIFT, arg, 0, 0));
        assert_eq!(shl(FUTEX_OP_OR, 4).apply(1), Ok(0x11));
        assert_eq!(shl(FUTEX_OP_SET, 31).apply(0), Ok(0x8000_0000));
        assert_eq!(shl(FUTEX_OP_SET, 33).apply(0), Ok(2));
        for op in 5..8 {
            assert_eq!(WakeOp::decode(op << 28).apply(0), Err(Errno::ENOSYS));
        }
    }

    #[test]
    fn wake_op_comparisons_are_signed() {
        let cmp = |c, arg, old: i32| WakeOp::decode(futex_op(0, 0, c, arg)).compare(old as u32);
        assert_eq!(cmp(FUTEX_OP_CMP_EQ, 5, 5), Ok(true));
        assert_eq!(cmp(FUTEX_OP_CMP_NE, 5, 5), Ok(false));
        assert_eq!(cmp(FUTEX_OP_CMP_LT, 0, -1), Ok(true));
        assert_eq!(cmp(FUTEX_OP_CMP_LE, -1, -1), Ok(true));
        assert_eq!(cmp(FUTEX_OP_CMP_GT, -2048, -1), Ok(true));
        assert_eq!(cmp(FUTEX_OP_CMP_GE, 1, 0), Ok(false));
        assert_eq!(cmp(FUTEX_OP_CMP_EQ, -1, -1), Ok(true));
        assert_eq!(cmp(6, 0, 0), Err(Errno::ENOSYS));
        assert_eq!(cmp(15, 0, 0), Err(Errno::ENOSYS));
    }
}
