//! Listening sockets: binding the configured addresses, accepting connections (protected mode,
//! `maxclients`), and replacing the listeners when CONFIG SET changes `port` or `bind`.

use crate::conn;
use crate::log::warning;
use crate::workers::Workers;
use engine::stats::Counter;
use engine::Engine;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock, Weak};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Binds every address of `bind` (a `bind` directive's value) on `port`. A `-` prefix marks an
/// address that may be unavailable.
pub fn bind_listeners(bind: &str, port: u16, backlog: i32) -> Result<Vec<std::net::TcpListener>, String> {
    let mut listeners = Vec::new();
    for word in bind.split_whitespace() {
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

async fn accept_loop(engine: Arc<Engine>, workers: Arc<Workers>, listener: tokio::net::TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                warning!("Accepting client connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        engine.stats.add(Counter::ConnectionsReceived, 1);
        let _ = stream.set_nodelay(true);
        let keepalive = engine.config.hot.tcp_keepalive_secs.load(Relaxed);
        if keepalive > 0 {
            let ka = socket2::TcpKeepalive::new().with_time(std::time::Duration::from_secs(keepalive));
            let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
        }
        let hot = &engine.config.hot;
        if hot.protected_mode.load(Relaxed) && !hot.requirepass_set.load(Relaxed) && !is_loopback(&peer) {
            engine.stats.add(Counter::RejectedConnections, 1);
            tokio::spawn(reject(stream, PROTECTED_MODE_DENIED));
            continue;
        }
        if engine.clients.len() as u64 >= hot.maxclients.load(Relaxed) {
            engine.stats.add(Counter::RejectedConnections, 1);
            tokio::spawn(reject(stream, b"-ERR max number of clients reached\r\n"));
            continue;
        }
        let shared = conn::register(&engine, &stream);
        // Move the socket to its worker's reactor: deregister here, register there.
        let std_stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                warning!("Handing a connection to a worker: {e}");
                engine.clients.unregister(shared.id);
                continue;
            }
        };
        let engine = engine.clone();
        workers.next().spawn(async move {
            match tokio::net::TcpStream::from_std(std_stream) {
                Ok(stream) => conn::serve(engine, stream, shared).await,
                Err(e) => {
                    warning!("Registering a connection with its worker: {e}");
                    engine.clients.unregister(shared.id);
                }
            }
        });
    }
}

async fn reject(mut stream: tokio::net::TcpStream, msg: &'static [u8]) {
    use tokio::io::AsyncWriteExt;
    let _ = stream.write_all(msg).await;
    let _ = stream.shutdown().await;
}

/// The running accept loops, and what they listen on.
struct Active {
    port: u16,
    bind: String,
    tasks: Vec<JoinHandle<()>>,
}

/// The listeners of the server. Owned by the host, so that CONFIG SET can replace them.
#[derive(Default)]
pub struct Listeners {
    /// The runtime the accept loops run on and the engine they serve; set once started. The
    /// engine owns the host, which owns this: a weak reference avoids the cycle.
    runtime: OnceLock<(Handle, Weak<Engine>, Arc<Workers>)>,
    active: Mutex<Option<Active>>,
    backlog: std::sync::atomic::AtomicI32,
}

impl Listeners {
    /// Starts accepting on `listeners` (already bound to `bind` on `port`).
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        &self,
        handle: &Handle,
        engine: &Arc<Engine>,
        workers: &Arc<Workers>,
        listeners: Vec<std::net::TcpListener>,
        port: u16,
        bind: &str,
        backlog: i32,
    ) {
        let _ = self.runtime.set((handle.clone(), Arc::downgrade(engine), workers.clone()));
        self.backlog.store(backlog, Relaxed);
        let tasks = spawn_loops(handle, engine, workers, listeners);
        *self.active.lock() = Some(Active { port, bind: bind.to_string(), tasks });
    }

    /// Stops accepting: every listening socket is closed when this returns. The accept loops
    /// live on the control event loop (another thread), so waiting here cannot deadlock.
    fn stop(handle: &Handle, tasks: Vec<JoinHandle<()>>) {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            for t in &tasks {
                t.abort();
            }
            for t in tasks {
                let _ = t.await;
            }
            let _ = done_tx.send(());
        });
        let _ = done_rx.recv_timeout(std::time::Duration::from_secs(5));
    }

    /// Replaces the listeners with ones on `port` at `bind` (Valkey's `changeListener`: the
    /// old sockets are closed first, so the same address can be bound again). Port 0 means no
    /// TCP listener. On failure the old listeners are restored and the reason returned.
    pub fn rebind(&self, port: u16, bind: &str) -> Result<(), String> {
        let Some((handle, engine, workers)) = self.runtime.get() else {
            return Err("the server is not listening yet".into());
        };
        let Some(engine) = engine.upgrade() else {
            return Err("the server is shutting down".into());
        };
        let backlog = self.backlog.load(Relaxed);
        let mut active = self.active.lock();
        let Some(old) = active.take() else {
            return Err("the server is shutting down".into());
        };
        Self::stop(handle, old.tasks);
        let result = if port == 0 { Ok(Vec::new()) } else { bind_listeners(bind, port, backlog) };
        match result {
            Ok(listeners) => {
                let tasks = spawn_loops(handle, &engine, workers, listeners);
                *active = Some(Active { port, bind: bind.to_string(), tasks });
                Ok(())
            }
            Err(e) => {
                warning!("{e}");
                let restored =
                    if old.port == 0 { Ok(Vec::new()) } else { bind_listeners(&old.bind, old.port, backlog) };
                let tasks = match restored {
                    Ok(l) => spawn_loops(handle, &engine, workers, l),
                    Err(e2) => {
                        warning!("Could not listen again on the previous port {}: {e2}", old.port);
                        Vec::new()
                    }
                };
                *active = Some(Active { tasks, ..old });
                Err(e)
            }
        }
    }

    /// Stops accepting (at shutdown); the sockets close as the runtime drops the tasks.
    pub fn close(&self) {
        if let Some(old) = self.active.lock().take() {
            for t in &old.tasks {
                t.abort();
            }
        }
    }
}

fn spawn_loops(
    handle: &Handle,
    engine: &Arc<Engine>,
    workers: &Arc<Workers>,
    listeners: Vec<std::net::TcpListener>,
) -> Vec<JoinHandle<()>> {
    let _guard = handle.enter();
    listeners
        .into_iter()
        .filter_map(|l| match tokio::net::TcpListener::from_std(l) {
            Ok(l) => Some(handle.spawn(accept_loop(engine.clone(), workers.clone(), l))),
            Err(e) => {
                warning!("Registering a listening socket: {e}");
                None
            }
        })
        .collect()
}
