//! Kvasir's engine: the keyspace, value types, command table and command families.
//!
//! No sockets and no threads of its own (beyond the lazy-free thread): the server crate feeds
//! it argument vectors and sends back what it writes; tests and benchmarks call it directly.
//! See ARCHITECTURE.md for the map.

pub mod aof;
pub mod blocking;
pub mod client;
pub mod commands;
pub mod config;
pub mod db;
pub mod engine;
pub mod evict;
pub mod exec;
pub mod expire;
pub mod keyspace;
pub mod loading;
pub mod monitor;
pub mod notify;
pub mod persist;
pub mod propagate;
pub mod pubsub;
pub mod rdb;
pub mod replica;
pub mod scripting;
pub mod slowlog;
pub mod snapshot;
pub mod stats;
pub mod tracking;
pub mod types;
pub mod util;
pub mod watch;

pub use engine::Engine;

/// The Valkey version whose behaviour Kvasir implements (reported by HELLO and INFO).
pub const VALKEY_VERSION: &str = "8.0.1";
/// The Redis version Valkey 8 reports for compatibility (`redis_version` in INFO).
pub const REDIS_VERSION: &str = "7.2.4";
/// Kvasir's own version.
pub const KVASIR_VERSION: &str = env!("CARGO_PKG_VERSION");
