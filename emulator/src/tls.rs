//! TLS: a self-signed CA (kept across restarts when there is a state directory) and leaf
//! certificates it signs (CA:FALSE, serverAuth, SANs for 127.0.0.1, ::1, localhost,
//! *.localhost, plus a leaf minted per `{vault}.localhost` SNI name, because OpenSSL does not
//! match a wildcard directly under a top-level name).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::error::{Error, Result};
use crate::sync::lock;

/// The CA and what the TLS front needs.
pub(crate) struct Tls {
    pub(crate) ca_pem: String,
    pub(crate) ca_key_pem: String,
    pub(crate) server_config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn cert_error(e: impl fmt::Display) -> Error {
    Error::Certificate(e.to_string())
}

fn ca_params() -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "vaultref emulator CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "vaultref");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    // Fixed validity and serial: regenerating the CA from the same key yields an equivalent
    // trust anchor, so a client that trusted the old ca.pem keeps working after a restart.
    params.not_before = time::macros::datetime!(2024-01-01 0:00 UTC);
    params.not_after = time::macros::datetime!(2099-12-31 0:00 UTC);
    params.serial_number = Some(rcgen::SerialNumber::from(1_u64));
    Ok(params)
}

/// Makes the CA (from `ca_key_pem` when given) and the TLS server configuration.
pub(crate) fn setup(ca_key_pem: Option<&str>) -> Result<Tls> {
    let ca_key = match ca_key_pem {
        Some(pem) => KeyPair::from_pem(pem).map_err(cert_error)?,
        None => KeyPair::generate().map_err(cert_error)?,
    };
    let params = ca_params()?;
    let ca_cert = params.self_signed(&ca_key).map_err(cert_error)?;
    let ca_key_pem = ca_key.serialize_pem();
    let issuer = Issuer::new(params, ca_key);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let resolver = LeafResolver {
        issuer: Mutex::new(issuer),
        ca_der: ca_cert.der().clone(),
        leaves: Mutex::new(HashMap::new()),
    };
    let default_leaf = resolver.mint(None)?;
    lock(&resolver.leaves).insert(String::new(), default_leaf);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(cert_error)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    // HTTP/2 first, as Key Vault offers it; clients that offer only HTTP/1.1 (or no ALPN)
    // get HTTP/1.1.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls {
        ca_pem: ca_cert.pem(),
        ca_key_pem,
        server_config: Arc::new(config),
    })
}

/// Serves the default leaf, or a leaf minted (once) for a `{name}.localhost` SNI name.
struct LeafResolver {
    issuer: Mutex<Issuer<'static, KeyPair>>,
    ca_der: CertificateDer<'static>,
    leaves: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl fmt::Debug for LeafResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafResolver").finish_non_exhaustive()
    }
}

impl LeafResolver {
    fn mint(&self, extra_name: Option<&str>) -> Result<Arc<CertifiedKey>> {
        let mut names = vec![
            "localhost".to_owned(),
            "*.localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        if let Some(name) = extra_name {
            names.insert(0, name.to_owned());
        }
        let mut params = CertificateParams::new(names).map_err(cert_error)?;
        params.is_ca = IsCa::ExplicitNoCa;
        params
            .distinguished_name
            .push(DnType::CommonName, extra_name.unwrap_or("localhost"));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        // Clients check validity against the real time, so the leaf uses it too.
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        let key = KeyPair::generate().map_err(cert_error)?;
        let cert = params
            .signed_by(&key, &*lock(&self.issuer))
            .map_err(cert_error)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let signing_key =
            rustls::crypto::aws_lc_rs::sign::any_supported_type(&key_der).map_err(cert_error)?;
        Ok(Arc::new(CertifiedKey::new(
            vec![cert.der().clone(), self.ca_der.clone()],
            signing_key,
        )))
    }
}

impl ResolvesServerCert for LeafResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = client_hello
            .server_name()
            .map(str::to_ascii_lowercase)
            .filter(|n| n.ends_with(".localhost") && n.len() <= 253);
        let key = sni.clone().unwrap_or_default();
        if let Some(found) = lock(&self.leaves).get(&key) {
            return Some(found.clone());
        }
        let minted = self.mint(sni.as_deref()).ok()?;
        lock(&self.leaves).insert(key, minted.clone());
        Some(minted)
    }
}
