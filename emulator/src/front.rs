//! The front door: one TCP port that speaks TLS (when enabled) and plain HTTP (always, told
//! apart by the first byte), drops connections on demand, and forwards every request to the
//! wiremock server behind it. Over TLS it offers HTTP/2 and HTTP/1.1 by ALPN, as Key Vault
//! does; plain connections speak HTTP/1.1. The `Host` header (or HTTP/2's `:authority`)
//! passes through, so vault routing still works.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderValue, Uri, Version};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::fault::Target;
use crate::headers::{FORWARDED_PROTO, REQUEST_SEQ};
use crate::log::{RecordedRequest, Stamp};
use crate::service::Service;

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The pooled HTTP/1.1 client to the wiremock server behind the front: a request waits for
/// no other, whichever client connection (or HTTP/2 stream) it came on.
type Upstream = Client<HttpConnector, Incoming>;

/// Why the front did not forward a request (the connection, or the HTTP/2 stream, is then
/// closed, unanswered).
#[derive(Debug)]
enum FrontError {
    /// An injected fault.
    Dropped,
    /// The wiremock server behind the front failed.
    Upstream(hyper_util::client::legacy::Error),
}

impl std::fmt::Display for FrontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Dropped => f.write_str("connection dropped by an injected fault"),
            Self::Upstream(e) => write!(f, "the emulator backend failed: {e}"),
        }
    }
}

impl std::error::Error for FrontError {}

/// One accepted client connection, as the requests on it are logged.
#[derive(Clone, Copy)]
struct Connection {
    id: u64,
    tls: bool,
    http2: bool,
}

/// Accepts connections until the returned task is aborted.
pub(crate) fn spawn(
    listener: TcpListener,
    backend: SocketAddr,
    tls: Option<TlsAcceptor>,
    service: Arc<Service>,
) -> JoinHandle<()> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let upstream: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    let accepted = Arc::new(AtomicU64::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let id = accepted.fetch_add(1, Ordering::Relaxed) + 1;
            let tls = tls.clone();
            let service = service.clone();
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut first = [0u8; 1];
                let is_tls =
                    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE);
                match (is_tls, tls) {
                    (true, Some(acceptor)) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            let http2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            let connection = Connection {
                                id,
                                tls: true,
                                http2,
                            };
                            serve(stream, connection, backend, upstream, service).await;
                        }
                    }
                    // A TLS client on a plain-only emulator: nothing sensible to answer.
                    (true, None) => {}
                    (false, _) => {
                        let connection = Connection {
                            id,
                            tls: false,
                            http2: false,
                        };
                        serve(stream, connection, backend, upstream, service).await;
                    }
                }
            });
        }
    })
}

async fn serve<IO>(
    io: IO,
    connection: Connection,
    backend: SocketAddr,
    upstream: Upstream,
    service: Arc<Service>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let handler = service_fn(move |request: hyper::Request<Incoming>| {
        forward(
            request,
            connection,
            backend,
            upstream.clone(),
            service.clone(),
        )
    });
    let io = TokioIo::new(io);
    if connection.http2 {
        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(io, handler)
            .await;
    } else {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(io, handler)
            .await;
    }
}

/// Forwards one request to the backend as HTTP/1.1 (an HTTP/2 request's `:authority`
/// becomes its `Host`), unless a fault drops it.
async fn forward(
    mut request: hyper::Request<Incoming>,
    connection: Connection,
    backend: SocketAddr,
    upstream: Upstream,
    service: Arc<Service>,
) -> Result<hyper::Response<Incoming>, FrontError> {
    let received_at = service.wall.now();
    if !request.headers().contains_key(http::header::HOST)
        && let Some(authority) = request.uri().authority()
        && let Ok(host) = HeaderValue::from_str(authority.as_str())
    {
        request.headers_mut().insert(http::header::HOST, host);
    }
    let target = Target::classify(request.uri().path());
    let drop_it = service.state().faults.take_drop(target);
    if drop_it {
        let mut entry = RecordedRequest::arrived(
            request.method(),
            request.uri().path(),
            request.uri().query(),
            request.headers(),
            Vec::new(),
            0,
        );
        entry.tls = connection.tls;
        entry.http2 = connection.http2;
        entry.connection = connection.id;
        entry.received_at = received_at;
        entry.responded_at = service.wall.now().max(received_at);
        service.record(0, entry);
        return Err(FrontError::Dropped);
    }
    let seq = service.next_seq.fetch_add(1, Ordering::Relaxed);
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_owned();
    // Only a request line the client could not have sent makes this fail; answer it as a
    // broken backend would.
    let Ok(uri) = Uri::try_from(format!("http://{backend}{path_and_query}")) else {
        return Err(FrontError::Dropped);
    };
    *request.uri_mut() = uri;
    *request.version_mut() = Version::HTTP_11;
    let headers = request.headers_mut();
    headers.remove(FORWARDED_PROTO);
    if connection.tls {
        headers.insert(FORWARDED_PROTO, HeaderValue::from_static("https"));
    }
    headers.insert(REQUEST_SEQ, HeaderValue::from(seq));
    let response = upstream
        .request(request)
        .await
        .map_err(FrontError::Upstream)?;
    // The head arrives from wiremock after any latency fault; stamp before the client can
    // see the response, so a test reading the log afterwards sees final times.
    let stamp = Stamp {
        received_at,
        responded_at: service.wall.now(),
        connection: connection.id,
        http2: connection.http2,
    };
    service.log().stamp(seq, &stamp);
    Ok(response)
}
