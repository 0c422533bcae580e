//! Health checkers for real servers and their scheduler.
