//! Handing freed task memory back to the operating system after a run.
//!
//! Tasks are Rust allocations made on whichever worker spawned them. glibc gives each thread its
//! own malloc arena and keeps freed memory in it, so after a run of a million tasks every worker
//! that spawned some keeps ~150 MB of free heap for itself. `malloc_trim(0)` at the end of each
//! run returns that memory (it walks every arena). It costs about a millisecond.

#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub(crate) fn release_free_memory() {
    extern "C" {
        fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    // SAFETY: malloc_trim only inspects and shrinks the allocator's own free lists; it has no
    // preconditions and is thread-safe (each arena is locked while trimmed).
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn release_free_memory() {}
