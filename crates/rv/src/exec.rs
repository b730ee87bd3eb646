//! The interpreter loop (in progress).
use crate::{Hart, PhysMem, Trap};
pub(crate) fn run(_hart: &mut Hart, _mem: &mut PhysMem, _budget: u64) -> Trap {
    Trap::BudgetExhausted
}
