//! The memory budget of work no other limit bounds: the binary's global allocator, which counts
//! what a thread allocates while a budget is set on it and stops the process past the budget.
//!
//! A template's values grow inside minijinja (`{% set s = s ~ s %}` doubles a string in one
//! instruction), where neither its fuel nor the size of its output sees them, and an allocator
//! cannot make the interpreter return an error. So a render past its budget ends the process at
//! once, with a message naming the template and the limit, after removing the staging
//! directories of [`crate::output`]: exit status 2, nothing on stdout, nothing half-written.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting the bytes of threads with a budget.
pub struct Counting;

thread_local! {
    /// Bytes allocated less bytes freed on this thread since its budget was set.
    static USED: Cell<isize> = const { Cell::new(0) };
    /// The budget in bytes; 0 when none is set (nothing is counted).
    static LIMIT: Cell<usize> = const { Cell::new(0) };
    /// What to say when the budget is exceeded: a message owned by [`within`]'s frame.
    static MESSAGE: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}

/// Runs `work` with at most `limit` bytes allocated (and not yet freed) on this thread; past
/// that the process stops, saying `what` needs more than the limit. Without [`Counting`] as the
/// global allocator (the library's tests) the budget is not enforced.
pub fn within<T>(limit: usize, what: &str, work: impl FnOnce() -> T) -> T {
    let message = format!(
        "error: {what} needs more than {} MiB of memory, the limit of one render (a template \
         whose values grow without bound); nothing was written\n",
        limit >> 20
    );
    let _budget = Budget::set(limit, &message);
    work()
}

/// A thread's budget while it lives; what was set before comes back when it is dropped, also
/// when the work panics (the message it points to is about to be freed).
struct Budget {
    saved: (isize, usize, (*const u8, usize)),
}

impl Budget {
    fn set(limit: usize, message: &str) -> Budget {
        let saved = (USED.get(), LIMIT.get(), MESSAGE.get());
        USED.set(0);
        MESSAGE.set((message.as_ptr(), message.len()));
        LIMIT.set(limit);
        Budget { saved }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        let (used, limit, message) = self.saved;
        LIMIT.set(limit);
        USED.set(used);
        MESSAGE.set(message);
    }
}

/// Counts `bytes` (negative when freed) against this thread's budget.
fn charge(bytes: isize) {
    let limit = LIMIT.get();
    if limit == 0 {
        return;
    }
    let used = USED.get().saturating_add(bytes);
    USED.set(used);
    if used > limit as isize {
        over_budget();
    }
}

/// Says what exceeded its budget, removes what is staged and ends the process.
#[cold]
fn over_budget() -> ! {
    // From here on nothing is counted: the clean-up allocates.
    LIMIT.set(0);
    let (text, len) = MESSAGE.get();
    if !text.is_null() {
        // SAFETY: the message lives in `within`'s frame, which is below this one on the stack,
        // and is not changed while its budget is set.
        let message = unsafe { std::slice::from_raw_parts(text, len) };
        write_stderr(message);
    }
    crate::output::remove_staged();
    // SAFETY: `_exit` ends the process without running anything more of it.
    unsafe { libc::_exit(2) }
}

/// Writes `bytes` to stderr without the lock another thread may hold.
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length are those of a live slice.
        let written = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if written <= 0 {
            return;
        }
        bytes = &bytes[written as usize..];
    }
}

// SAFETY: every call is passed to `System` unchanged; counting only reads and writes this
// thread's cells, which need no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size() as isize);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size() as isize);
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        charge(-(layout.size() as isize));
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(new_size as isize - layout.size() as isize);
        System.realloc(ptr, layout, new_size)
    }
}
