use clap::Parser;

fn main() {
    let _cli = lvsd::cli::Cli::parse();
}
