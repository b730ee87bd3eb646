//! epoll (Linux's fs/eventpoll.c): an interest list of items, each an
//! (fd, open file description) pair with the events asked for, and a
//! ready list of the items that may have something to report.
//!
//! epoll knows no kind of file: it uses each file's poll operation and
//! the [`PollKey`] that poll says changes announce themselves on. Every
//! such announcement (`pipe::note_wake`, a process ending, a signal, the
//! host streams' re-check) reaches [`notify`], Linux's ep_poll_callback:
//! it puts the items watching that key on their epoll's ready list and
//! announces a change of the epoll itself, which restarts its waiters and,
//! in turn, notifies the epolls watching it (epoll of epoll).
//!
//! epoll_wait takes the ready list and polls each item again: an item
//! whose file has nothing it asked for leaves the list; one that has is
//! reported, and goes back on the list when level-triggered (so the next
//! wait polls it again), waits for the next announcement when
//! edge-triggered (EPOLLET), or is disabled until EPOLL_CTL_MOD when
//! one-shot. An item goes when its open file description does (the last
//! fd closed, in every process): the list holds the file weakly. fork
//! shares the epoll's open file, so parent and child share its lists.

use super::file::{FileOps, OpenFile, Processes, Readiness, POLLIN, POLLRDNORM};
use super::pipe::note_wake;
use crate::errno::{Errno, KResult};
use crate::wait::PollKey;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::{Rc, Weak};

pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

pub const EPOLLIN: u32 = 0x1;
pub const EPOLLOUT: u32 = 0x4;
pub const EPOLLERR: u32 = 0x8;
pub const EPOLLHUP: u32 = 0x10;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;

/// The bits that say how an item is reported, not what it waits for.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// The only bits an EPOLLEXCLUSIVE item may ask for.
const EPOLLEXCLUSIVE_OK_BITS: u32 =
    EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/// How deep epolls may be nested in one another (Linux's EP_MAX_NESTS).
const EP_MAX_NESTS: usize = 4;
/// About what an item costs Linux (its epitem and eppoll_entry): a user's
/// items may take a 25th of RAM (Linux's max_user_watches).
const EP_ITEM_COST: usize = 200;

/// How many items a user's epolls may hold, with `ram` bytes of RAM.
pub fn max_user_watches(ram: usize) -> usize {
    ram / 25 / EP_ITEM_COST
}

/// An item's identity: its fd and its open file description (by address,
/// which stays unique while the item holds the file weakly).
type ItemId = (i32, usize);

struct Item {
    file: Weak<OpenFile>,
    /// What the caller asked for, with EPOLLERR and EPOLLHUP always added;
    /// only the private bits once a one-shot item has fired.
    events: Cell<u32>,
    data: Cell<u64>,
    /// What the file's changes are announced on.
    key: PollKey,
    /// On the ready list.
    queued: Cell<bool>,
    /// The user its epoll's creator was, charged for it.
    user: u32,
}

impl Drop for Item {
    fn drop(&mut self) {
        USER_WATCHES.with(|w| {
            let mut w = w.borrow_mut();
            if let Some(n) = w.get_mut(&self.user) {
                *n -= 1;
                if *n == 0 {
                    w.remove(&self.user);
                }
            }
        });
    }
}

impl Item {
    fn exclusive(&self) -> bool {
        self.events.get() & EPOLLEXCLUSIVE != 0
    }

    /// A one-shot item that has fired waits for EPOLL_CTL_MOD.
    fn disabled(&self) -> bool {
        self.events.get() & !EP_PRIVATE_BITS == 0
    }

    /// What the file has of what the item asks for (Linux's ep_item_poll).
    fn poll(&self, procs: &dyn Processes) -> Option<u32> {
        let file = self.file.upgrade()?;
        let events = self.events.get();
        Some(u32::from(file.poll(procs, events as u16).mask) & events)
    }
}

struct Inner {
    /// Kernel-wide unique, from the inode numbers: what the epoll's own
    /// changes are announced on.
    id: u64,
    items: RefCell<BTreeMap<ItemId, Item>>,
    ready: RefCell<VecDeque<ItemId>>,
    /// The creator's real uid, charged for its items, and their limit.
    user: u32,
    max_watches: usize,
}

