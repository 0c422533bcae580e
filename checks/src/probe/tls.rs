//! SSL_GET's TLS layer (rustls). As in keepalived, certificates are not
//! verified unless a CA is configured; signatures of the handshake are still
//! checked so the session is well formed.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::Deadline;
use crate::outcome::{Failure, Phase};
use crate::spec::TlsOptions;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate (keepalived's SSL_GET without `ca`).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The shared configuration without verification.
fn unverified_config() -> Result<Arc<ClientConfig>, Failure> {
    static CONFIG: OnceLock<Result<Arc<ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = provider();
            ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map(|b| {
                    Arc::new(
                        b.dangerous()
                            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(
                                provider,
                            )))
                            .with_no_client_auth(),
                    )
                })
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Failure::Invalid)
}

/// A configuration verifying against the CA bundle in `ca_file`.
fn verified_config(ca_file: &std::path::Path) -> Result<Arc<ClientConfig>, Failure> {
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| Failure::Invalid(format!("CA file {}: {e}", ca_file.display())))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| Failure::Invalid(format!("CA file {}: {e}", ca_file.display())))?;
        roots
            .add(cert)
            .map_err(|e| Failure::Invalid(format!("CA file {}: {e}", ca_file.display())))?;
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::Invalid(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Runs the TLS handshake. With `sni_name`, that name is sent as server
/// name (and verified against); otherwise the target address is used, for
/// which rustls sends no SNI extension.
pub(crate) async fn handshake(
    stream: TcpStream,
    options: &TlsOptions,
    sni_name: Option<&str>,
    target: IpAddr,
    deadline: Deadline,
) -> Result<TlsStream<TcpStream>, Failure> {
    let config = match &options.ca_file {
        None => unverified_config()?,
        Some(ca) => verified_config(ca)?,
    };
    let server_name = match sni_name {
        Some(name) => ServerName::try_from(name.to_string())
            .map_err(|e| Failure::Invalid(format!("server name {name:?}: {e}")))?,
        None => ServerName::IpAddress(target.into()),
    };
    let connector = TlsConnector::from(config);
    match tokio::time::timeout_at(deadline.0, connector.connect(server_name, stream)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(Failure::Tls(e.to_string())),
        Err(_) => Err(Failure::Timeout(Phase::TlsHandshake)),
    }
}
