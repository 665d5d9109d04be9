//! `kvasir-server`: a Valkey-compatible in-memory data store.
//!
//! Startup: command line → configuration (valkey.conf syntax, `--directive value` overrides) →
//! logging → listeners and worker runtime → loading the data (clients that connect meanwhile
//! get `-LOADING`) → cron thread → "Ready to accept connections". Shutdown on SIGTERM/SIGINT or
//! SHUTDOWN: stop accepting, close clients, remove the pid file, exit.

mod conn;
mod cron;
mod host;
mod listener;
mod log;
mod replica;
mod workers;

use engine::config::{flags as cfg_flags, Config};
use engine::Engine;
use log::{notice, warning};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn usage() -> ! {
    eprintln!("Usage: ./kvasir-server [/path/to/kvasir.conf] [options] [-]");
    eprintln!("       ./kvasir-server - (read config from stdin)");
    eprintln!("       ./kvasir-server -v or --version");
    eprintln!("       ./kvasir-server -h or --help");
    eprintln!();
    eprintln!("Examples:");
    eprintln!("       ./kvasir-server (run the server with default conf)");
    eprintln!("       echo 'maxmemory 128mb' | ./kvasir-server -");
    eprintln!("       ./kvasir-server /etc/kvasir/6379.conf");
    eprintln!("       ./kvasir-server --port 7777");
    eprintln!("       ./kvasir-server /etc/mykvasir.conf --loglevel verbose -");
    std::process::exit(1);
}

fn version() -> ! {
    println!(
        "Kvasir server v={} (Valkey {} compatible) malloc=jemalloc bits={}",
        engine::KVASIR_VERSION,
        engine::VALKEY_VERSION,
        usize::BITS
    );
    std::process::exit(0);
}

/// Splits the command line into the config file path (if any) and the option words.
fn parse_args() -> (Option<std::path::PathBuf>, Vec<String>) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-v" | "--version") => version(),
        Some("-h" | "--help") => usage(),
        _ => {}
    }
    let mut file = None;
    let mut rest = &args[..];
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            file = Some(std::path::PathBuf::from(first));
            rest = &args[1..];
        }
    }
    // A trailing lone "-" means "also read config from stdin" (Valkey); only support it as
    // the file argument.
    let options: Vec<String> = rest.to_vec();
    if options.first().is_some_and(|o| !o.starts_with("--")) {
        eprintln!("Invalid option '{}'", options[0]);
        usage();
    }
    (file, options)
}

fn worker_count(config: &Config) -> usize {
    match config.get_i64("worker-threads") {
        n if n > 0 => n as usize,
        _ => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }
}

/// Reports directives set to something Kvasir does not act on yet.
fn report_inert_settings(config: &Config) {
    for (p, value) in config.all() {
        if p.flags & cfg_flags::NOT_ACTED_ON != 0 && value != p.default {
            warning!("'{} {}' is accepted but not acted on by this version of Kvasir", p.name, value);
        }
    }
}

/// Loads the AOF or `dir`/`dbfilename` while clients connected meanwhile get -LOADING; a file
/// that cannot be loaded stops the server (Valkey's "Fatal error loading the DB").
fn load_data(engine: &Engine) {
    use engine::persist::{load_at_startup, StartupLoad};
    notice!("Server initialized");
    if engine.config.get_bool("appendonly") {
        // The AOF has priority over the RDB file, as in Valkey.
        match engine::aof::load_at_startup(engine) {
            Ok(engine::aof::StartupLoad::Missing) => {}
            Ok(engine::aof::StartupLoad::Loaded { keys, secs, .. }) => {
                notice!("DB loaded from append only file: {secs:.3} seconds");
                notice!("AOF: {keys} keys in the dataset");
            }
            Err(_) => {
                warning!("Fatal error loading the DB, check server logs. Exiting.");
                std::process::exit(1);
            }
        }
        if engine::aof::open_at_startup(engine).is_err() {
            std::process::exit(1);
        }
        return;
    }
    match load_at_startup(engine) {
        Ok(StartupLoad::Missing) => {}
        Ok(StartupLoad::Loaded { report, secs }) => {
            notice!("DB loaded from disk: {secs:.3} seconds");
            let mb = report.bytes as f64 / (1024.0 * 1024.0);
            notice!(
                "RDB: {} keys loaded, {mb:.2} MB read at {:.2} MB/s",
                report.keys_loaded,
                if secs > 0.0 { mb / secs } else { 0.0 }
            );
        }
        Err(_) => {
            // The reason (with the file and offset) is already logged.
            warning!("Fatal error loading the DB, check server logs. Exiting.");
            std::process::exit(1);
        }
    }
}

