//! The descriptors registered with a reactor, by token.
//!
//! A registration gets a slot in a slab and a token that names the slot *and its generation*
//! (`index + FIRST | generation << 32`), so an event still in flight for a descriptor that was
//! deregistered (and whose number, or slot, was reused since) matches nothing: a stale event can
//! never wake the wrong task. Workers register and deregister at any time through mio's
//! `Registry` (never waiting for the reactor); the reactor looks tokens up under the slab's lock,
//! which nobody holds for long and never while polling.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::scheduled_io::IoCore;

/// Tokens below this belong to the reactor itself (its waker, the signal fd).
const FIRST: usize = 2;

struct Slot {
    generation: u32,
    io: Option<Arc<IoCore>>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

#[derive(Default)]
pub(crate) struct IoRegistry {
    slab: Mutex<Slab>,
}

/// A descriptor's place in the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IoToken(Token);

impl IoRegistry {
    fn slab(&self) -> MutexGuard<'_, Slab> {
        self.slab
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Registers `fd` for readable and writable events (edge-triggered).
    pub(crate) fn register(
        &self,
        registry: &Registry,
        fd: i32,
    ) -> io::Result<(IoToken, Arc<IoCore>)> {
        let io = Arc::new(IoCore::new(fd));
        let token = {
            let mut slab = self.slab();
            let index = match slab.free.pop() {
                Some(index) => index,
                None => {
                    slab.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    slab.slots.len() - 1
                }
            };
            let slot = &mut slab.slots[index];
            slot.io = Some(Arc::clone(&io));
            let token = Token(((slot.generation as usize) << 32) | (index + FIRST));
            slab.live += 1;
            token
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(err) = registry.register(&mut SourceFd(&fd), token, interest) {
            self.remove(IoToken(token));
            return Err(err);
        }
        Ok((IoToken(token), io))
    }

    /// Deregisters the descriptor (which must still be open) and frees its slot.
    pub(crate) fn deregister(&self, registry: &Registry, token: IoToken, fd: i32) {
        // The descriptor may already be gone from epoll (closed elsewhere): nothing to undo then.
        let _ = registry.deregister(&mut SourceFd(&fd));
        self.remove(token);
    }

    /// Frees the slot of a descriptor whose poll is gone (the runtime closed).
    pub(crate) fn forget(&self, token: IoToken) {
        self.remove(token);
    }

    fn remove(&self, token: IoToken) {
        let removed = {
            let mut slab = self.slab();
            let (index, generation) = split(token.0);
            match slab.slots.get_mut(index) {
                Some(slot) if slot.generation == generation && slot.io.is_some() => {
                    slot.generation = slot.generation.wrapping_add(1);
                    let io = slot.io.take();
                    slab.free.push(index);
                    slab.live -= 1;
                    io
                }
                _ => None,
            }
        };
        drop(removed);
    }

    /// The descriptor an event's token names, if it is still registered.
    pub(crate) fn lookup(&self, token: Token) -> Option<Arc<IoCore>> {
        let (index, generation) = split(token);
        let slab = self.slab();
        let slot = slab.slots.get(index)?;
        (slot.generation == generation)
            .then(|| slot.io.clone())
            .flatten()
    }

    /// Registered descriptors (for tests and statistics).
    pub(crate) fn live(&self) -> usize {
        self.slab().live
    }
}

/// A token's slot index and generation; reactor-owned tokens map to no slot.
fn split(token: Token) -> (usize, u32) {
    let index = (token.0 & 0xffff_ffff).wrapping_sub(FIRST);
    (index, (token.0 >> 32) as u32)
}
