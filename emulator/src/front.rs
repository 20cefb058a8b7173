//! The front door: one TCP port that speaks TLS (when enabled) and plain HTTP (always, told
//! apart by the first byte), drops connections on demand, and forwards every request to the
//! wiremock server behind it. The `Host` header passes through, so vault routing still works.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::fault::Target;
use crate::headers::{FORWARDED_PROTO, REQUEST_SEQ};
use crate::log::RecordedRequest;
use crate::service::Service;

/// First byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Why the front did not forward a request (the connection is then closed, unanswered).
#[derive(Debug)]
enum FrontError {
    /// An injected fault.
    Dropped,
    /// The wiremock server behind the front failed.
    Upstream(hyper::Error),
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

/// Accepts connections until the returned task is aborted.
pub(crate) fn spawn(
    listener: TcpListener,
    backend: SocketAddr,
    tls: Option<TlsAcceptor>,
    service: Arc<Service>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let tls = tls.clone();
            let service = service.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut first = [0u8; 1];
                let is_tls =
                    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE);
                match (is_tls, tls) {
                    (true, Some(acceptor)) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve(stream, true, backend, service).await;
                        }
                    }
                    // A TLS client on a plain-only emulator: nothing sensible to answer.
                    (true, None) => {}
                    (false, _) => serve(stream, false, backend, service).await,
                }
            });
        }
    })
}

async fn serve<IO>(io: IO, tls: bool, backend: SocketAddr, service: Arc<Service>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let Ok(upstream) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = upstream.set_nodelay(true);
    let Ok((sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Incoming>(TokioIo::new(upstream)).await
    else {
        return;
    };
    tokio::spawn(connection);
    let sender = Arc::new(tokio::sync::Mutex::new(sender));
    let service = service_fn(move |mut request: hyper::Request<Incoming>| {
        let sender = sender.clone();
        let service = service.clone();
        async move {
            let received_at = service.wall.now();
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
                entry.tls = tls;
                entry.received_at = received_at;
                entry.responded_at = service.wall.now().max(received_at);
                service.record(0, entry);
                return Err(FrontError::Dropped);
            }
            let seq = service.next_seq.fetch_add(1, Ordering::Relaxed);
            let headers = request.headers_mut();
            headers.remove(FORWARDED_PROTO);
            if tls {
                headers.insert(FORWARDED_PROTO, http::HeaderValue::from_static("https"));
            }
            headers.insert(REQUEST_SEQ, http::HeaderValue::from(seq));
            let mut sender = sender.lock().await;
            sender.ready().await.map_err(FrontError::Upstream)?;
            let response = sender
                .send_request(request)
                .await
                .map_err(FrontError::Upstream)?;
            // The head arrives from wiremock after any latency fault; stamp before the client
            // can see the response, so a test reading the log afterwards sees final times.
            service.log().stamp(seq, received_at, service.wall.now());
            Ok(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}
