//! One module per `lvsd` subcommand.

pub mod check;
pub mod checks;
pub mod config;
pub mod genhash;
pub mod ipvs;
pub mod run;
pub mod status;