pub struct Epoll {
    inner: Rc<Inner>,
}

thread_local! {
    /// Which epolls have items watching each key (Linux's wait queue
    /// entries): what [`notify`] looks at.
    static WATCHERS: RefCell<HashMap<PollKey, Vec<Weak<Inner>>>> = RefCell::new(HashMap::new());
    /// How many items each user's epolls hold (Linux's epoll_watches).
    static USER_WATCHES: RefCell<HashMap<u32, usize>> = RefCell::new(HashMap::new());
}

fn watch(key: PollKey, inner: &Rc<Inner>) {
    WATCHERS.with(|w| {
        let mut w = w.borrow_mut();
        let list = w.entry(key).or_default();
        if !list.iter().any(|e| e.as_ptr() == Rc::as_ptr(inner)) {
            list.push(Rc::downgrade(inner));
        }
    });
}

/// `inner` stops watching `key`, unless another of its items still does.
fn unwatch(key: PollKey, inner: &Inner) {
    if inner.items.borrow().values().any(|i| i.key == key) {
        return;
    }
    WATCHERS.with(|w| {
        let mut w = w.borrow_mut();
        if let Some(list) = w.get_mut(&key) {
            list.retain(|e| e.strong_count() > 0 && !std::ptr::eq(e.as_ptr(), inner));
            if list.is_empty() {
                w.remove(&key);
            }
        }
    });
}

/// The live epolls watching `key`, in the order they started to.
fn watchers(key: PollKey) -> Vec<Rc<Inner>> {
    WATCHERS.with(|w| {
        let mut w = w.borrow_mut();
        let Some(list) = w.get_mut(&key) else {
            return Vec::new();
        };
        list.retain(|e| e.strong_count() > 0);
        let live: Vec<Rc<Inner>> = list.iter().filter_map(Weak::upgrade).collect();
        if live.is_empty() {
            w.remove(&key);
        }
        live
    })
}

/// The epolls that watch `key`, directly or through the epolls they
/// watch, by the keys their waiters wait on (the idle loop waits on the
/// host's stdin for a waiter of one that watches the host streams).
pub fn watching(key: PollKey) -> Vec<PollKey> {
    let mut found: Vec<PollKey> = Vec::new();
    let mut todo = vec![key];
    while let Some(key) = todo.pop() {
        for ep in watchers(key) {
            let ep_key = PollKey::File(ep.id);
            if !found.contains(&ep_key) {
                found.push(ep_key);
                todo.push(ep_key);
            }
        }
    }
    found
}

/// Something announced on `key` changed (Linux's ep_poll_callback): every
/// epoll with items watching it queues them and announces its own change.
/// Items added with EPOLLEXCLUSIVE are queued only up to the first epoll
/// that `has_waiters` (as Linux wakes one exclusive waiter), after every
/// other item.
pub fn notify(key: PollKey, has_waiters: &dyn Fn(u64) -> bool) {
    let epolls = watchers(key);
    for ep in &epolls {
        if ep.queue(key, false) {
            note_wake(ep.id);
        }
    }
    for ep in &epolls {
        if ep.queue(key, true) {
            note_wake(ep.id);
            if has_waiters(ep.id) {
                break;
            }
        }
    }
}

impl Inner {
    /// Queues this epoll's enabled items (exclusive or not) watching
    /// `key`; whether there were any.
    fn queue(&self, key: PollKey, exclusive: bool) -> bool {
        let items = self.items.borrow();
        let mut any = false;
        for (id, item) in items.iter() {
            if item.key != key || item.exclusive() != exclusive || item.disabled() {
                continue;
            }
            any = true;
            if !item.queued.replace(true) {
                self.ready.borrow_mut().push_back(*id);
            }
        }
        any
    }

