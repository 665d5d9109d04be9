//! The crash harness: a concurrent write load, SIGKILL in the middle of it, restart, and a
//! check of what survived. With `appendfsync always` no acknowledged write may be lost (over
//! 20 cycles); with `everysec` at most about a second of them. Files cut at a random byte or
//! with a random byte flipped never crash the server: it loads (a truncated tail) or refuses
//! to start naming the file.

use crate::aof::{q, scratch_dir, start_in};
use crate::harness::free_port;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WRITERS: usize = 4;

/// What one writer had acknowledged: the last counter value and versioned key, with the time
/// of each acknowledgement.
#[derive(Default, Clone)]
struct Acked {
    /// (version, acknowledged at)
    versions: Vec<(u64, Instant)>,
}

/// Runs the load against `port` until `stop`; each writer INCRs its counter and SETs a
/// versioned key in one round trip (a pipeline), recording what was acknowledged.
fn load(port: u16, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<Acked>> {
    (0..WRITERS)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acked = Acked::default();
                let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) else { return acked };
                let Ok(mut c) = client.get_connection() else { return acked };
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                let mut version = 0u64;
                while !stop.load(Relaxed) {
                    version += 1;
                    let r: redis::RedisResult<(u64, ())> = redis::pipe()
                        .cmd("INCR")
                        .arg(format!("counter:{w}"))
                        .cmd("SET")
                        .arg(format!("value:{w}"))
                        .arg(version)
                        .query(&mut c);
                    match r {
                        Ok((n, ())) => {
                            assert_eq!(n, version, "writer {w}: counter and version diverged");
                            acked.versions.push((version, Instant::now()));
                        }
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect()
}

/// One kill/restart cycle: returns per writer (last acknowledged version, surviving
/// counter, surviving value, the acknowledgements).
fn cycle(dir: &std::path::Path, args: &[&str], run_ms: u64) -> Vec<(Acked, u64, u64)> {
    let s = start_in(dir, args);
    let mut c = s.conn();
    // Every cycle starts from empty counters (deleted before the load, so the delete is
    // as durable as the writes that follow it).
    for w in 0..WRITERS {
        q::<()>(&mut c, &["DEL", &format!("counter:{w}"), &format!("value:{w}")]);
    }
    drop(c);
    let stop = Arc::new(AtomicBool::new(false));
    let writers = load(s.port, stop.clone());
    std::thread::sleep(Duration::from_millis(run_ms));
    // SIGKILL while the writers are in full flight.
    unsafe { libc::kill(s.pid() as i32, libc::SIGKILL) };
    stop.store(true, Relaxed);
    let acked: Vec<Acked> = writers.into_iter().map(|h| h.join().unwrap()).collect();
    drop(s);
    let s = start_in(dir, args);
    let mut c = s.conn();
    let out = acked
        .into_iter()
        .enumerate()
        .map(|(w, a)| {
            let counter = q::<Option<u64>>(&mut c, &["GET", &format!("counter:{w}")]).unwrap_or(0);
            let value = q::<Option<u64>>(&mut c, &["GET", &format!("value:{w}")]).unwrap_or(0);
            (a, counter, value)
        })
        .collect();
    drop(c);
    drop(s);
    out
}

#[test]
fn appendfsync_always_loses_no_acknowledged_write_over_20_kills() {
    let dir = scratch_dir("crash-always");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let mut total_acked = 0;
    for i in 0..20 {
        for (w, (acked, counter, value)) in cycle(&dir, &args, 150 + (i * 37) % 200).into_iter().enumerate() {
            let last = acked.versions.last().map_or(0, |v| v.0);
            total_acked += acked.versions.len();
            // Everything acknowledged survived; at most the one write in flight went further.
            assert!(counter >= last && counter <= last + 1, "cycle {i} writer {w}: acked {last}, found {counter}");
            assert!(value >= last && value <= last + 1, "cycle {i} writer {w}: acked {last}, value {value}");
        }
    }
    assert!(total_acked > 100, "the load hardly ran ({total_acked} writes)");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn appendfsync_everysec_loses_at_most_about_a_second() {
    let dir = scratch_dir("crash-everysec");
    let args = ["--appendonly", "yes", "--appendfsync", "everysec"];
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let kill_window = 1500;
        for (w, (acked, counter, value)) in cycle(&dir, &args, kill_window).into_iter().enumerate() {
            let last = acked.versions.last().map_or(0, |v| v.0);
            assert!(counter <= last + 1 && value <= last + 1, "writer {w}: more than was sent");
            // INCR and SET are two commands: the kill may fall between them.
            assert!(counter.abs_diff(value) <= 1, "writer {w}: counter {counter}, value {value}");
            let survived = counter.min(value);
            if survived < last {
                // The first lost write was acknowledged this long before the last one (about
                // the kill).
                let first_lost = acked.versions[survived as usize].1;
                let end = acked.versions.last().unwrap().1;
                worst = worst.max(end.duration_since(first_lost));
            }
        }
    }
    assert!(worst <= Duration::from_millis(2000), "lost {worst:?} of acknowledged writes");
    eprintln!("everysec: worst loss window {worst:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts the server on `dir`: `Ok(None)` once it accepts clients (it is then killed),
/// `Ok(Some(code))` if it exits, `Err(signal)` if a signal ended it. Returns the log too.
fn start_or_refuse(dir: &std::path::Path, args: &[&str]) -> (Result<Option<i32>, Option<i32>>, String) {
    let log = dir.join("damage.log");
    let _ = std::fs::remove_file(&log);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kvasir-server"))
        .args(["--port", &free_port().to_string(), "--dir", dir.to_str().unwrap()])
        .args(["--logfile", log.to_str().unwrap()])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(status) = child.try_wait().unwrap() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            use std::os::unix::process::ExitStatusExt;
            return (status.code().map(Some).ok_or(status.signal()), text);
        }
        if text.contains("Ready to accept connections") {
            let _ = child.kill();
            let _ = child.wait();
            return (Ok(None), text);
        }
        assert!(Instant::now() < deadline, "server neither started nor exited: {text}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn random_truncation_or_flipped_byte_never_crashes() {
    let dir = scratch_dir("crash-damage");
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    {
        let s = start_in(&dir, &args);
        let mut c = s.conn();
        for i in 0..200 {
            q::<()>(&mut c, &["SET", &format!("k{i}"), &format!("value-{i}")]);
            if i == 100 {
                q::<String>(&mut c, &["BGREWRITEAOF"]);
                std::thread::sleep(Duration::from_millis(300));
            }
        }
    }
    let aof_dir = dir.join("appendonlydir");
    let names: Vec<String> = std::fs::read_dir(&aof_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".manifest"))
        .collect();
    let originals: Vec<(String, Vec<u8>)> =
        names.iter().map(|n| (n.clone(), std::fs::read(aof_dir.join(n)).unwrap())).collect();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut refused = 0;
    for round in 0..24 {
        for (n, bytes) in &originals {
            std::fs::write(aof_dir.join(n), bytes).unwrap();
        }
        let (name, bytes) = &originals[rng.usize(..originals.len())];
        let mut damaged = bytes.clone();
        let at = rng.usize(..damaged.len());
        let truncate = round % 2 == 0;
        if truncate {
            damaged.truncate(at);
        } else {
            damaged[at] ^= 1 << rng.u8(..8);
        }
        std::fs::write(aof_dir.join(name), &damaged).unwrap();
        // Started with a shutdown right away when it does come up.
        let (code, log) = start_or_refuse(&dir, &["--appendonly", "yes"]);
        if let Err(signal) = code {
            panic!("round {round}: died of signal {signal:?}: {log}");
        }
        let code = code.unwrap();
        assert!(!log.contains("panicked"), "round {round}: {log}");
        assert!(code.is_none() || code == Some(1), "round {round}: exit code {code:?}: {log}");
        if code == Some(1) {
            refused += 1;
            assert!(log.contains(name.as_str()) || log.contains("manifest"), "round {round}: file not named: {log}");
            assert!(
                log.contains("offset") || log.contains("Unknown command") || log.contains("doesn't exist"),
                "round {round}: no offset: {log}"
            );
        }
        if truncate && name.ends_with(".incr.aof") && log.contains("Truncating the AOF") {
            assert!(log.contains(&format!("Truncating the AOF {name} at offset ")), "{log}");
        }
    }
    eprintln!("damaged files: {refused} of 24 refused, the rest loaded");
    let _ = std::fs::remove_dir_all(&dir);
}
