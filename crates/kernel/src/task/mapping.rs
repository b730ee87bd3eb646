//! What the page cache needs from the task table: every address space
//! that may map a file.

use super::Kernel;
use crate::mm::PAGE_SIZE;
use std::collections::HashSet;
use std::rc::Rc;

impl Kernel {
    /// A writable file (inode `id`) was truncated to `len` bytes: its
    /// cached pages past the end go, from every mapping too, so that the
    /// next touch there is SIGBUS, and the tail of the last page reads as
    /// zero.
    pub fn truncate_pagecache(&mut self, id: u64, len: u64) {
        let Some(obj) = self.phys.cache.by_inode(id) else {
            return;
        };
        let first = len.div_ceil(PAGE_SIZE);
        let mut seen = HashSet::new();
        for task in self.tasks.values() {
            if seen.insert(Rc::as_ptr(&task.mm)) {
                task.mm.borrow_mut().zap_object(&mut self.phys, &obj, first);
            }
        }
        obj.borrow_mut().truncate(&mut self.phys, len);
    }
}
