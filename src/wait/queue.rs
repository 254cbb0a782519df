//! `WaitQueue`: the one fair queue every wait source parks its waiters on.
//!
//! A FIFO with O(1) push, pop and removal from the middle. Entries live in a slab (a vector of
//! nodes linked into a doubly linked list by index, with a free list); `push_back` hands back a
//! `QueueKey` (slot index plus the slot's generation) that removes the entry in O(1), and that is
//! harmless once the entry is gone: a key whose generation no longer matches removes nothing. So a
//! task that stops waiting for a reason of its own (timeout, cancel, another source of an `any`
//! wait) takes its entry out at once, and N tasks abandoning one event cost O(N), not O(N²).
//!
//! The queue is plain data: callers keep it behind their own lock (an event's, a lock's), which
//! is also what makes "check the condition, then park" atomic for them. Nothing here runs Python
//! code or wakes anyone: the caller takes entries out under its lock and wakes them after
//! releasing it.

use smallvec::SmallVec;

const NIL: u32 = u32::MAX;

/// Identifies one entry of one `WaitQueue`; stale once that entry left the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueueKey {
    index: u32,
    generation: u32,
}

impl QueueKey {
    /// No entry (in `pack` form).
    pub(crate) const NONE: u64 = u64::MAX;

    /// The key as one word, so a wait can keep it in an atomic.
    pub(crate) fn pack(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    pub(crate) fn unpack(packed: u64) -> Option<Self> {
        (packed != Self::NONE).then_some(Self {
            index: packed as u32,
            generation: (packed >> 32) as u32,
        })
    }
}

struct Node<T> {
    value: Option<T>,
    prev: u32,
    next: u32,
    /// Bumped whenever the slot is vacated, so old keys stop matching.
    generation: u32,
}

/// A FIFO of `T` with O(1) removal by key. One inline slot: most queues hold at most one waiter.
pub(crate) struct WaitQueue<T> {
    nodes: SmallVec<[Node<T>; 1]>,
    head: u32,
    tail: u32,
    /// First vacant slot; vacant slots are chained through `next`.
    free: u32,
    len: usize,
    /// The generation a newly created slot starts at: above every generation the slab ever
    /// issued, so keys from before a shrink cannot match a slot made after it.
    fresh_generation: u32,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        Self {
            nodes: SmallVec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            fresh_generation: 0,
        }
    }
}

