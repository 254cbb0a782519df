//! The only place raw `pyo3::ffi` is called.
//!
//! Every call into the CPython C API that PyO3 does not wrap safely lives in this module, each behind
//! a safe function whose `// SAFETY:` note names the invariant it relies on. The rest of the crate
//! talks to Python through these functions and PyO3's safe API only.

mod async_exc;
mod attached;
mod context;
mod coroutine;
mod finalizing;
mod handled;
#[cfg(not(Py_GIL_DISABLED))]
mod refcount;
mod send_slot;

pub(crate) use async_exc::{absorb_pending, raise_in, thread_ident};
pub(crate) use attached::attached;
pub(crate) use context::{copy_current_context, new_context, ContextGuard};
pub(crate) use coroutine::{
    already_owned, check_unstarted, expect_coroutine, is_coroutine, life, resume, start, Life, Step,
};
pub(crate) use finalizing::finalizing;
pub(crate) use handled::handling;
#[cfg(not(Py_GIL_DISABLED))]
pub(crate) use refcount::sole_reference;
pub(crate) use send_slot::{install as install_send_slot, stop_iteration, SendSlot, Sent};