/// Runs the startup load on a thread of its own while this thread goes on accepting clients
/// and watching for signals. A SIGTERM, SIGINT or SHUTDOWN during the load stops the server
/// without saving, as Valkey does (the dataset is half loaded).
fn load_while_serving(
    runtime: &tokio::runtime::Runtime,
    engine: &Arc<Engine>,
    sigterm: &mut tokio::signal::unix::Signal,
    sigint: &mut tokio::signal::unix::Signal,
    shutdown_rx: &mut tokio::sync::watch::Receiver<Option<engine::engine::ShutdownRequest>>,
    pidfile: &str,
) {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let loader = engine.clone();
    let spawned = std::thread::Builder::new().name("kvasir-load".into()).spawn(move || {
        load_data(&loader);
        let _ = done_tx.send(());
    });
    if spawned.is_err() {
        warning!("Can't start the thread that loads the dataset. Exiting.");
        std::process::exit(1);
    }
    let stop = runtime.block_on(async {
        tokio::select! {
            done = done_rx => match done {
                Ok(()) => None,
                // The loader panicked: never serve a partial dataset.
                Err(_) => {
                    warning!("Fatal error loading the DB, check server logs. Exiting.");
                    std::process::exit(1);
                }
            },
            _ = sigterm.recv() => Some(true),
            _ = sigint.recv() => Some(true),
            // SHUTDOWN logged who asked, and did not save.
            _ = shutdown_rx.wait_for(Option::is_some) => Some(false),
        }
    });
    let Some(signalled) = stop else { return };
    if signalled {
        warning!("Received shutdown signal during loading, scheduling shutdown.");
        notice!("User requested shutdown...");
    }
    if !pidfile.is_empty() {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(pidfile);
    }
    warning!("Kvasir is now ready to exit, bye bye...");
    std::process::exit(0);
}

/// The final save a signal asks for (`directive` is `shutdown-on-sigterm` or
/// `shutdown-on-sigint`: `default` saves when save points are set). False if the save failed
/// and the server must keep running.
fn save_on_signal(engine: &Engine, directive: &str) -> bool {
    let flags = engine.config.get(directive);
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    notice!("User requested shutdown...");
    // Nothing is saved while a load (DEBUG RELOAD, a full sync) is in progress: the file
    // would hold half the dataset (Valkey forces NOSAVE).
    let must_save = !engine.persistence.loading.is_active()
        && (has("save") || (!has("nosave") && !engine.config.get("save").is_empty()));
    if !must_save {
        return true;
    }
    notice!("Saving the final RDB snapshot before exiting.");
    let mut keys = engine::persist::lock_all(engine);
    if engine::persist::save(engine, &mut keys, 0).is_ok() {
        return true;
    }
    if has("force") {
        warning!("Error trying to save the DB. Exit anyway.");
        return true;
    }
    warning!("Error trying to save the DB, can't exit.");
    warning!("Errors trying to shut down the server. Check the logs for more information.");
    false
}

