//! Tokens the emulator issues and checks: HS256 JWTs signed with a per-emulator key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The audience of workload-identity (federated) assertions, as in AKS.
pub(crate) const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";

/// Claims of an access token (shaped like Entra's v1 tokens that Key Vault receives).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AccessClaims {
    pub(crate) aud: String,
    pub(crate) iss: String,
    pub(crate) tid: String,
    pub(crate) appid: String,
    pub(crate) oid: String,
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    pub(crate) idtyp: String,
    pub(crate) ver: String,
}

/// Claims of a federated (workload identity) assertion.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct AssertionClaims {
    pub(crate) aud: String,
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) iat: i64,
    pub(crate) nbf: i64,
    pub(crate) exp: i64,
    pub(crate) jti: String,
}

/// Why a token was refused (never says anything about the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenError {
    Malformed,
    BadSignature,
}

/// Signs and verifies tokens with one HMAC key.
pub(crate) struct Signer {
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<key redacted>)")
    }
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

impl Signer {
    pub(crate) fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; a 32-byte key cannot be refused.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut mac = self.mac();
        mac.update(token.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        token.push('.');
        token.push_str(&signature);
        token
    }

    pub(crate) fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| TokenError::Malformed)?;
        let header: serde_json::Value =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
            return Err(TokenError::BadSignature);
        }
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..header_len_plus_payload(token)]);
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| TokenError::Malformed)?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)
    }
}

fn header_len_plus_payload(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AssertionClaims {
        AssertionClaims {
            aud: TOKEN_EXCHANGE_AUDIENCE.into(),
            iss: "https://issuer".into(),
            sub: "s".into(),
            iat: 1,
            nbf: 1,
            exp: 2,
            jti: "j".into(),
        }
    }

    #[test]
    fn signed_tokens_verify_and_tampered_ones_do_not() {
        let signer = Signer::new([7; 32]);
        let token = signer.sign(&claims());
        assert_eq!(signer.verify::<AssertionClaims>(&token), Ok(claims()));
        assert_eq!(
            Signer::new([8; 32]).verify::<AssertionClaims>(&token),
            Err(TokenError::BadSignature)
        );
        let mut forged = claims();
        forged.sub = "admin".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = &forged_payload;
        assert_eq!(
            signer.verify::<AssertionClaims>(&parts.join(".")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            signer.verify::<AssertionClaims>("not-a-jwt"),
            Err(TokenError::Malformed)
        );
    }
}
