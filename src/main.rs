/// Every allocation is counted against the budget of the work running on its thread, if any:
/// a template render is bounded in memory as it is in instructions (see `matrix::memory`).
#[global_allocator]
static ALLOCATOR: matrix::memory::Counting = matrix::memory::Counting;

fn main() -> std::process::ExitCode {
    matrix::cli::main()
}
