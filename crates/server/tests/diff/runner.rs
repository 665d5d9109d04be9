//! Runs generated command sequences against both servers and compares every reply, then the
//! whole keyspace. One pair of servers per family test; each case starts from FLUSHALL on
//! fresh connections.
//!
//! Knobs (environment):
//! - `PROPTEST_CASES`: sequences per family (default [`DEFAULT_CASES`]).
//! - `KVASIR_DIFF_MAX_LEN`: longest sequence (default [`DEFAULT_MAX_LEN`]).
//! - `PROPTEST_RNG_SEED`: replay a run (the seed is random otherwise).
//! - `KVASIR_DIFF_SURVEY=1`: triage instead of test: run every case to the end without
//!   shrinking, and print, per command name, how often and how it differed. Still fails if
//!   anything differed.
//! - `KVASIR_DIFF_SUBJECT=/path/to/server`: test that server instead of kvasir-server (see
//!   peer.rs); `KVASIR_DIFF_SUBJECT=$(which redis-server)` is the harness's self-test.

use crate::compare;
use crate::conn::{show_command, show_reply, Conn};
use crate::peer::{find_peer, Kind, Proc};
use crate::random;
use crate::vocab::{Cmd, DBS, KEYS};
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

pub const DEFAULT_CASES: u32 = 256;
pub const DEFAULT_MAX_LEN: usize = 24;

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Pair {
    kvasir: Proc,
    redis: Proc,
    /// How often each known difference was normalised (reported at the end).
    normalised: BTreeMap<&'static str, u64>,
    commands: u64,
}

/// Differences seen in survey mode: per command name, the count and the first example.
type Survey = BTreeMap<String, (u64, String)>;

impl Pair {
    fn start(redis_bin: &Path) -> Pair {
        Pair {
            kvasir: Proc::start(Kind::Kvasir, None),
            redis: Proc::start(Kind::Redis, Some(redis_bin)),
            normalised: BTreeMap::new(),
            commands: 0,
        }
    }

    fn died(&mut self, error: String) -> String {
        let mut msg = error;
        for p in [&mut self.kvasir, &mut self.redis] {
            if let Some(status) = p.exited() {
                msg.push_str(&format!("\n    {}-server DIED: {status}", p.kind.label()));
            }
        }
        msg
    }

    /// Sends `argv` to both and compares. `Err` carries the report.
    fn both(&mut self, k: &mut Conn, r: &mut Conn, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        if random::is_randomized(argv) {
            return self.both_random(k, r, argv);
        }
        let (peer_argv, respelled) = compare::peer_request(argv);
        let kr = k.call(argv).map_err(|e| self.died(e))?;
        let rr = r.call(&peer_argv).map_err(|e| self.died(e))?;
        self.commands += 1;
        if let Some(id) = respelled {
            *self.normalised.entry(id).or_default() += 1;
        }
        match compare::replies(argv, &kr, &rr) {
            Ok(applied) => {
                for id in applied {
                    *self.normalised.entry(id).or_default() += 1;
                }
                Ok(kr)
            }
            Err(e) => Err(e),
        }
    }

    /// A command with a random reply: compared by shape and membership against the
    /// collection as it was, then the peer is given kvasir's state (see random.rs).
    fn both_random(&mut self, k: &mut Conn, r: &mut Conn, argv: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let before = random::snapshot(k, &argv[1]).map_err(|e| self.died(e))?;
        let (peer_argv, _) = compare::peer_request(argv);
        let kr = k.call(argv).map_err(|e| self.died(e))?;
        let rr = r.call(&peer_argv).map_err(|e| self.died(e))?;
        self.commands += 1;
        if random::check(argv, &before, &kr, &rr).is_err() {
            // Errors and other exact replies go through the usual comparison (known
            // differences included); it reports the mismatch if there is one.
            compare::replies(argv, &kr, &rr).map_err(|e| {
                format!("{e}\n    (random reply check: {})", random::check(argv, &before, &kr, &rr).unwrap_err())
            })?;
        }
        random::resync(r, argv, &kr, &rr).map_err(|e| self.died(e))?;
        Ok(kr)
    }

