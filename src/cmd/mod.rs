//! One module per `lvsd` subcommand.
