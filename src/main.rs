//! The `resc` command; see [`resc::cli`].

fn main() {
    // Rust ignores SIGPIPE, so writing to a closed pipe (`resc graph … | head`) fails and
    // `println!` panics. A command-line tool should end quietly instead, as `cat` does.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of a signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(resc::cli::run(std::env::args_os()));
}