    /// Drops the items whose open file has gone.
    fn purge(&self) {
        let dead: Vec<(ItemId, PollKey)> = self
            .items
            .borrow()
            .iter()
            .filter(|(_, i)| i.file.strong_count() == 0)
            .map(|(id, i)| (*id, i.key))
            .collect();
        for (id, key) in dead {
            self.remove(id, key);
        }
    }

    fn remove(&self, id: ItemId, key: PollKey) {
        self.items.borrow_mut().remove(&id);
        self.ready.borrow_mut().retain(|r| *r != id);
        unwatch(key, self);
    }

    /// The epolls this one's items are, to check nesting.
    fn children(&self) -> Vec<Rc<Inner>> {
        self.items
            .borrow()
            .values()
            .filter_map(|i| i.file.upgrade())
            .filter_map(|f| epoll_of(&f).map(|e| e.inner.clone()))
            .collect()
    }

    /// How deep epolls go below this one; None when `target` is among
    /// them (a loop).
    fn depth_below(&self, target: &Inner) -> Option<usize> {
        let mut depth = 0;
        for child in self.children() {
            if std::ptr::eq(&*child, target) {
                return None;
            }
            depth = depth.max(child.depth_below(target)? + 1);
        }
        Some(depth)
    }

    /// How deep this epoll is nested in others.
    fn depth_above(&self) -> usize {
        watchers(PollKey::File(self.id))
            .iter()
            .map(|parent| parent.depth_above() + 1)
            .max()
            .unwrap_or(0)
    }
}

/// The epoll `file` is, if it is one.
pub fn epoll_of(file: &OpenFile) -> Option<&Epoll> {
    file.downcast::<Epoll>()
}

impl Epoll {
    /// A new epoll for `user`, whose epolls may hold `max_watches` items.
    pub fn new(id: u64, user: u32, max_watches: usize) -> Epoll {
        Epoll {
            inner: Rc::new(Inner {
                id,
                items: RefCell::new(BTreeMap::new()),
                ready: RefCell::new(VecDeque::new()),
                user,
                max_watches,
            }),
        }
    }

    /// What the epoll's changes are announced on: its waiters wait on it.
    pub fn key(&self) -> PollKey {
        PollKey::File(self.inner.id)
    }

    /// epoll_ctl's checks and operation `op` on item (`fd`, `file`), with
    /// `events` and `data` for ADD and MOD (Linux's do_epoll_ctl, after
    /// the fds are looked up).
    pub fn ctl(
        &self,
        procs: &dyn Processes,
        op: i32,
        fd: i32,
        file: &Rc<OpenFile>,
        mut events: u32,
        data: u64,
    ) -> KResult<()> {
        // A file nothing can change (a regular file, a directory) has no
        // poll operation for epoll.
        let Some(key) = file.poll(procs, 0).key else {
            return Err(Errno::EPERM);
        };
        let target = epoll_of(file);
        if target.is_some_and(|t| Rc::ptr_eq(&t.inner, &self.inner)) {
            return Err(Errno::EINVAL);
        }
        if op != EPOLL_CTL_DEL && events & EPOLLEXCLUSIVE != 0 {
            if op == EPOLL_CTL_MOD {
                return Err(Errno::EINVAL);
            }
            if op == EPOLL_CTL_ADD && (target.is_some() || events & !EPOLLEXCLUSIVE_OK_BITS != 0) {
                return Err(Errno::EINVAL);
            }
        }
        self.inner.purge();
        if let (EPOLL_CTL_ADD, Some(t)) = (op, target) {
            let below = t.inner.depth_below(&self.inner).ok_or(Errno::ELOOP)?;
            if below + 1 + self.inner.depth_above() > EP_MAX_NESTS {
                return Err(Errno::ELOOP);
            }
        }
        let id = (fd, Rc::as_ptr(file) as usize);
        let exists = self.inner.items.borrow().get(&id).map(Item::exclusive);
        match (op, exists) {
            (EPOLL_CTL_ADD, None) => {
                let user = self.inner.user;
                let charged = USER_WATCHES.with(|w| {
                    let mut w = w.borrow_mut();
                    let n = w.entry(user).or_default();
                    if *n >= self.inner.max_watches {
                        return false;
                    }
                    *n += 1;
                    true
                });
                if !charged {
                    return Err(Errno::ENOSPC);
                }
                events |= EPOLLERR | EPOLLHUP;
                self.inner.items.borrow_mut().insert(
                    id,
                    Item {
                        file: Rc::downgrade(file),
                        events: Cell::new(events),
                        data: Cell::new(data),
                        key,
                        queued: Cell::new(false),
                        user,
                    },
                );
                watch(key, &self.inner);
                self.queue_if_ready(procs, id);
                Ok(())
            }
            (EPOLL_CTL_ADD, Some(_)) => Err(Errno::EEXIST),
            (EPOLL_CTL_DEL, Some(_)) => {
                self.inner.remove(id, key);
                Ok(())
            }
            (EPOLL_CTL_MOD, Some(false)) => {
                if let Some(item) = self.inner.items.borrow().get(&id) {
                    item.events.set(events | EPOLLERR | EPOLLHUP);
                    item.data.set(data);
                }
                self.queue_if_ready(procs, id);
                Ok(())
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None) => Err(Errno::ENOENT),
            _ => Err(Errno::EINVAL),
        }
    }