fn main() {
    let (file, options) = parse_args();
    let config = match engine::config::file::load(file.as_deref(), &options) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = std::env::set_current_dir(config.get("dir")) {
        eprintln!("Can't chdir to '{}': {e}", config.get("dir"));
        std::process::exit(1);
    }
    let workers = worker_count(&config);
    let port = config.get_i64("port") as u16;
    let logfile = config.get("logfile");
    let pidfile = config.get("pidfile");

    let (shutdown_tx, mut shutdown_rx) = tokio::sync::watch::channel(None);
    let listeners = Arc::new(listener::Listeners::default());
    let host = host::ServerHost {
        shutdown_tx,
        port: std::sync::atomic::AtomicU16::new(port),
        workers,
        listeners: listeners.clone(),
    };
    let engine = Engine::new(config, Box::new(host));
    // The logger reads the live loglevel; the engine lives for the whole process.
    let level: &'static std::sync::atomic::AtomicU32 = {
        let leaked: &'static Arc<Engine> = Box::leak(Box::new(engine.clone()));
        &leaked.config.hot.loglevel
    };
    if let Err(e) = log::init(&logfile, level) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    notice!("oO0OoO0OoO0Oo Kvasir is starting oO0OoO0OoO0Oo");
    notice!(
        "Kvasir version={} (Valkey {} compatible), bits={}, pid={}, just started",
        engine::KVASIR_VERSION,
        engine::VALKEY_VERSION,
        usize::BITS,
        std::process::id()
    );
    match &engine.config.file {
        Some(f) => notice!("Configuration loaded from {}", f.display()),
        None => warning!("No config file specified, using the default config. In order to specify a config file use kvasir-server /path/to/kvasir.conf"),
    }
    report_inert_settings(&engine.config);
    engine.evictor.meter.set_probe(host::thread_balance);
    let maxmemory = engine.config.hot.maxmemory.load(Relaxed);
    if maxmemory != 0 && maxmemory < 1024 * 1024 {
        warning!(
            "WARNING: You specified a maxmemory value that is less than 1MB (current value is {maxmemory} bytes). Are \
             you sure this is what you really want?"
        );
    }
    // Valkey writes the pid file and opens the listeners before loading the dataset: clients
    // that connect while it loads get -LOADING (and INFO its progress), not "connection
    // refused".
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            warning!("Failed to write PID file '{pidfile}': {e}");
        }
    }
    let bind = engine.config.get("bind");
    let backlog = engine.config.get_i64("tcp-backlog").clamp(1, i32::MAX as i64) as i32;
    let sockets = match listener::bind_listeners(&bind, port, backlog) {
        Ok(l) => l,
        Err(e) => {
            warning!("{e}");
            std::process::exit(1);
        }
    };
    // The control event loop (accepting, signals) runs on this thread; connections run on
    // the worker threads' own event loops.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot start the control event loop");
    let worker_pool = Arc::new(workers::Workers::start(workers));
    engine.memory_startup.store(engine.memory().used, Relaxed);
    notice!("Running mode=standalone, port={port}, worker threads={workers}.");

    // Signal handlers first: once connections are accepted, a SIGTERM must find them.
    let (mut sigterm, mut sigint) = {
        let _rt = runtime.enter();
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::terminate()).expect("SIGTERM handler"),
            signal(SignalKind::interrupt()).expect("SIGINT handler"),
        )
    };
    // The loading state is up before the first client can connect, and stays up until the
    // data is loaded, the AOF is open and the replica role is set: until then only commands
    // flagged `loading` run.
    engine.persistence.loading.begin_startup();
    listeners.start(runtime.handle(), &engine, &worker_pool, sockets, port, &bind, backlog);
    load_while_serving(&runtime, &engine, &mut sigterm, &mut sigint, &mut shutdown_rx, &pidfile);
    engine::evict::resync(&engine);
    let cron = cron::start(engine.clone());
    replica::spawn(engine.clone());
    // `replicaof <host> <port>` in the config file: follow it from the start.
    if let Some((host, port)) = engine.config.get("replicaof").split_once(' ') {
        if let Ok(port) = port.trim().parse::<u16>() {
            notice!("Configured as a replica of {host}:{port}");
            engine.replica.set_master(Some((host.to_string(), port)));
        }
    }
    engine.persistence.loading.finish();
    notice!("Ready to accept connections tcp");
    // SHUTDOWN logs who asked and does (or refuses) the final save itself. A signal saves
    // here, as `shutdown-on-sigterm` / `shutdown-on-sigint` say; if that save fails the server
    // keeps running (unless `force`), as Valkey does.
    loop {
        let signal = runtime.block_on(async {
            tokio::select! {
                _ = sigterm.recv() => {
                    warning!("Received SIGTERM scheduling shutdown...");
                    Some("shutdown-on-sigterm")
                }
                _ = sigint.recv() => {
                    warning!("Received SIGINT scheduling shutdown...");
                    Some("shutdown-on-sigint")
                }
                _ = shutdown_rx.wait_for(Option::is_some) => None,
            }
        });
        match signal {
            Some(directive) if !save_on_signal(&engine, directive) => continue,
            _ => break,
        }
    }
    if engine.scripting.run.running.load(std::sync::atomic::Ordering::Relaxed) {
        // SHUTDOWN NOSAVE under a timed-out script, which holds every shard: the threads
        // waiting for shards (the cron, blocked commands) would never end, so exit at once.
        if !pidfile.is_empty() {
            notice!("Removing the pid file.");
            let _ = std::fs::remove_file(&pidfile);
        }
        warning!("Kvasir is now ready to exit, bye bye...");
        std::process::exit(0);
    }
    cron.stop();
    engine.persistence.wait_bgsave();
    engine::aof::shutdown(&engine);
    listeners.close();
    for c in engine.clients.all() {
        c.kill();
    }
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    worker_pool.shutdown();
    if !pidfile.is_empty() {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    warning!("Kvasir is now ready to exit, bye bye...");
}
