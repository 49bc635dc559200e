//! In-process servers on loopback, run on their own runtime so that dropping it kills them
//! like a dead process: HTTP, gRPC health, gRPC without health, fake Redis, and sockets that
//! hang or answer with fixed bytes. Each counts the connections it accepted.

use std::convert::Infallible;
use std::net::TcpListener as StdTcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tonic_health::ServingStatus;

/// Binds 127.0.0.1:`port` (0 = any free port), retrying for a few seconds while the port is
/// still held by a server that is shutting down.
pub fn listener(port: u16) -> StdTcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match StdTcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => {
                l.set_nonblocking(true).expect("non-blocking listener");
                return l;
            }
            Err(err) if Instant::now() >= deadline => panic!("bind 127.0.0.1:{port}: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A server's port and how many connections it has accepted so far.
#[derive(Clone)]
pub struct Listening {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Listening {
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A runtime of its own for servers; dropping it closes every listener and connection.
pub struct ServerRuntime {
    rt: Option<Runtime>,
}

impl ServerRuntime {
    pub fn new(worker_threads: usize) -> ServerRuntime {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads)
            .thread_name("test-servers")
            .enable_all()
            .build()
            .expect("server runtime");
        ServerRuntime { rt: Some(rt) }
    }

    fn rt(&self) -> &Runtime {
        self.rt.as_ref().expect("runtime lives until drop")
    }

    /// Starts an accept loop handing each connection to `serve`.
    fn accept_loop<F, Fut>(&self, std_listener: StdTcpListener, serve: F) -> Listening
    where
        F: Fn(TcpStream) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let port = std_listener.local_addr().expect("local address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        self.rt().spawn(async move {
            let listener = TcpListener::from_std(std_listener).expect("tokio listener");
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream));
            }
        });
        Listening { port, accepted }
    }

    /// HTTP/1.1 with keep-alive; every request gets `status` and `body` (as JSON).
    pub fn http(&self, listener: StdTcpListener, status: u16, body: &'static str) -> Listening {
        self.accept_loop(listener, move |stream| async move {
            let service = service_fn(move |_request| async move {
                let response = hyper::Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .expect("fixed response is valid");
                Ok::<_, Infallible>(response)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        })
    }

    /// gRPC with grpc.health.v1 reporting `status` for "" and for "anychat.Test".
    pub fn grpc_health(&self, listener: StdTcpListener, status: ServingStatus) -> Listening {
        let (incoming, listening) = counted_incoming(self.rt(), listener);
        self.rt().spawn(async move {
            let (reporter, service) = tonic_health::server::health_reporter();
            reporter.set_service_status("", status).await;
            reporter.set_service_status("anychat.Test", status).await;
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(incoming)
                .await;
        });
        listening
    }

    /// gRPC with no services at all: every call answers UNIMPLEMENTED.
    pub fn grpc_without_health(&self, listener: StdTcpListener) -> Listening {
        let (incoming, listening) = counted_incoming(self.rt(), listener);
        self.rt().spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_routes(tonic::service::Routes::default())
                .serve_with_incoming(incoming)
                .await;
        });
        listening
    }

    /// Accepts and holds every connection without ever writing a byte.
    pub fn hang(&self, listener: StdTcpListener) -> Listening {
        self.accept_loop(listener, |mut stream| async move {
            let mut sink = [0u8; 1024];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
    }

    /// Writes `bytes` to each connection as soon as it has read something (or right away
    /// when `eager`), then holds the connection until the peer closes it.
    pub fn banner(&self, listener: StdTcpListener, bytes: &'static [u8], eager: bool) -> Listening {
        self.accept_loop(listener, move |mut stream| async move {
            let mut buf = [0u8; 1024];
            if !eager && matches!(stream.read(&mut buf).await, Ok(0) | Err(_)) {
                return;
            }
            if stream.write_all(bytes).await.is_err() {
                return;
            }
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        })
    }

    /// Answers `+PONG\r\n` to every read, like Redis answering PING.
    pub fn fake_redis(&self, listener: StdTcpListener) -> Listening {
        self.accept_loop(listener, |mut stream| async move {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 || stream.write_all(b"+PONG\r\n").await.is_err() {
                    break;
                }
            }
        })
    }
}

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

type Incoming =
    std::pin::Pin<Box<dyn futures::Stream<Item = std::io::Result<TcpStream>> + Send + 'static>>;

/// A tonic incoming stream over `listener` that counts accepted connections.
fn counted_incoming(rt: &Runtime, std_listener: StdTcpListener) -> (Incoming, Listening) {
    let port = std_listener.local_addr().expect("local address").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let listener = {
        let _guard = rt.enter();
        TcpListener::from_std(std_listener).expect("tokio listener")
    };
    let counter = accepted.clone();
    let incoming = futures::stream::unfold(listener, move |listener| {
        let counter = counter.clone();
        async move {
            let next = listener.accept().await.map(|(stream, _)| {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_nodelay(true);
                stream
            });
            Some((next, listener))
        }
    });
    (Box::pin(incoming), Listening { port, accepted })
}
