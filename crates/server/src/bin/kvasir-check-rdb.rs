//! `kvasir-check-rdb`: checks an RDB file as `valkey-check-rdb` does. The file is parsed by
//! the server's own loader (every record, every value decoded and validated deeply, as with
//! `sanitize-dump-payload yes`, and the CRC-64 footer checked), but nothing is kept. A damaged
//! file is reported with the byte offset where parsing stopped and the last key read before
//! it; the exit code is 0 for a sound file and 1 otherwise.
//!
//! Usage: kvasir-check-rdb <rdb-file>

use engine::rdb::file::{Item, LoadOptions};
use std::io::BufReader;

/// What the check saw, for the summary (Valkey's `[info]` lines).
#[derive(Default)]
struct Seen {
    keys: u64,
    expires: u64,
    already_expired: u64,
    functions: u64,
    /// The last key read whole, and its database.
    last_key: Option<(usize, Vec<u8>)>,
}

impl Seen {
    fn summary(&self) {
        println!("[info] {} keys read", self.keys);
        println!("[info] {} expires", self.expires);
        println!("[info] {} already expired", self.already_expired);
        if self.functions > 0 {
            println!("[info] {} function libraries", self.functions);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match args.as_slice() {
        [v] if v == "-v" || v == "--version" => {
            println!("kvasir-check-rdb {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        [f] => f.clone(),
        _ => {
            eprintln!("Usage: kvasir-check-rdb <rdb-file-name>");
            std::process::exit(1);
        }
    };
    println!("[offset 0] Checking RDB file {file}");
    let f = match std::fs::File::open(&file) {
        Ok(f) => f,
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset 0] Cannot open file {file}: {e}");
            std::process::exit(1);
        }
    };
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let opts = LoadOptions {
        limits: engine::rdb::Limits::from_config(&engine::config::Config::defaults().hot),
        databases: usize::MAX,
        drop_expired_before: None,
        verify_checksum: true,
    };
    let now = engine::util::now_ms();
    let mut seen = Seen::default();
    let mut notes = Vec::new();
    let progress = std::sync::atomic::AtomicU64::new(0);
    let result = engine::rdb::file::load(
        BufReader::with_capacity(1 << 20, f),
        &opts,
        |item| {
            match item {
                Item::Key(k) => {
                    seen.keys += 1;
                    if let Some(t) = k.expire_at_ms {
                        seen.expires += 1;
                        if t < now {
                            seen.already_expired += 1;
                        }
                    }
                    seen.last_key = Some((k.db, k.key));
                }
                Item::Function(_) => seen.functions += 1,
                Item::Sizes { .. } | Item::UsedMem(_) => {}
            }
            Ok(())
        },
        |_, msg| notes.push(msg),
        &progress,
    );
    match result {
        Ok(report) => {
            for (k, v) in &report.aux {
                println!("[info] AUX FIELD {} = '{}'", String::from_utf8_lossy(k), String::from_utf8_lossy(v));
            }
            for n in &notes {
                println!("[info] {n}");
            }
            if report.version >= 5 {
                if report.checksum_verified {
                    println!("[offset {}] Checksum OK", report.bytes);
                } else {
                    println!(
                        "[offset {}] RDB file was saved with checksum disabled: no check performed.",
                        report.bytes
                    );
                }
            }
            if report.bytes < size {
                println!(
                    "[info] {} bytes after the end of the RDB image (an AOF tail?) were not checked",
                    size - report.bytes
                );
            }
            println!("[offset {}] \\o/ RDB looks OK! \\o/", report.bytes);
            println!("[info] RDB version {}, {} bytes", report.version, report.bytes);
            seen.summary();
        }
        Err(e) => {
            println!("--- RDB ERROR DETECTED ---");
            println!("[offset {}] {}", e.offset, e.reason);
            println!("[additional info] In file {file} ({size} bytes)");
            for n in &notes {
                println!("[additional info] {n}");
            }
            match &seen.last_key {
                Some((db, k)) => {
                    println!("[additional info] Last key read whole: '{}' (db {db})", String::from_utf8_lossy(k))
                }
                None => println!("[additional info] No key was read whole before the error"),
            }
            seen.summary();
            std::process::exit(1);
        }
    }
}
