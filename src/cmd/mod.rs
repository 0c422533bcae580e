//! One module per `lvsd` subcommand.

pub mod genhash;
pub mod ipvs;
