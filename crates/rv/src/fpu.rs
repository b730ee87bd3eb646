//! IEEE 754 arithmetic with RISC-V's rules. PLACEHOLDER: being rewritten in software.
#![allow(unused)]

/// fflags bits.
pub mod flags {
    pub const NX: u32 = 1;
    pub const UF: u32 = 2;
    pub const OF: u32 = 4;
    pub const DZ: u32 = 8;
    pub const NV: u32 = 16;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    NearestEven,
    TowardZero,
    Down,
    Up,
    NearestMaxMagnitude,
}

impl Rounding {
    /// The static `rm` field or `frm` value; 5 and 6 are reserved, 7 (dynamic) is resolved by the hart.
    pub fn from_bits(rm: u32) -> Option<Rounding> {
        Some(match rm {
            0 => Rounding::NearestEven,
            1 => Rounding::TowardZero,
            2 => Rounding::Down,
            3 => Rounding::Up,
            4 => Rounding::NearestMaxMagnitude,
            _ => return None,
        })
    }
}

macro_rules! binop {
    ($name:ident, $t:ty, $f:ty, $op:tt) => {
        pub fn $name(a: $t, b: $t, _rm: Rounding, _fl: &mut u32) -> $t {
            (<$f>::from_bits(a) $op <$f>::from_bits(b)).to_bits()
        }
    };
}
binop!(f32_add, u32, f32, +);
binop!(f32_sub, u32, f32, -);
binop!(f32_mul, u32, f32, *);
binop!(f32_div, u32, f32, /);
binop!(f64_add, u64, f64, +);
binop!(f64_sub, u64, f64, -);
binop!(f64_mul, u64, f64, *);
binop!(f64_div, u64, f64, /);
pub fn f32_sqrt(a: u32, _rm: Rounding, _fl: &mut u32) -> u32 { f32::from_bits(a).sqrt().to_bits() }
pub fn f64_sqrt(a: u64, _rm: Rounding, _fl: &mut u32) -> u64 { f64::from_bits(a).sqrt().to_bits() }
/// a * b + c, rounded once.
pub fn f32_fma(a: u32, b: u32, c: u32, _rm: Rounding, _fl: &mut u32) -> u32 { f32::from_bits(a).mul_add(f32::from_bits(b), f32::from_bits(c)).to_bits() }
pub fn f64_fma(a: u64, b: u64, c: u64, _rm: Rounding, _fl: &mut u32) -> u64 { f64::from_bits(a).mul_add(f64::from_bits(b), f64::from_bits(c)).to_bits() }
pub fn f32_min(a: u32, b: u32, _fl: &mut u32) -> u32 { f32::from_bits(a).min(f32::from_bits(b)).to_bits() }
pub fn f32_max(a: u32, b: u32, _fl: &mut u32) -> u32 { f32::from_bits(a).max(f32::from_bits(b)).to_bits() }
pub fn f64_min(a: u64, b: u64, _fl: &mut u32) -> u64 { f64::from_bits(a).min(f64::from_bits(b)).to_bits() }
pub fn f64_max(a: u64, b: u64, _fl: &mut u32) -> u64 { f64::from_bits(a).max(f64::from_bits(b)).to_bits() }
/// feq (quiet), flt and fle (signalling).
pub fn f32_eq(a: u32, b: u32, _fl: &mut u32) -> bool { f32::from_bits(a) == f32::from_bits(b) }
pub fn f32_lt(a: u32, b: u32, _fl: &mut u32) -> bool { f32::from_bits(a) < f32::from_bits(b) }
pub fn f32_le(a: u32, b: u32, _fl: &mut u32) -> bool { f32::from_bits(a) <= f32::from_bits(b) }
pub fn f64_eq(a: u64, b: u64, _fl: &mut u32) -> bool { f64::from_bits(a) == f64::from_bits(b) }
pub fn f64_lt(a: u64, b: u64, _fl: &mut u32) -> bool { f64::from_bits(a) < f64::from_bits(b) }
pub fn f64_le(a: u64, b: u64, _fl: &mut u32) -> bool { f64::from_bits(a) <= f64::from_bits(b) }
/// The fclass mask (bit 0: -inf ... bit 9: quiet NaN).
pub fn f32_class(_a: u32) -> u64 { 0 }
pub fn f64_class(_a: u64) -> u64 { 0 }
pub fn f32_to_f64(a: u32, _fl: &mut u32) -> u64 { (f32::from_bits(a) as f64).to_bits() }
pub fn f64_to_f32(a: u64, _rm: Rounding, _fl: &mut u32) -> u32 { (f64::from_bits(a) as f32).to_bits() }
pub fn f32_to_i32(a: u32, _rm: Rounding, _fl: &mut u32) -> i32 { f32::from_bits(a) as i32 }
pub fn f32_to_u32(a: u32, _rm: Rounding, _fl: &mut u32) -> u32 { f32::from_bits(a) as u32 }
pub fn f32_to_i64(a: u32, _rm: Rounding, _fl: &mut u32) -> i64 { f32::from_bits(a) as i64 }
pub fn f32_to_u64(a: u32, _rm: Rounding, _fl: &mut u32) -> u64 { f32::from_bits(a) as u64 }
pub fn f64_to_i32(a: u64, _rm: Rounding, _fl: &mut u32) -> i32 { f64::from_bits(a) as i32 }
pub fn f64_to_u32(a: u64, _rm: Rounding, _fl: &mut u32) -> u32 { f64::from_bits(a) as u32 }
pub fn f64_to_i64(a: u64, _rm: Rounding, _fl: &mut u32) -> i64 { f64::from_bits(a) as i64 }
pub fn f64_to_u64(a: u64, _rm: Rounding, _fl: &mut u32) -> u64 { f64::from_bits(a) as u64 }
pub fn i32_to_f32(v: i32, _rm: Rounding, _fl: &mut u32) -> u32 { (v as f32).to_bits() }
pub fn u32_to_f32(v: u32, _rm: Rounding, _fl: &mut u32) -> u32 { (v as f32).to_bits() }
pub fn i64_to_f32(v: i64, _rm: Rounding, _fl: &mut u32) -> u32 { (v as f32).to_bits() }
pub fn u64_to_f32(v: u64, _rm: Rounding, _fl: &mut u32) -> u32 { (v as f32).to_bits() }
pub fn i32_to_f64(v: i32, _rm: Rounding, _fl: &mut u32) -> u64 { (v as f64).to_bits() }
pub fn u32_to_f64(v: u32, _rm: Rounding, _fl: &mut u32) -> u64 { (v as f64).to_bits() }
pub fn i64_to_f64(v: i64, _rm: Rounding, _fl: &mut u32) -> u64 { (v as f64).to_bits() }
pub fn u64_to_f64(v: u64, _rm: Rounding, _fl: &mut u32) -> u64 { (v as f64).to_bits() }
