//! The `cvxcnn` command line; everything is in [`cli`].

mod cli;

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, except that running out of memory ends the process with one line on
/// stderr and exit code 1 instead of an abort (exit 134 and a core). Problems whose size is known
/// up front are refused before solving (`cvxcnn::memory`); this catches what no estimate covers,
/// such as the solver's own factorization.
struct ExitOnOom;

// SAFETY: every call is forwarded to `System`; the only addition runs when `System` has failed.
unsafe impl GlobalAlloc for ExitOnOom {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by `alloc` above, i.e. by `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            out_of_memory(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            out_of_memory(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: ExitOnOom = ExitOnOom;

/// Writes the message without allocating (the allocator has just failed) and exits with code 1.
fn out_of_memory(size: usize) -> ! {
    use std::io::Write;
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = size;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut err = std::io::stderr();
    let _ = err.write_all(b"cvxcnn: error: out of memory: an allocation of ");
    let _ = err.write_all(&digits[i..]);
    let _ = err.write_all(
        b" bytes failed (the machine's memory or the process's limit, ulimit -v, is exhausted); \
          use fewer gates (arrangements.count) or samples (max_samples), or a machine with more \
          memory; nothing was written\n",
    );
    std::process::exit(1)
}

fn main() -> std::process::ExitCode {
    cli::main()
}
