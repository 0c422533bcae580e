//! How the daemon's heap uses memory: glibc's malloc, told to keep one
//! arena and to hand back what it freed after the large passes.

/// Makes every thread allocate from the one main arena, as a
/// single-threaded daemon such as keepalived does. Call before any thread
/// starts. By default glibc gives threads arenas of their own, and the
/// daemon's work moves between threads (tokio's workers, the blocking
/// pool, the checker thread), so each arena kept its own peak and its own
/// fragments: at 10,000 real servers the process held 29–31 MB of RSS
/// with three arenas of 8–11 MB, and 15–18 MB with one (bench/director,
/// measured in the VM). The arena's lock is taken a few thousand times a
/// second at most, far below where it would be contended.
#[allow(unsafe_code)]
pub fn use_one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointer; it sets a glibc tunable, and is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Hands the heap memory freed since back to the kernel, in every arena.
/// glibc keeps each heap near its high-water mark, and reading a
/// configuration or the kernel table peaks far above what the daemon keeps,
/// so without this the daemon's RSS would stay at the peak of its start,
/// its largest reload or its largest table read.
#[allow(unsafe_code)]
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointer and only walks glibc's own
    // arenas under their locks; any thread may call it at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
