//! RESP, the protocol Valkey and Redis speak, as a pure library: no sockets, no threads.
//!
//! - [`request`]: the server side of a connection reads *requests*: multibulk arrays of bulk
//!   strings, or inline commands typed into telnet. The parser is incremental and keeps its
//!   place across reads, so a pipeline of thousands of commands or a 500 MB argument arriving
//!   in pieces is scanned once.
//! - [`reply`]: the encoder that command implementations write replies into. It knows whether
//!   the client speaks RESP2 or RESP3 and maps maps/sets/doubles/nulls accordingly.
//! - [`value`]: a complete RESP3 value parser for the client side (tests, tools, scripting).
//!
//! Everything a client controls is bounded by [`request::Limits`], with Valkey's names,
//! defaults and error texts.

mod dtoa;
pub mod number;
pub mod reply;
pub mod request;
pub mod value;

pub use reply::{DeferredLen, Reply};
pub use request::{encode_command, Limits, Parsed, ProtocolError, RequestParser};
pub use value::Value;