impl<T> WaitQueue<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry queued longest, left in place (a source that decides by the front entry's kind,
    /// as a read-write lock does).
    pub(crate) fn front(&self) -> Option<&T> {
        if self.head == NIL {
            return None;
        }
        self.nodes[self.head as usize].value.as_ref()
    }

    /// Appends `value`; the key removes it again in O(1).
    pub(crate) fn push_back(&mut self, value: T) -> QueueKey {
        let index = if self.free != NIL {
            let index = self.free;
            self.free = self.nodes[index as usize].next;
            index
        } else {
            // Slab indices fit in u32 (NIL excluded): four billion waiters on one queue would
            // need terabytes of tasks first.
            let index = self.nodes.len() as u32;
            self.nodes.push(Node {
                value: None,
                prev: NIL,
                next: NIL,
                generation: self.fresh_generation,
            });
            index
        };
        let tail = self.tail;
        let node = &mut self.nodes[index as usize];
        node.value = Some(value);
        node.prev = tail;
        node.next = NIL;
        let generation = node.generation;
        if tail == NIL {
            self.head = index;
        } else {
            self.nodes[tail as usize].next = index;
        }
        self.tail = index;
        self.len += 1;
        QueueKey { index, generation }
    }

    /// The entry `key` names, if it is still queued (left in place).
    pub(crate) fn get(&self, key: QueueKey) -> Option<&T> {
        let node = self.nodes.get(key.index as usize)?;
        if node.generation != key.generation {
            return None;
        }
        node.value.as_ref()
    }

    /// Removes the entry `key` names, if it is still queued.
    pub(crate) fn remove(&mut self, key: QueueKey) -> Option<T> {
        let node = self.nodes.get(key.index as usize)?;
        if node.generation != key.generation || node.value.is_none() {
            return None;
        }
        Some(self.unlink(key.index))
    }

    /// Takes the entry queued longest.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        (self.head != NIL).then(|| self.unlink(self.head))
    }

    /// Takes every entry, oldest first (the slab stays, so outstanding keys stay harmless).
    pub(crate) fn take_all(&mut self) -> SmallVec<[T; 1]> {
        let mut taken = SmallVec::with_capacity(self.len);
        while let Some(value) = self.pop_front() {
            taken.push(value);
        }
        taken
    }

    /// Takes out every entry `withdraw` picks, oldest first, in one O(len) walk; the others stay
    /// in place with their keys (for a source that must look at all its waiters at once, as a
    /// barrier's completing arrival does).
    pub(crate) fn remove_where(
        &mut self,
        mut withdraw: impl FnMut(&T) -> bool,
    ) -> SmallVec<[T; 1]> {
        let mut removed = SmallVec::new();
        let mut index = self.head;
        while index != NIL {
            let node = &self.nodes[index as usize];
            let next = node.next;
            if node.value.as_ref().is_some_and(&mut withdraw) {
                // Unlinking the last entry may reset the slab; `next` is then NIL.
                removed.push(self.unlink(index));
            }
            index = next;
        }
        removed
    }

    fn unlink(&mut self, index: u32) -> T {
        let (prev, next, value) = {
            let node = &mut self.nodes[index as usize];
            let value = node.value.take();
            node.generation = node.generation.wrapping_add(1);
            let links = (node.prev, node.next);
            node.next = self.free;
            node.prev = NIL;
            (links.0, links.1, value)
        };
        self.free = index;
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        self.len -= 1;
        if self.len == 0 && self.nodes.len() > 64 {
            // A crowd has left: give its slab back rather than keep it for the queue's life.
            let newest = self.nodes.iter().map(|node| node.generation).max();
            self.fresh_generation = newest.unwrap_or(0).wrapping_add(1);
            self.nodes = SmallVec::new();
            self.free = NIL;
        }
        // Every linked node holds a value: `unlink` is only called on queued indices.
        value.unwrap_or_else(|| unreachable!("a linked wait-queue node without a value"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_removal_from_the_middle() {
        let mut queue = WaitQueue::default();
        let keys: Vec<QueueKey> = (0..5).map(|value| queue.push_back(value)).collect();
        assert_eq!(queue.get(keys[2]), Some(&2));
        assert_eq!(queue.remove(keys[2]), Some(2));
        assert_eq!(queue.remove(keys[2]), None, "a key removes its entry once");
        assert_eq!(queue.get(keys[2]), None);
        assert_eq!(queue.front(), Some(&0));
        assert_eq!(queue.pop_front(), Some(0));
        assert_eq!(queue.remove(keys[4]), Some(4));
        assert_eq!(queue.take_all().into_vec(), vec![1, 3]);
        assert!(queue.is_empty());
        assert_eq!(queue.front(), None);
    }

    #[test]
    fn a_stale_key_does_not_remove_the_slot_s_next_occupant() {
        let mut queue = WaitQueue::default();
        let old = queue.push_back("first");
        assert_eq!(queue.pop_front(), Some("first"));
        let new = queue.push_back("second");
        assert_eq!(old.index, new.index, "the slot was reused");
        assert_eq!(queue.remove(old), None);
        assert_eq!(queue.remove(new), Some("second"));
    }

    #[test]
    fn keys_from_before_a_shrink_match_nothing_after_it() {
        let mut queue = WaitQueue::default();
        let keys: Vec<QueueKey> = (0..100).map(|value| queue.push_back(value)).collect();
        while queue.pop_front().is_some() {}
        let fresh = queue.push_back(1000);
        for key in keys {
            assert_eq!(queue.remove(key), None);
        }
        assert_eq!(queue.remove(fresh), Some(1000));
    }

    #[test]
    fn remove_where_keeps_the_other_entries_and_their_keys() {
        let mut queue = WaitQueue::default();
        let keys: Vec<QueueKey> = (0..10).map(|value| queue.push_back(value)).collect();
        let removed = queue.remove_where(|value| value % 3 == 0);
        assert_eq!(removed.into_vec(), vec![0, 3, 6, 9]);
        assert_eq!(queue.len(), 6);
        assert_eq!(
            queue.remove(keys[4]),
            Some(4),
            "kept entries keep their keys"
        );
        assert_eq!(queue.remove(keys[3]), None);
        assert_eq!(queue.take_all().into_vec(), vec![1, 2, 5, 7, 8]);
        let _ = queue.push_back(1);
        assert_eq!(queue.remove_where(|_| true).into_vec(), vec![1]);
        assert!(queue.is_empty());
    }

    #[test]
    fn keys_survive_packing() {
        let mut queue = WaitQueue::default();
        queue.push_back(1);
        let key = queue.push_back(2);
        assert_eq!(QueueKey::unpack(key.pack()), Some(key));
        assert_eq!(QueueKey::unpack(QueueKey::NONE), None);
    }

    #[test]
    fn removal_is_constant_time_in_a_large_queue() {
        let mut queue = WaitQueue::default();
        let keys: Vec<QueueKey> = (0..200_000).map(|value| queue.push_back(value)).collect();
        // Removing in reverse, from the back, and every other one: all O(1), whatever the order.
        for key in keys.iter().rev().step_by(2) {
            assert!(queue.remove(*key).is_some());
        }
        assert_eq!(queue.len(), 100_000);
        assert_eq!(queue.pop_front(), Some(0));
        for key in keys.iter().skip(2).step_by(2) {
            assert!(queue.remove(*key).is_some());
        }
        assert!(queue.is_empty());
        assert_eq!(queue.pop_front(), None);
    }
}
