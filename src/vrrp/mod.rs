//! VRRP (RFC 3768 v2, RFC 5798 v3): packet codec, pure state machine, and I/O at the edge.

pub mod frames;
pub mod packet;
