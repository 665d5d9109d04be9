//! `kvasir-server`: a Valkey-compatible in-memory data store.
//!
//! Startup: command line → configuration (valkey.conf syntax, `--directive value` overrides) →
//! logging → listeners → worker runtime → cron thread. Shutdown on SIGTERM/SIGINT or
//! SHUTDOWN: stop accepting, close clients, remove the pid file, exit.

mod conn;
mod cron;
mod host;
mod log;

use engine::config::{flags as cfg_flags, Config};
use engine::Engine;
use log::{notice, warning};
use std::net::SocketAddr;
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

/// Binds every configured address. A `-` prefix marks an address that may be unavailable.
fn bind_listeners(config: &Config, port: u16) -> Result<Vec<std::net::TcpListener>, String> {
    let backlog = config.get_i64("tcp-backlog").clamp(1, i32::MAX as i64) as i32;
    let mut listeners = Vec::new();
    for word in config.get("bind").split_whitespace() {
        let (optional, addr) = match word.strip_prefix('-') {
            Some(a) => (true, a),
            None => (false, word),
        };
        let ip = match addr {
            "*" => "0.0.0.0",
            "::*" => "::",
            a => a,
        };
        let sockaddr: SocketAddr = match format!("{ip}:{port}").parse().or_else(|_| format!("[{ip}]:{port}").parse()) {
            Ok(a) => a,
            Err(_) if optional => continue,
            Err(_) => return Err(format!("Invalid bind address '{addr}'")),
        };
        match listen(sockaddr, backlog) {
            Ok(l) => listeners.push(l),
            Err(e) if optional => warning!("Could not create server TCP listening socket {sockaddr}: {e} (skipped)"),
            Err(e) => return Err(format!("Could not create server TCP listening socket {sockaddr}: {e}")),
        }
    }
    if listeners.is_empty() {
        return Err("Failed listening on port (tcp), aborting.".into());
    }
    Ok(listeners)
}

fn listen(addr: SocketAddr, backlog: i32) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn is_loopback(addr: &SocketAddr) -> bool {
    match addr {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers, you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting from the same host the server is running, however MAKE SURE it's not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

async fn accept_loop(engine: Arc<Engine>, listener: tokio::net::TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warning!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        engine.stats.add(engine::stats::Counter::ConnectionsReceived, 1);
        let _ = stream.set_nodelay(true);
        let keepalive = engine.config.hot.tcp_keepalive_secs.load(Relaxed);
        if keepalive > 0 {
            let ka = socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(keepalive));
            let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
        }
        let hot = &engine.config.hot;
        if hot.protected_mode.load(Relaxed) && !hot.requirepass_set.load(Relaxed) && !is_loopback(&peer) {
            engine.stats.add(engine::stats::Counter::RejectedConnections, 1);
            tokio::spawn(reject(stream, PROTECTED_MODE_DENIED));
            continue;
        }
        if engine.clients.len() as u64 >= hot.maxclients.load(Relaxed) {
            engine.stats.add(engine::stats::Counter::RejectedConnections, 1);
            tokio::spawn(reject(stream, b"-ERR max number of clients reached\r\n"));
            continue;
        }
        let shared = conn::register(&engine, &stream);
        tokio::spawn(conn::serve(engine.clone(), stream, shared));
    }
}

async fn reject(mut stream: tokio::net::TcpStream, msg: &'static [u8]) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(msg).await;
    let _ = stream.shutdown().await;
}

/// Reports directives set to something Kvasir does not act on yet.
fn report_inert_settings(config: &Config) {
    for (p, value) in config.all() {
        // `save ""` (no snapshots) is exactly what Kvasir does.
        let no_saving = p.name == "save" && value.is_empty();
        if p.flags & cfg_flags::NOT_ACTED_ON != 0 && value != p.default && !no_saving {
            warning!("'{} {}' is accepted but not acted on by this version of Kvasir", p.name, value);
        }
    }
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
    let host = host::ServerHost { shutdown_tx, port: std::sync::atomic::AtomicU16::new(port), workers };
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
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{}\n", std::process::id())) {
            warning!("Failed to write PID file '{pidfile}': {e}");
        }
    }

    let listeners = match bind_listeners(&engine.config, port) {
        Ok(l) => l,
        Err(e) => {
            warning!("{e}");
            std::process::exit(1);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("kvasir-worker")
        .enable_all()
        .build()
        .expect("cannot start the worker runtime");
    engine.memory_startup.store(engine.memory().allocated, Relaxed);
    let cron = cron::start(engine.clone());
    notice!("Running mode=standalone, port={port}, worker threads={workers}.");

    let request = runtime.block_on(async {
        for l in listeners {
            let l = tokio::net::TcpListener::from_std(l).expect("listener registration");
            tokio::spawn(accept_loop(engine.clone(), l));
        }
        notice!("Ready to accept connections tcp");
        let mut sigterm =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        let mut sigint =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = sigterm.recv() => {
                warning!("Received SIGTERM scheduling shutdown...");
                None
            }
            _ = sigint.recv() => {
                warning!("Received SIGINT scheduling shutdown...");
                None
            }
            r = shutdown_rx.wait_for(Option::is_some) => r.ok().and_then(|r| *r),
        }
    });
    // SHUTDOWN already logged who asked and did (or refused) the final save. A signal does not
    // wait for a save: there is no persistence to save with, and a server that cannot be
    // stopped by SIGTERM would be worse than one that says so.
    if request.is_none() {
        notice!("User requested shutdown...");
        if !engine.config.get("save").is_empty() {
            warning!("Not saving the dataset on exit: this version of Kvasir has no persistence.");
        }
    }
    cron.stop();
    for c in engine.clients.all() {
        c.kill();
    }
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    if !pidfile.is_empty() {
        notice!("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    warning!("Kvasir is now ready to exit, bye bye...");
}
