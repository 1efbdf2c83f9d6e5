//! The client assertion of certificate credentials (`reference/azure.md` §6.2): a JWT with
//! header `{"alg":"PS256","typ":"JWT","x5t#S256":<SHA-256 thumbprint>}` and claims `aud` (the
//! token endpoint), `iss` = `sub` = client id, `jti`, `nbf`, `iat`, `exp` (five minutes),
//! signed with the certificate's RSA key.
//!
//! Signed with `ring` directly rather than through a JWT crate: `jsonwebtoken` 10+ offers only
//! aws-lc (a C/CMake build) or RustCrypto's `rsa` (RUSTSEC-2023-0071, a timing side channel
//! without a fix) as back ends, while `ring` is already Tern's TLS crypto and signs RSA-PSS in
//! constant time. What is left by hand is the JWT's assembly: two base64url JSON parts and a
//! signature. The PEM file is read with `rustls-pki-types`, as rustls reads its own.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RSA_PSS_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::AuthError;

/// How long an assertion is valid (Microsoft suggests 5–10 minutes).
const ASSERTION_LIFETIME_SECONDS: u64 = 300;

/// A certificate's private key and SHA-256 thumbprint, loaded once.
pub struct CertificateSigner {
    key_pair: RsaKeyPair,
    /// base64url of the SHA-256 of the certificate's DER: the `x5t#S256` header.
    x5t_s256: String,
    rng: SystemRandom,
}

impl std::fmt::Debug for CertificateSigner {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSigner")
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

impl CertificateSigner {
    /// Loads a PEM file holding the certificate (the first one is the client's) and its RSA
    /// private key (PKCS#8 or PKCS#1), as `openssl` and Azure Key Vault export them.
    pub fn from_pem_file(path: &Path) -> Result<CertificateSigner, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_pem(pem: &[u8]) -> Result<CertificateSigner, String> {
        let certificate = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or("no CERTIFICATE block")?
            .map_err(|e| format!("bad CERTIFICATE block: {e}"))?;
        let key = PrivateKeyDer::from_pem_slice(pem)
            .map_err(|e| format!("no usable PRIVATE KEY block: {e}"))?;
        let key_pair = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => return Err("the private key is not RSA (Entra ID certificates are RSA)".into()),
        }
        .map_err(|e| format!("the private key is not a usable RSA key: {e}"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, certificate.as_ref());
        Ok(CertificateSigner {
            key_pair,
            x5t_s256: URL_SAFE_NO_PAD.encode(digest.as_ref()),
            rng: SystemRandom::new(),
        })
    }

    /// The `x5t#S256` thumbprint, safe to print.
    pub fn thumbprint(&self) -> &str {
        &self.x5t_s256
    }

    /// A signed assertion for `client_id` towards the token endpoint `audience`.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, AuthError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut jti = [0u8; 16];
        self.rng
            .fill(&mut jti)
            .map_err(|_| AuthError::Signing("no randomness for jti".into()))?;
        let header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": self.x5t_s256});
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "nbf": now,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_SECONDS,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PSS_SHA256,
                &self.rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| AuthError::Signing("RSA-PSS signing failed".into()))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/test-only-client-certificate.pem");
        std::fs::read(path).unwrap_or_default()
    }

    #[test]
    fn assertion_has_the_documented_header_and_claims() {
        let signer = CertificateSigner::from_pem(&fixture()).unwrap_or_else(|e| panic!("{e}"));
        let jwt = signer
            .assertion("app-id", "https://login.example/t/oauth2/v2.0/token")
            .unwrap_or_else(|e| panic!("{e}"));
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decode = |i: usize| -> serde_json::Value {
            let part = parts.get(i).copied().unwrap_or_default();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap_or_default())
                .unwrap_or_default()
        };
        let header = decode(0);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["x5t#S256"], signer.thumbprint());
        assert_eq!(signer.thumbprint().len(), 43); // 32 bytes, base64url without padding
        let claims = decode(1);
        assert_eq!(claims["aud"], "https://login.example/t/oauth2/v2.0/token");
        assert_eq!(claims["iss"], "app-id");
        assert_eq!(claims["sub"], "app-id");
        assert_eq!(
            claims["exp"].as_u64().unwrap_or_default(),
            claims["nbf"].as_u64().unwrap_or_default() + 300
        );
        assert!(!format!("{signer:?}").contains("PRIVATE"));
    }

    #[test]
    fn a_file_without_a_key_is_a_clear_error() {
        let pem = fixture();
        let text = String::from_utf8_lossy(&pem);
        let cert_only = text
            .split("-----BEGIN PRIVATE KEY-----")
            .next()
            .unwrap_or_default();
        let err = CertificateSigner::from_pem(cert_only.as_bytes())
            .err()
            .unwrap_or_default();
        assert!(err.contains("PRIVATE KEY"), "{err}");
    }
}
