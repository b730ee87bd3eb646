//! Instruction decoding (in progress).
pub(crate) struct CodePage;
