//! Differential tests: the same random command sequences sent to `kvasir-server` and to
//! Debian's `redis-server` (Redis 7.0), every reply compared byte for byte, then the whole
//! keyspace. Valkey 8 is the specification: the few places where Redis 7.0 answers otherwise
//! are listed, with Valkey source references, in `known_differences.rs` and normalised there.
//!
//! One test per command family (run one with `cargo test -p kvasir-server --test diff
//! strings`); each starts its own pair of servers. Without `redis-server` on PATH the tests
//! print a loud warning and pass, unless `KVASIR_REQUIRE_PEER=1`. Knobs: see runner.rs.

mod compare;
mod conn;
mod coverage;
mod known_differences;
mod peer;
mod random;
mod runner;
mod vocab;

mod bits;
mod connection;
mod expire;
mod geo;
mod hashes;
mod hyperloglog;
mod keys;
mod lists;
mod sets;
mod streams;
mod strings;
mod zsets;
