fn main() {
    std::process::exit(wpstack::cli::main());
}
