//! AF_UNIX's garbage collector (Linux's net/unix/garbage.c): the files
//! in flight, and the cycles of sockets that only their own queues hold.
//!
//! A message holds the files it passes until they are received. A socket
//! passed over itself (in its own queue), or two passed over each other,
//! hold each other's last reference after every fd is closed, and no
//! close can free them. The collector finds them as Linux's does: among
//! the sockets in flight, those referenced only by the queues of other
//! such sockets, and not reachable from a queue of an open socket, are
//! garbage; their queues are dropped, which frees them and what they
//! passed. It runs when a socket goes and when files are passed.

use super::{unix_of, Msg, UnixNet};
use crate::fs::OpenFile;
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

/// A file in flight (Linux's unix_inflight): counted on its socket, if
/// it is an AF_UNIX one, for the collector.
pub(super) struct Passed(pub(super) Rc<OpenFile>);

impl Passed {
    pub(super) fn new(file: Rc<OpenFile>, net: &UnixNet) -> Passed {
        if let Some(u) = unix_of(&file) {
            if u.inflight.get() == 0 {
                net.inflight.borrow_mut().push(Rc::downgrade(&file));
            }
            u.inflight.set(u.inflight.get() + 1);
        }
        Passed(file)
    }
}

impl Drop for Passed {
    fn drop(&mut self) {
        if let Some(u) = unix_of(&self.0) {
            u.inflight.set(u.inflight.get() - 1);
        }
    }
}

impl UnixNet {
    /// Runs the garbage collector until it finds nothing (dropping what
    /// it found may free more); a drop inside it does not start another.
    pub fn collect(&self) {
        if self.inflight.borrow().is_empty() || self.collecting.replace(true) {
            return;
        }
        loop {
            let garbage = self.garbage();
            if garbage.is_empty() {
                break;
            }
            drop(garbage);
        }
        self.collecting.set(false);
    }

    /// Linux's unix_gc. Candidates are the sockets in flight whose every
    /// reference is a message's. Taking away the references from the
    /// candidates' own queues, one still referenced is reachable from a
    /// queue outside them (whose socket is open); so is whatever its
    /// queue holds, and so on. The rest only reach each other: their
    /// queues are the garbage.
    fn garbage(&self) -> Vec<Msg> {
        let files: Vec<Rc<OpenFile>> = {
            let mut list = self.inflight.borrow_mut();
            let mut seen = HashSet::new();
            list.retain(|w| {
                w.upgrade().is_some_and(|f| {
                    unix_of(&f).is_some_and(|u| u.inflight.get() > 0) && seen.insert(w.as_ptr())
                })
            });
            list.iter().filter_map(Weak::upgrade).collect()
        };
        // `files` holds one reference of each.
        let candidates: Vec<Rc<OpenFile>> = files
            .into_iter()
            .filter(|f| unix_of(f).is_some_and(|u| Rc::strong_count(f) - 1 == u.inflight.get()))
            .collect();
        let index: HashMap<*const OpenFile, usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, f)| (Rc::as_ptr(f), i))
            .collect();
        let sock = |i: usize| unix_of(&candidates[i]).expect("a unix socket");
        // What candidate i's queue passes, by candidate index (None for a
        // socket whose state is in use: it counts as reachable).
        let passes = |i: usize| -> Option<Vec<usize>> {
            let st = sock(i).st.try_borrow().ok()?;
            Some(
                st.recvq
                    .iter()
                    .flat_map(|m| &m.fds)
                    .filter_map(|p| index.get(&Rc::as_ptr(&p.0)).copied())
                    .collect(),
            )
        };
        let mut refs: Vec<usize> = (0..candidates.len())
            .map(|i| sock(i).inflight.get())
            .collect();
        let mut reachable = vec![false; candidates.len()];
        for (i, busy) in reachable.iter_mut().enumerate() {
            match passes(i) {
                Some(js) => js
                    .into_iter()
                    .for_each(|j| refs[j] = refs[j].saturating_sub(1)),
                None => *busy = true,
            }
        }
        let mut stack: Vec<usize> = Vec::new();
        for (i, live) in reachable.iter_mut().enumerate() {
            if refs[i] > 0 || *live {
                *live = true;
                stack.push(i);
            }
        }
        while let Some(i) = stack.pop() {
            for j in passes(i).unwrap_or_default() {
                if !reachable[j] {
                    reachable[j] = true;
                    stack.push(j);
                }
            }
        }
        let mut garbage = Vec::new();
        for (i, &live) in reachable.iter().enumerate() {
            if !live {
                if let Ok(mut st) = sock(i).st.try_borrow_mut() {
                    garbage.extend(st.recvq.drain(..));
                }
            }
        }
        garbage
    }
}

/// A kernel that stops drops whatever is still in flight: nothing else
/// would break the cycles the collector has not met.
impl Drop for UnixNet {
    fn drop(&mut self) {
        let files: Vec<Rc<OpenFile>> = self
            .inflight
            .get_mut()
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        let mut queues = Vec::new();
        for f in &files {
            if let Some(u) = unix_of(f) {
                if let Ok(mut st) = u.st.try_borrow_mut() {
                    queues.extend(st.recvq.drain(..));
                }
            }
        }
        drop(files);
        drop(queues);
    }
}
