// The loader and the rules make millions of small, short-lived allocations on a big host;
// mimalloc serves them faster than glibc's malloc, and returns memory as readily.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // mimalloc asks for transparent huge pages, which on a big host costs ~35 MB more
    // peak RSS for ~0.1 s less: wpstack runs beside the sites it checks, so memory
    // wins. (Linux only; elsewhere, or refused, nothing changes.)
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    // Freed memory goes back to the system after 1 ms, not mimalloc's 10: `check --diff`
    // frees a whole loaded stack before it loads the next, and 10 ms kept both resident
    // (2,000 sites: 161 -> 129 MB). At once (0) cost ~0.07 s of page faults on `check`;
    // 1 ms costs nothing measurable. 15 is `mi_option_purge_delay` in mimalloc 2 and 3
    // (the -sys crate names no constant).
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an option is allowed at any time; the value is a plain integer.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1) };
    std::process::exit(wpstack::cli::main());
}
