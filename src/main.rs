fn main() -> std::process::ExitCode {
    matrix::cli::main()
}