    /// A new or modified item that has something already goes on the
    /// ready list, and the epoll's waiters are told.
    fn queue_if_ready(&self, procs: &dyn Processes, id: ItemId) {
        let items = self.inner.items.borrow();
        let Some(item) = items.get(&id) else {
            return;
        };
        if item.poll(procs).unwrap_or(0) == 0 {
            return;
        }
        if !item.queued.replace(true) {
            self.inner.ready.borrow_mut().push_back(id);
        }
        note_wake(self.inner.id);
    }

    /// Takes up to `max` events off the ready list, as (events, data)
    /// (Linux's ep_send_events).
    pub fn send_events(&self, procs: &dyn Processes, max: usize) -> Vec<(u32, u64)> {
        self.inner.purge();
        let mut todo = std::mem::take(&mut *self.inner.ready.borrow_mut());
        let mut out = Vec::new();
        let mut again = Vec::new();
        while out.len() < max {
            let Some(id) = todo.pop_front() else {
                break;
            };
            let items = self.inner.items.borrow();
            let Some(item) = items.get(&id) else {
                continue;
            };
            item.queued.set(false);
            let revents = item.poll(procs).unwrap_or(0);
            if revents == 0 {
                continue;
            }
            out.push((revents, item.data.get()));
            let events = item.events.get();
            if events & EPOLLONESHOT != 0 {
                item.events.set(events & EP_PRIVATE_BITS);
            } else if events & EPOLLET == 0 {
                item.queued.set(true);
                again.push(id);
            }
        }
        // What was not looked at stays first, then the level-triggered
        // items just reported.
        todo.extend(again);
        *self.inner.ready.borrow_mut() = todo;
        out
    }
}

impl FileOps for Epoll {
    fn name(&self) -> String {
        "anon_inode:[eventpoll]".into()
    }

    /// Readable while an item on the ready list has something (Linux's
    /// ep_eventpoll_poll); items that have nothing leave the list.
    fn poll(&self, _events: u16, procs: &dyn Processes) -> Readiness {
        let mut ready = false;
        let ids: Vec<ItemId> = self.inner.ready.borrow().iter().copied().collect();
        for id in ids {
            let revents = self
                .inner
                .items
                .borrow()
                .get(&id)
                .and_then(|item| item.poll(procs))
                .unwrap_or(0);
            if revents != 0 {
                ready = true;
                break;
            }
            if let Some(item) = self.inner.items.borrow().get(&id) {
                item.queued.set(false);
            }
            self.inner.ready.borrow_mut().retain(|r| *r != id);
        }
        Readiness {
            mask: if ready { POLLIN | POLLRDNORM } else { 0 },
            key: Some(self.key()),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        let keys: Vec<PollKey> = self.inner.items.borrow().values().map(|i| i.key).collect();
        self.inner.items.borrow_mut().clear();
        for key in keys {
            unwatch(key, &self.inner);
        }
    }
}
