//! Trusting an extra CA bundle besides the system roots without reading the system roots
//! unless they are needed.
//!
//! The system root store (on Debian, the bundle file plus every file of `/etc/ssl/certs`) is
//! read and parsed when a verifier over it is built. A process that talks only to endpoints
//! the extra bundle covers (the emulator, a proxy or private CA in front of everything) never
//! needs it, and a cold `vaultref resolve` paid for it before its first request. Here, a chain
//! is first verified against the extra bundle alone; only when that fails is the platform
//! verifier (system roots plus the extra bundle, what reqwest builds) made, once, and asked.
//! A chain is accepted exactly when the platform verifier with the extra roots accepts it.

use std::sync::{Arc, OnceLock};

use rustls::{
    DigitallySignedStruct, RootCertStore, SignatureScheme,
    client::{
        WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    pki_types::{CertificateDer, ServerName, UnixTime},
};

/// The verifier described in the module documentation.
#[derive(Debug)]
pub(crate) struct ExtraRootsFirst {
    extra: Arc<WebPkiServerVerifier>,
    extra_roots: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    system: OnceLock<Result<Arc<rustls_platform_verifier::Verifier>, rustls::Error>>,
}

impl ExtraRootsFirst {
    /// A verifier trusting `extra_roots` first, then the system roots too.
    pub(crate) fn new(
        extra_roots: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, rustls::Error> {
        let mut store = RootCertStore::empty();
        for root in &extra_roots {
            store.add(root.clone())?;
        }
        let extra = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Self {
            extra,
            extra_roots,
            provider,
            system: OnceLock::new(),
        })
    }

    fn system(&self) -> Result<&rustls_platform_verifier::Verifier, rustls::Error> {
        self.system
            .get_or_init(|| {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    self.extra_roots.iter().cloned(),
                    self.provider.clone(),
                )
                .map(Arc::new)
            })
            .as_deref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for ExtraRootsFirst {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.extra
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .or_else(|_| {
                self.system()?.verify_server_cert(
                    end_entity,
                    intermediates,
                    server_name,
                    ocsp_response,
                    now,
                )
            })
    }

    // Handshake signatures do not depend on the roots: the provider's algorithms check them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.extra.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.extra.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.extra.supported_verify_schemes()
    }
}

/// A rustls client configuration trusting `extra_roots` first and the system roots after,
/// offering HTTP/2 and HTTP/1.1 as reqwest's own configuration does.
pub(crate) fn client_config(
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = ExtraRootsFirst::new(extra_roots, provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