    fn run_case(&mut self, seq: &[Cmd], mut survey: Option<&mut Survey>) -> Result<(), String> {
        self.kvasir.restart_if_dead();
        self.redis.restart_if_dead();
        let mut k = self.kvasir.connect();
        let mut r = self.redis.connect();
        self.both(&mut k, &mut r, &[b"FLUSHALL".to_vec()]).map_err(|e| format!("FLUSHALL before the case: {e}"))?;
        let mut transcript = String::new();
        for (i, cmd) in seq.iter().enumerate() {
            match self.both(&mut k, &mut r, &cmd.0) {
                Ok(reply) => transcript.push_str(&format!("    {:>2}> {:?}  ->  {}\n", i + 1, cmd, show_reply(&reply))),
                Err(e) => {
                    let report = format!(
                        "command #{} differs: {:?}\n    {e}\n  replies before it (kvasir's, equal to redis'):\n{transcript}",
                        i + 1,
                        cmd
                    );
                    match survey.as_deref_mut() {
                        Some(s) => {
                            record(s, &String::from_utf8_lossy(&cmd.0[0]).to_ascii_uppercase(), &e, cmd);
                            if e.contains("DIED") || e.contains("connection closed") {
                                return Err(report);
                            }
                        }
                        None => return Err(report),
                    }
                }
            }
        }
        self.check_state(&mut k, &mut r, survey).map_err(|e| {
            format!("state after the sequence differs: {e}\n  replies during the sequence (kvasir's):\n{transcript}")
        })
    }

