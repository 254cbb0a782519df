//! The `am_send` slot: how an awaitable answers `await` without a `StopIteration`.
//!
//! An `await` (and `yield from`) drives its awaitable with the C API's `PyIter_Send`, which uses
//! the type's `tp_as_async->am_send` when there is one. Without it, an await that ends with a
//! value (`value = await waiter`) calls the type's `send` method, which has to *raise*
//! `StopIteration(value)` for the interpreter to catch and unpack again: by far the largest cost
//! of an await that resumes with a value. With `am_send` the value comes back as a plain
//! `PYGEN_RETURN`, no exception at all.
//!
//! Who calls the slot: CPython 3.10 and 3.11's `SEND` opcode (every `await` and `yield from`), and
//! `PyIter_Send` on every version (tonio's driver uses it on a task that is a bare Waiter).
//! From 3.12 on the `SEND` opcode calls `tp_iternext`/`send` itself for anything but a native
//! generator or coroutine, so there the slot changes nothing for `await`; the `send`/`__next__`
//! methods stay, and give the same answers.
//!
//! PyO3 has no attribute for `am_send`, so `install` writes it into the heap type PyO3 created:
//! a heap type's `tp_as_async` points at the `PyAsyncMethods` embedded in its own allocation,
//! which nobody else shares.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::{Borrowed, PyClass};

/// What one step of an awaitable did (the three `PySendResult`s).
pub(crate) enum Sent<'py> {
    /// Suspend the awaiting coroutine, handing this object to whoever drives it.
    Yield(Bound<'py, PyAny>),
    /// The await is over: it evaluates to this value.
    Return(Bound<'py, PyAny>),
    /// The await raises this.
    Raise(PyErr),
}

/// A pyclass that steps its own await (`__await__` returns the object itself).
pub(crate) trait SendSlot: PyClass {
    /// The object's answer to `send(value)` (`None` for `__next__`), as its methods give it.
    fn send_step<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>) -> Sent<'py>;

    /// The answer to the `am_send` slot: `send_step` unless the type does more there. Only
    /// `await`/`yield from` (and `PyIter_Send`) call the slot, never `list()` or `next()`, so a
    /// step here may complete the await (`Waiter::complete_inline`) where a plain iteration of
    /// the object must not.
    fn await_step<'py>(slf: &Bound<'py, Self>, value: &Bound<'py, PyAny>) -> Sent<'py> {
        Self::send_step(slf, value)
    }
}

/// `StopIteration(value)`, for a `send` method that ends an await with `value` (where the
/// interpreter does not use `am_send`, CPython 3.12+): the instance made by one vectorcall of the
/// type, without the argument tuple and boxed closure of PyO3's lazy `PyErr`. Any value works,
/// a tuple or an exception included (`StopIteration(x).value is x`).
pub(crate) fn stop_iteration(value: &Bound<'_, PyAny>) -> PyErr {
    let py = value.py();
    // SAFETY: attached (we hold a `Bound`); `PyExc_StopIteration` is a live static type and
    // `value` a live reference; the call returns a new reference or NULL with an error set.
    let made = unsafe {
        let instance = ffi::PyObject_CallOneArg(ffi::PyExc_StopIteration, value.as_ptr());
        Bound::from_owned_ptr_or_err(py, instance)
    };
    match made {
        Ok(instance) => PyErr::from_value(instance),
        Err(err) => err,
    }
}

