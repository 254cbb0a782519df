//! tonio's native core (`tonio._tonio`): a registry of what each area exposes to Python.
//!
//! Start at `task/driver.rs` (how a task is driven), `wait/` (the wait sources, Event and Waiter),
//! `scheduler/` (queues and workers) and `reactor/` (the main thread's poll loop);
//! `docs/architecture.md` draws the whole picture.

use pyo3::prelude::*;

mod blocking;
mod errors;
mod io;
mod py;
mod reactor;
mod runtime;
mod scheduler;
mod scope;
mod signals;
mod sync;
mod task;
mod time;
mod wait;

#[pymodule(gil_used = false)]
fn _tonio(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    // The package version has one source, Cargo.toml (maturin gives it to the wheel too); reading
    // it here costs nothing, where importlib.metadata would more than double `import tonio`.
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<wait::Event>()?;
    module.add_class::<wait::Waiter>()?;
    py::install_send_slot::<wait::Waiter>(py)?;
    module.add_class::<task::Spawned>()?;
    module.add_class::<task::Spawn>()?;
    module.add_class::<runtime::Runtime>()?;
    module.add_class::<scope::Scope>()?;
    module.add_class::<io::ScheduledIO>()?;
    module.add_class::<signals::SignalReceiver>()?;
    module.add_function(wrap_pyfunction!(signals::signal_receiver, module)?)?;
    module.add_function(wrap_pyfunction!(io::register, module)?)?;
    module.add("spawn", task::Spawn)?;
    module.add_class::<blocking::SpawnBlocking>()?;
    module.add("spawn_blocking", blocking::SpawnBlocking)?;
    module.add_function(wrap_pyfunction!(blocking::map_blocking, module)?)?;
    module.add_function(wrap_pyfunction!(blocking::block_on, module)?)?;
    module.add_function(wrap_pyfunction!(wait::sleep, module)?)?;
    module.add_function(wrap_pyfunction!(wait::sleep_until, module)?)?;
    module.add_function(wrap_pyfunction!(wait::yield_now, module)?)?;
    module.add_function(wrap_pyfunction!(time::time, module)?)?;
    module.add_function(wrap_pyfunction!(runtime::_runtime_stats, module)?)?;
    module.add_function(wrap_pyfunction!(task::_check_coroutines, module)?)?;
    module.add_function(wrap_pyfunction!(task::_report_unraisable, module)?)?;
    module.add_function(wrap_pyfunction!(wait::_internal_panic_waiter, module)?)?;
    module.add("CancelledError", py.get_type::<errors::CancelledError>())?;
    module.add("WouldBlock", py.get_type::<errors::WouldBlock>())?;
    module.add(
        "BusyResourceError",
        py.get_type::<errors::BusyResourceError>(),
    )?;
    module.add("ResourceBroken", py.get_type::<errors::ResourceBroken>())?;
    module.add(
        "ChannelClosedError",
        py.get_type::<errors::ChannelClosedError>(),
    )?;
    sync::register(module)?;
    Ok(())
}
