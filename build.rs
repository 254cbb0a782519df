//! Exposes PyO3's interpreter cfgs (`Py_3_14`, `Py_GIL_DISABLED`, ...) to this crate: the few
//! places that depend on the interpreter's version (reading a generator's frame state) need them.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    pyo3_build_config::print_expected_cfgs();
}
