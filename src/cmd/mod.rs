//! One module per `lvsd` subcommand.

pub mod ipvs;
