//! The `resc` command; see [`resc::cli`].

fn main() {
    std::process::exit(resc::cli::run(std::env::args_os()));
}
