//! RSA keys: the instance's own (made once, kept as PKCS#8 PEM) and the ones peers
//! publish in their actors (SPKI or PKCS#1 PEM), signing and verifying
//! RSASSA-PKCS1-v1_5 over SHA-256, which is what `rsa-sha256` and the fediverse's
//! `hs2019` mean.
//!
//! On `aws-lc-rs`, which the tree already builds for rustls: its RSA is constant-time.
//! RustCrypto's `rsa` leaks the private key through timing (RUSTSEC-2023-0071, no fixed
//! release), and `ring` signs and verifies but cannot make a key. PEM through the
//! `pem` crate, also already in the tree (under jsonwebtoken).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, UnparsedPublicKey};

/// Peers' keys shorter than this are refused: what Mastodon and PeerTube make, and
/// the least the signature check accepts.
pub const MIN_BITS: usize = 2048;

const PRIVATE_LABEL: &str = "PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";
const PKCS1_PUBLIC_LABEL: &str = "RSA PUBLIC KEY";

/// Why a key could not be read, made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not PEM")]
    NotPem,
    #[error("the PEM holds a `{0}`, not an RSA key of the expected kind")]
    Label(String),
    #[error("the PEM does not hold an acceptable RSA key")]
    Rejected,
    #[error("the RSA key has {0} bits; at least {MIN_BITS} are needed")]
    TooShort(usize),
    #[error("the RSA key could not {0}")]
    Failed(&'static str),
}

/// An RSA private key. Cloning shares it.
#[derive(Clone)]
pub struct PrivateKey(Arc<rsa::KeyPair>);

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

impl PrivateKey {
    /// A new 2048-bit key. Takes tens of milliseconds: keep it off the async workers.
    pub fn generate() -> Result<Self, KeyError> {
        rsa::KeyPair::generate(KeySize::Rsa2048)
            .map(|key| Self(Arc::new(key)))
            .map_err(|_| KeyError::Failed("be generated"))
    }

    /// Reads an unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = pem_contents(text, &[PRIVATE_LABEL])?;
        rsa::KeyPair::from_pkcs8(&der)
            .map(|key| Self(Arc::new(key)))
            .map_err(|_| KeyError::Rejected)
    }

    /// The key as PKCS#8 PEM, for storing.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der = self.0.as_der().map_err(|_| KeyError::Failed("be encoded"))?;
        Ok(encode_pem(PRIVATE_LABEL, der.as_ref()))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key().clone())
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| KeyError::Failed("sign"))?;
        Ok(signature)
    }
}

/// An RSA public key of at least [`MIN_BITS`].
#[derive(Clone)]
pub struct PublicKey(rsa::PublicKey);

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({} bits)", self.0.modulus_len() * 8)
    }
}

/// Two keys are the same key when their PKCS#1 encodings are.
impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_ref() == other.0.as_ref()
    }
}

impl Eq for PublicKey {}

impl PublicKey {
    /// Reads a public key as actors publish it: SPKI (`BEGIN PUBLIC KEY`) or PKCS#1
    /// (`BEGIN RSA PUBLIC KEY`).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        let der = pem_contents(text, &[PUBLIC_LABEL, PKCS1_PUBLIC_LABEL])?;
        let key = rsa::PublicKey::from_der(&der).map_err(|_| KeyError::Rejected)?;
        let bits = key.modulus_len() * 8;
        if bits < MIN_BITS {
            return Err(KeyError::TooShort(bits));
        }
        Ok(Self(key))
    }

    /// The key as SPKI PEM (`BEGIN PUBLIC KEY`), as actors publish it.
    pub fn to_pem(&self) -> Result<String, KeyError> {
        let der = self.0.as_der().map_err(|_| KeyError::Failed("be encoded"))?;
        Ok(encode_pem(PUBLIC_LABEL, der.as_ref()))
    }

    /// Whether `signature` is this key's RSASSA-PKCS1-v1_5 SHA-256 signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, self.0.as_ref())
            .verify(message, signature)
            .is_ok()
    }
}

fn pem_contents(text: &str, labels: &[&str]) -> Result<Vec<u8>, KeyError> {
    let pem = pem::parse(text.trim()).map_err(|_| KeyError::NotPem)?;
    if !labels.contains(&pem.tag()) {
        return Err(KeyError::Label(pem.tag().chars().take(40).collect()));
    }
    Ok(pem.into_contents())
}

fn encode_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 1024-bit key, as old software made them.
    pub(crate) const SHORT: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDOcKcR2db0ZmRs16cJUl29KtcP
ECIE6DbiR58llAG5Euirbh2wKYUM4AFoccSmqoqfXJHwEvj3A4N+VO0DWqJ7Not8
AaL1ni4S76fNe8RtJNPZeG/KokjvLhKEphfoqvX+4so0NH7cgXO9KG7FZnp4F27c
bQ5UCv47ypLHEkS4fQIDAQAB
-----END PUBLIC KEY-----";

    fn key() -> PrivateKey {
        PrivateKey::generate().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_private_key_survives_its_pem() {
        let key = key();
        let pem = key.to_pem().unwrap_or_else(|e| panic!("{e}"));
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        let read = PrivateKey::from_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.public_key(), key.public_key());
        // What one signs, the other's public key verifies.
        let signature = read.sign(b"hello").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(signature.len(), 256);
        assert!(key.public_key().verifies(b"hello", &signature));
        assert!(!key.public_key().verifies(b"hello!", &signature));
        assert!(!self::key().public_key().verifies(b"hello", &signature));
    }

    #[test]
    fn both_public_key_encodings_are_read() {
        let public = key().public_key();
        let spki = public.to_pem().unwrap_or_else(|e| panic!("{e}"));
        assert!(spki.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{spki}");
        assert_eq!(PublicKey::from_pem(&spki), Ok(public.clone()));
        let pkcs1 = encode_pem(PKCS1_PUBLIC_LABEL, public.0.as_ref());
        assert_eq!(PublicKey::from_pem(&format!("\n  {pkcs1}  \n")), Ok(public.clone()));
        assert_ne!(PublicKey::from_pem(&spki), Ok(key().public_key()));
    }

    #[test]
    fn what_is_not_a_good_rsa_key_is_refused() {
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nno*pe\n-----END PUBLIC KEY-----"),
            Err(KeyError::NotPem)
        );
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"),
            Err(KeyError::Rejected)
        );
        assert_eq!(PublicKey::from_pem(""), Err(KeyError::NotPem));
        assert_eq!(
            PublicKey::from_pem(&encode_pem(PUBLIC_LABEL, b"not a key")),
            Err(KeyError::Rejected)
        );
        assert_eq!(PublicKey::from_pem(SHORT), Err(KeyError::TooShort(1024)));
        let private = key().to_pem().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            PublicKey::from_pem(&private),
            Err(KeyError::Label(PRIVATE_LABEL.into()))
        );
        let public = key().public_key().to_pem().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            PrivateKey::from_pem(&public).map(|k| k.public_key()),
            Err(KeyError::Label(PUBLIC_LABEL.into()))
        );
    }
}