    /// Compares the keyspace of every database the generators can reach: DBSIZE, KEYS *
    /// (as a set), and TYPE / GET / LRANGE / PTTL / HGETALL / SMEMBERS / XRANGE of every key.
    fn check_state(&mut self, k: &mut Conn, r: &mut Conn, mut survey: Option<&mut Survey>) -> Result<(), String> {
        for db in DBS {
            let db_arg = db.to_string().into_bytes();
            let mut probes: Vec<Vec<Vec<u8>>> =
                vec![vec![b"SELECT".to_vec(), db_arg.clone()], vec![b"DBSIZE".to_vec()]];
            let mut keys: Vec<Vec<u8>> = KEYS.iter().map(|k| k.to_vec()).collect();
            let kr = k.call(&[b"KEYS".to_vec(), b"*".to_vec()]).map_err(|e| self.died(e))?;
            let rr = r.call(&[b"KEYS".to_vec(), b"*".to_vec()]).map_err(|e| self.died(e))?;
            let (kl, rl) = (sorted_array(&kr), sorted_array(&rr));
            if kl.is_none() || kl != rl {
                let e = format!("db {db}: KEYS *\n    kvasir: {}\n    redis:  {}", show_reply(&kr), show_reply(&rr));
                match survey.as_deref_mut() {
                    Some(s) => record(s, "state:KEYS", &e, &Cmd(vec![b"KEYS".to_vec(), b"*".to_vec()])),
                    None => return Err(e),
                }
            }
            for key in kl.into_iter().chain(rl).flatten() {
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            for key in &keys {
                probes.push(vec![b"TYPE".to_vec(), key.clone()]);
                probes.push(vec![b"GET".to_vec(), key.clone()]);
                probes.push(vec![b"LRANGE".to_vec(), key.clone(), b"0".to_vec(), b"-1".to_vec()]);
                probes.push(vec![b"PTTL".to_vec(), key.clone()]);
                // Collections' contents, compared in any order.
                probes.push(vec![b"HGETALL".to_vec(), key.clone()]);
                probes.push(vec![b"SMEMBERS".to_vec(), key.clone()]);
                probes.push(vec![b"XRANGE".to_vec(), key.clone(), b"-".to_vec(), b"+".to_vec()]);
            }
            // SELECT first, on both, before the probes of this database.
            for argv in probes {
                let is_select = argv[0] == b"SELECT";
                let kr = k.call(&argv).map_err(|e| self.died(e))?;
                let rr = r.call(&compare::peer_request(&argv).0).map_err(|e| self.died(e))?;
                let same = match argv[0].as_slice() {
                    b"PTTL" => compare::pttl_close(&kr, &rr),
                    b"HGETALL" | b"SMEMBERS" => compare::replies(&argv, &kr, &rr).is_ok(),
                    _ => kr == rr,
                };
                if !same {
                    let e = format!(
                        "db {db}: {}\n    kvasir: {}\n    redis:  {}",
                        show_command(&argv),
                        show_reply(&kr),
                        show_reply(&rr)
                    );
                    match survey.as_deref_mut() {
                        Some(s) => record(s, &format!("state:{}", String::from_utf8_lossy(&argv[0])), &e, &Cmd(argv)),
                        None => return Err(e),
                    }
                    if is_select {
                        // The other probes would read another database: meaningless.
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

fn record(s: &mut Survey, name: &str, e: &str, cmd: &Cmd) {
    let entry =
        s.entry(name.to_string()).or_insert_with(|| (0, format!("{cmd:?}\n      {}", e.replace('\n', "\n      "))));
    entry.0 += 1;
}

/// The elements of an array reply, sorted; `None` if it is not an array of bulk strings.
fn sorted_array(raw: &[u8]) -> Option<Vec<Vec<u8>>> {
    match resp::Value::parse(raw) {
        Ok((resp::Value::Array(items) | resp::Value::Set(items), _)) => {
            let mut v: Vec<Vec<u8>> = items
                .into_iter()
                .map(|i| match i {
                    resp::Value::Bulk(b) => Some(b),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            v.sort();
            Some(v)
        }
        _ => None,
    }
}

/// The test body of every family: random sequences of `commands`, compared reply by reply.
pub fn run_family(family: &str, commands: BoxedStrategy<Cmd>) {
    let Some(redis_bin) = find_peer(family) else { return };
    let cases: u32 = env_num("PROPTEST_CASES", DEFAULT_CASES);
    let max_len: usize = env_num("KVASIR_DIFF_MAX_LEN", DEFAULT_MAX_LEN);
    let sequences = proptest::collection::vec(commands, 1..=max_len);
    let pair = RefCell::new(Pair::start(&redis_bin));
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);

    if std::env::var("KVASIR_DIFF_SURVEY").is_ok_and(|v| v == "1") {
        let mut survey = Survey::new();
        for _ in 0..cases {
            let seq = sequences.new_tree(&mut runner).expect("generate").current();
            if let Err(e) = pair.borrow_mut().run_case(&seq, Some(&mut survey)) {
                record(&mut survey, "CONNECTION-LOST", &e, &seq[0]);
            }
        }
        let p = pair.borrow();
        eprintln!("\n== {family}: survey of {} commands in {cases} sequences", p.commands);
        for (name, (n, example)) in &survey {
            eprintln!("  {name}: {n} differing\n    e.g. {example}");
        }
        assert!(survey.is_empty(), "{family}: {} command kinds differ (survey above)", survey.len());
        return;
    }

    let result = runner.run(&sequences, |seq| pair.borrow_mut().run_case(&seq, None).map_err(TestCaseError::fail));
    let p = pair.borrow();
    let restarts = p.kvasir.restarts + p.redis.restarts;
    match result {
        Ok(()) => {
            eprintln!("{family}: {cases} sequences, {} commands, identical replies.", p.commands);
            for (id, n) in &p.normalised {
                eprintln!("  normalised {n} times: {}", crate::known_differences::describe(id));
            }
            assert_eq!(restarts, 0, "a server died during the run");
        }
        Err(TestError::Fail(why, seq)) => {
            let listing: String = seq.iter().map(|c| format!("    {c:?}\n")).collect();
            panic!(
                "\n{family}: kvasir and redis-server differ.\nMinimal failing sequence ({} commands, \
                 after FLUSHALL on a fresh connection):\n{listing}\n{why}",
                seq.len()
            );
        }
        Err(TestError::Abort(why)) => panic!("{family}: aborted: {why}"),
    }
}