/// The `am_send` slot of `T`.
unsafe extern "C" fn am_send<T: SendSlot>(
    slf: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    result: *mut *mut ffi::PyObject,
) -> ffi::PySendResult {
    // SAFETY: CPython calls the slot from a thread attached to the interpreter, with `slf` an
    // instance of the type it was installed on (`T`), `value` a live borrowed reference and
    // `result` a valid out-pointer.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `result` is a valid out-pointer (above). NULL until a result is known, as CPython's
    // own generators do: 3.11's SEND asserts it is NULL after an error (debug builds).
    unsafe { *result = std::ptr::null_mut() };
    // SAFETY: as above, both pointers are live borrowed references for the call's duration.
    let (slf, value) = unsafe { (Borrowed::from_ptr(py, slf), Borrowed::from_ptr(py, value)) };
    // SAFETY: the slot is installed only on `T`'s type object (see `install`), and the type is
    // final (a pyclass without `subclass`), so `slf` is a `T`.
    let slf = unsafe { slf.cast_unchecked::<T>() };
    let step = catch_unwind(AssertUnwindSafe(|| T::await_step(&slf, &value)));
    let (code, out) = match step {
        Ok(Sent::Yield(out)) => (ffi::PySendResult::PYGEN_NEXT, out),
        Ok(Sent::Return(out)) => (ffi::PySendResult::PYGEN_RETURN, out),
        Ok(Sent::Raise(err)) => {
            err.restore(py);
            return ffi::PySendResult::PYGEN_ERROR;
        }
        Err(_) => {
            PyRuntimeError::new_err("tonio internal error in an await (see the panic message)")
                .restore(py);
            return ffi::PySendResult::PYGEN_ERROR;
        }
    };
    // SAFETY: `result` is a valid out-pointer (see above); on NEXT and RETURN it receives a new
    // (owned) reference, which `into_ptr` hands over.
    unsafe { *result = out.into_ptr() };
    code
}

/// The `tp_iternext` slot of `T`: `send_step(None)`, for `__next__` and for the `await` of
/// CPython 3.12+ (whose first step of an await calls it), without PyO3's method trampoline.
unsafe extern "C" fn iternext<T: SendSlot>(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the slot from a thread attached to the interpreter, with `slf` a live
    // borrowed reference to an instance of the type it was installed on (`T`, a final type).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: as above.
    let slf = unsafe { Borrowed::from_ptr(py, slf).cast_unchecked::<T>() };
    let none = py.None().into_bound(py);
    match catch_unwind(AssertUnwindSafe(|| T::send_step(&slf, &none))) {
        Ok(Sent::Yield(out)) => out.into_ptr(),
        // The iterator is exhausted: NULL with no exception set when the value is None; any
        // other value (an await that completed in its first step, `Waiter::complete_inline`)
        // rides on a StopIteration, which the `SEND` opcode unpacks.
        Ok(Sent::Return(value)) if value.is_none() => std::ptr::null_mut(),
        Ok(Sent::Return(value)) => {
            stop_iteration(&value).restore(py);
            std::ptr::null_mut()
        }
        Ok(Sent::Raise(err)) => {
            err.restore(py);
            std::ptr::null_mut()
        }
        Err(_) => {
            PyRuntimeError::new_err("tonio internal error in an await (see the panic message)")
                .restore(py);
            std::ptr::null_mut()
        }
    }
}

/// The `am_await` slot of a type whose `__await__` returns the object itself.
unsafe extern "C" fn await_itself(slf: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: CPython calls the slot with a live borrowed reference; the result is a new one.
    unsafe { ffi::Py_IncRef(slf) };
    slf
}

/// Gives `T`'s type object the `am_send` slot, and `tp_iternext`/`am_await` slots that skip
/// PyO3's method trampolines (the `__next__`/`__await__` methods stay as PyO3 made them). `T`'s
/// `__await__` must return the object itself. Call once, when the module is initialized (before
/// any instance is awaited).
pub(crate) fn install<T: SendSlot>(py: Python<'_>) -> PyResult<()> {
    let ty = py.get_type::<T>();
    let ty = ty.as_type_ptr();
    // SAFETY: `ty` is the live type object PyO3 created for `T` (a heap type, kept alive by the
    // module's reference). A heap type's `tp_as_async` points at the `PyAsyncMethods` embedded in
    // its own `PyHeapTypeObject`, so the write changes this type only; it happens during module
    // initialization, before any instance exists to be awaited concurrently. `PyType_Modified`
    // then drops whatever the interpreter cached about the type.
    unsafe {
        let methods = (*ty).tp_as_async;
        if methods.is_null() {
            return Err(PyRuntimeError::new_err(
                "tonio internal error: a pyclass type without async methods",
            ));
        }
        (*methods).am_send = Some(am_send::<T>);
        (*methods).am_await = Some(await_itself);
        (*ty).tp_iternext = Some(iternext::<T>);
        ffi::PyType_Modified(ty);
    }
    Ok(())
}
