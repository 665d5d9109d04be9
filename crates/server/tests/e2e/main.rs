//! End-to-end tests: the real `kvasir-server` binary, driven by real clients.
//! One test binary for all of them (faster to build and link); one module per area.

mod harness;
mod peer;

mod aof;
mod atomicity;
mod basics;
mod bits;
mod client_eviction;
mod crash;
mod eviction;
mod expire;
mod geo;
mod hashes;
mod hyperloglog;
mod introspection;
mod keys;
mod lists;
mod lists_blocking;
mod persistence;
mod persistence_snapshot;
mod protocol;
mod pubsub;
mod replication;
mod scripting;
mod server;
mod sets;
mod streams;
mod strings;
mod transactions;
mod zsets;
