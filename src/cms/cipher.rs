//! Content-encryption algorithms (RFC 3565 AES-CBC, RFC 5084 AES-GCM, RFC 8103
//! ChaCha20-Poly1305, RFC 3370 3DES-CBC).
//!
//! Encryption offers AES-GCM, ChaCha20-Poly1305 and AES-CBC; 3DES and AES-192 are accepted for decryption of
//! old mail. Every decryption failure (padding, tag, key length) is [`Error::Decryption`].

use alloc::vec::Vec;

use aes_gcm::aead::{AeadInOut, KeyInit};
use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Any, Sequence};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// AES-128-CBC.
pub const AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
/// AES-192-CBC.
pub const AES192_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.22");
/// AES-256-CBC.
pub const AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");
/// AES-128-GCM.
pub const AES128_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.6");
/// AES-192-GCM.
pub const AES192_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.26");
/// AES-256-GCM.
pub const AES256_GCM: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.46");
/// DES-EDE3-CBC (RFC 3370 §5.1), decryption only.
pub const DES_EDE3_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.3.7");
/// id-alg-AEADChaCha20Poly1305 (RFC 8103 §3).
pub const CHACHA20_POLY1305: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.18");

/// A content-encryption algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentCipher {
    /// AES-128 in GCM (AuthEnvelopedData).
    Aes128Gcm,
    /// AES-192 in GCM (decryption only).
    Aes192Gcm,
    /// AES-256 in GCM (AuthEnvelopedData), the RFC 8551 default.
    Aes256Gcm,
    /// AES-128 in CBC (EnvelopedData).
    Aes128Cbc,
    /// AES-192 in CBC (decryption only).
    Aes192Cbc,
    /// AES-256 in CBC (EnvelopedData).
    Aes256Cbc,
    /// Triple DES in CBC (decryption only).
    DesEde3Cbc,
    /// ChaCha20-Poly1305 (RFC 8103, AuthEnvelopedData).
    ChaCha20Poly1305,
}

/// `GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen AES-GCM-ICVlen DEFAULT 12 }`
/// (RFC 5084 §3.2).
#[derive(Clone, Debug, Sequence)]
struct GcmParameters {
    nonce: OctetString,
    icv_len: Option<u8>,
}

impl ContentCipher {
    /// All ciphers, for name lookup.
    pub const ALL: [Self; 8] = [
        Self::Aes128Gcm,
        Self::Aes192Gcm,
        Self::Aes256Gcm,
        Self::Aes128Cbc,
        Self::Aes192Cbc,
        Self::Aes256Cbc,
        Self::DesEde3Cbc,
        Self::ChaCha20Poly1305,
    ];

    /// The CLI/JS name: `aes256-gcm`, `aes128-cbc`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Gcm => "aes128-gcm",
            Self::Aes192Gcm => "aes192-gcm",
            Self::Aes256Gcm => "aes256-gcm",
            Self::Aes128Cbc => "aes128-cbc",
            Self::Aes192Cbc => "aes192-cbc",
            Self::Aes256Cbc => "aes256-cbc",
            Self::DesEde3Cbc => "des-ede3-cbc",
            Self::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    /// From a CLI/JS name; only ciphers Cachet encrypts with.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name && c.can_encrypt())
    }

    /// Does Cachet write this cipher (not only read it)?
    #[must_use]
    pub fn can_encrypt(self) -> bool {
        matches!(
            self,
            Self::Aes128Gcm
                | Self::Aes256Gcm
                | Self::Aes128Cbc
                | Self::Aes256Cbc
                | Self::ChaCha20Poly1305
        )
    }

    /// Is this an AEAD (AuthEnvelopedData) cipher?
    #[must_use]
    pub fn is_authenticated(self) -> bool {
        matches!(
            self,
            Self::Aes128Gcm | Self::Aes192Gcm | Self::Aes256Gcm | Self::ChaCha20Poly1305
        )
    }

    /// Content-encryption key length in bytes.
    #[must_use]
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm | Self::Aes128Cbc => 16,
            Self::Aes192Gcm | Self::Aes192Cbc | Self::DesEde3Cbc => 24,
            Self::Aes256Gcm | Self::Aes256Cbc | Self::ChaCha20Poly1305 => 32,
        }
    }

    /// Its OID.
    #[must_use]
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Aes128Gcm => AES128_GCM,
            Self::Aes192Gcm => AES192_GCM,
            Self::Aes256Gcm => AES256_GCM,
            Self::Aes128Cbc => AES128_CBC,
            Self::Aes192Cbc => AES192_CBC,
            Self::Aes256Cbc => AES256_CBC,
            Self::DesEde3Cbc => DES_EDE3_CBC,
            Self::ChaCha20Poly1305 => CHACHA20_POLY1305,
        }
    }

    /// From an OID.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.oid() == *oid)
    }
}

/// Cachet's order of preference for writing, strongest first.
pub const PREFERENCE: [ContentCipher; 4] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes256Cbc,
    ContentCipher::Aes128Cbc,
];

/// Pick the content cipher for a set of recipients from what each advertised in its
/// SMIMECapabilities (`None`: nothing known of that recipient).
///
/// The strongest cipher of [`PREFERENCE`] that every recipient who advertised capabilities lists
/// wins. Recipients with unknown capabilities are assumed to read AES-256-GCM, as RFC 8551
/// §2.7.1.3 tells a sender to assume. When the advertised lists have nothing in common, or list
/// none of these ciphers (old clients advertise only 3DES/RC2), the fallback is AES-128-CBC, which
/// every S/MIME 3.2 and 4.0 client must decrypt (RFC 5751 §2.7, RFC 8551 §2.7).
#[must_use]
pub fn choose(recipients: &[Option<&[ContentCipher]>]) -> ContentCipher {
    PREFERENCE
        .into_iter()
        .find(|c| {
            recipients
                .iter()
                .all(|caps| caps.is_none_or(|list| list.contains(c)))
        })
        .unwrap_or(ContentCipher::Aes128Cbc)
}

/// The result of encrypting content.
pub struct Sealed {
    /// The content-encryption AlgorithmIdentifier, with its IV or nonce.
    pub algorithm: AlgorithmIdentifierOwned,
    /// The ciphertext (without the tag for GCM).
    pub ciphertext: Vec<u8>,
    /// The GCM tag (empty for CBC).
    pub tag: Vec<u8>,
}

/// Encrypt `content` with `key`. `aad` is the DER of the authenticated attributes (GCM only).
///
/// # Errors
/// `API_MISUSE` for a decryption-only cipher or a wrong key length.
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    cipher: ContentCipher,
    key: &[u8],
    content: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<Sealed> {
    if !cipher.can_encrypt() || key.len() != cipher.key_len() {
        return Err(Error::misuse(
            "cipher cannot encrypt or key length is wrong",
        ));
    }
    let bad_key = || Error::Internal {
        detail: "content key length checked above",
    };
    if cipher == ContentCipher::ChaCha20Poly1305 {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let mut buf = content.to_vec();
        let tag = chacha20poly1305::ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| bad_key())?
            .encrypt_inout_detached(&nonce.into(), aad, buf.as_mut_slice().into())
            .map_err(|_| Error::InputTooLarge {
                what: "ChaCha20-Poly1305 plaintext",
                limit: usize::MAX,
            })?;
        // RFC 8103 §3: the parameters are the 12-byte nonce, `AEADChaCha20Poly1305Nonce ::=
        // OCTET STRING (SIZE(12))`.
        return Ok(Sealed {
            algorithm: AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(Any::encode_from(&OctetString::new(nonce.to_vec())?)?),
            },
            ciphertext: buf,
            tag: tag.to_vec(),
        });
    }
    if cipher.is_authenticated() {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let mut buf = content.to_vec();
        let tag = match cipher {
            ContentCipher::Aes128Gcm => aes_gcm::Aes128Gcm::new_from_slice(key)
                .map_err(|_| bad_key())?
                .encrypt_inout_detached(&nonce.into(), aad, buf.as_mut_slice().into()),
            _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                .map_err(|_| bad_key())?
                .encrypt_inout_detached(&nonce.into(), aad, buf.as_mut_slice().into()),
        }
        .map_err(|_| Error::InputTooLarge {
            what: "GCM plaintext",
            limit: usize::MAX,
        })?;
        let params = GcmParameters {
            nonce: OctetString::new(nonce.to_vec())?,
            icv_len: Some(16),
        };
        return Ok(Sealed {
            algorithm: AlgorithmIdentifierOwned {
                oid: cipher.oid(),
                parameters: Some(Any::encode_from(&params)?),
            },
            ciphertext: buf,
            tag: tag.to_vec(),
        });
    }
    let mut iv = [0u8; 16];
    rng.fill_bytes(&mut iv);
    let ciphertext = match cipher {
        ContentCipher::Aes128Cbc => cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec::<Pkcs7>(content),
        _ => cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .map_err(|_| bad_key())?
            .encrypt_padded_vec::<Pkcs7>(content),
    };
    Ok(Sealed {
        algorithm: AlgorithmIdentifierOwned {
            oid: cipher.oid(),
            parameters: Some(Any::encode_from(&OctetString::new(iv.to_vec())?)?),
        },
        ciphertext,
        tag: Vec::new(),
    })
}

/// The AES-GCM tag (NIST SP 800-38D §7) of content whose keystream is applied elsewhere, in
/// pieces: WebCrypto's one-shot AES-GCM needs the whole content and its whole output at once,
/// while its AES-CTR (32-bit counter, from `nonce || 2`: GCM's own) can run chunk by chunk. The
/// core derives `H` and `E(K, J0)` from the key, hashes the ciphertext as it passes, and gives
/// the tag (encryption) or checks it in constant time (decryption).
pub struct GcmTag {
    ghash: ghash::GHash,
    ek_j0: Zeroizing<[u8; 16]>,
    pending: [u8; 16],
    pending_len: usize,
    aad_len: u64,
    ciphertext_len: u64,
}

impl core::fmt::Debug for GcmTag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GcmTag")
            .field("ciphertext_len", &self.ciphertext_len)
            .finish_non_exhaustive()
    }
}

impl GcmTag {
    /// Start the tag of AES-128/256-GCM content under `key` and the 12-byte `nonce`, with the
    /// additional authenticated data `aad` (the DER of AuthEnvelopedData's authAttrs; empty
    /// when there are none).
    ///
    /// # Errors
    /// `API_MISUSE` for a key of another size or a nonce of another length.
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Self> {
        use crate::cms::gcm::encrypt_block;
        if nonce.len() != 12 || !matches!(key.len(), 16 | 32) {
            return Err(Error::misuse(
                "GCM tag: a 16- or 32-byte key and a 12-byte nonce",
            ));
        }
        let mut h = Zeroizing::new([0u8; 16]);
        let mut ek_j0 = Zeroizing::new([0u8; 16]);
        if let Some(j0) = ek_j0.get_mut(..12) {
            j0.copy_from_slice(nonce);
        }
        if let Some(last) = ek_j0.last_mut() {
            *last = 1;
        }
        encrypt_block(key, &mut h)?;
        encrypt_block(key, &mut ek_j0)?;
        let mut ghash = ghash::GHash::new(&(*h).into());
        ghash::universal_hash::UniversalHash::update_padded(&mut ghash, aad);
        Ok(Self {
            ghash,
            ek_j0,
            pending: [0; 16],
            pending_len: 0,
            aad_len: aad.len() as u64,
            ciphertext_len: 0,
        })
    }

    /// Hash the next piece of ciphertext (pieces of any length, in order).
    pub fn update(&mut self, ciphertext: &[u8]) {
        use ghash::universal_hash::UniversalHash;
        self.ciphertext_len += ciphertext.len() as u64;
        let mut rest = ciphertext;
        if self.pending_len > 0 {
            let take = (16 - self.pending_len).min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = self
                .pending
                .get_mut(self.pending_len..self.pending_len + take)
            {
                dst.copy_from_slice(head);
            }
            self.pending_len += take;
            rest = tail;
            if self.pending_len < 16 {
                return;
            }
            self.ghash.update_padded(&self.pending);
            self.pending_len = 0;
        }
        let (whole, tail) = rest.split_at(rest.len() / 16 * 16);
        self.ghash.update_padded(whole);
        if let Some(dst) = self.pending.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.pending_len = tail.len();
    }

    /// The 16-byte tag of everything hashed.
    #[must_use]
    pub fn finish(mut self) -> [u8; 16] {
        use ghash::universal_hash::UniversalHash;
        if let Some(last) = self.pending.get(..self.pending_len) {
            self.ghash.update_padded(last);
        }
        let lengths = crate::cms::gcm::lengths(self.aad_len, self.ciphertext_len);
        self.ghash.update_padded(&lengths);
        let s = self.ghash.finalize();
        let mut tag = [0u8; 16];
        for ((t, x), k) in tag.iter_mut().zip(s.iter()).zip(self.ek_j0.iter()) {
            *t = x ^ k;
        }
        tag
    }

    /// Does `tag` match (constant time)?
    #[must_use]
    pub fn verify(self, tag: &[u8]) -> bool {
        subtle::ConstantTimeEq::ct_eq(self.finish().as_slice(), tag).into()
    }
}

/// Can content of this cipher be encrypted and decrypted outside the core (WebCrypto:
/// AES-128/256 in GCM or CBC mode; WebCrypto in Chromium has no AES-192)?
#[must_use]
pub fn is_external(cipher: ContentCipher) -> bool {
    matches!(
        cipher,
        ContentCipher::Aes128Gcm
            | ContentCipher::Aes256Gcm
            | ContentCipher::Aes128Cbc
            | ContentCipher::Aes256Cbc
    )
}

/// [`Sealed`] for content encrypted elsewhere (see
/// [`crate::cms::envelope::encrypt_external`]): `iv` is the GCM nonce (12 bytes) or the CBC IV
/// (16 bytes); `data` is what WebCrypto returns (GCM: ciphertext and 16-byte tag; CBC: the
/// PKCS#7-padded ciphertext).
///
/// # Errors
/// `API_MISUSE` for another cipher, or a key, IV or data of the wrong size.
pub fn external(cipher: ContentCipher, key: &[u8], iv: &[u8], data: &[u8]) -> Result<Sealed> {
    let (algorithm, ciphertext, tag) = external_parts(cipher, key, iv, data)?;
    Ok(Sealed {
        algorithm,
        ciphertext: ciphertext.to_vec(),
        tag: tag.to_vec(),
    })
}

/// [`external`] without copying: the AlgorithmIdentifier, and `data` split into ciphertext and
/// GCM tag (empty for CBC).
///
/// # Errors
/// As [`external`].
pub fn external_parts<'a>(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    data: &'a [u8],
) -> Result<(AlgorithmIdentifierOwned, &'a [u8], &'a [u8])> {
    let tag_len = if cipher.is_authenticated() { 16 } else { 0 };
    let (ciphertext, tag) = data.split_at(data.len().saturating_sub(tag_len));
    if tag.len() != tag_len {
        return Err(external_misuse());
    }
    let algorithm = external_algorithm(cipher, key, iv, ciphertext.len(), tag)?;
    Ok((algorithm, ciphertext, tag))
}

/// The AlgorithmIdentifier for `ciphertext_len` bytes of content encrypted elsewhere with `key`
/// and `iv`, after checking their sizes (and, for GCM, that `tag` has 16 bytes): what
/// [`external_parts`] checks, for a caller that keeps the ciphertext itself.
///
/// # Errors
/// As [`external`].
pub fn external_algorithm(
    cipher: ContentCipher,
    key: &[u8],
    iv: &[u8],
    ciphertext_len: usize,
    tag: &[u8],
) -> Result<AlgorithmIdentifierOwned> {
    let gcm = cipher.is_authenticated();
    let sizes_ok = if gcm {
        iv.len() == 12 && tag.len() == 16
    } else {
        iv.len() == 16 && tag.is_empty() && ciphertext_len > 0 && ciphertext_len.is_multiple_of(16)
    };
    if !is_external(cipher) || key.len() != cipher.key_len() || !sizes_ok {
        return Err(external_misuse());
    }
    let parameters = if gcm {
        Any::encode_from(&GcmParameters {
            nonce: OctetString::new(iv.to_vec())?,
            icv_len: Some(16),
        })?
    } else {
        Any::encode_from(&OctetString::new(iv.to_vec())?)?
    };
    Ok(AlgorithmIdentifierOwned {
        oid: cipher.oid(),
        parameters: Some(parameters),
    })
}

fn external_misuse() -> Error {
    Error::misuse(
        "external content: AES-128/256 GCM (12-byte nonce, 16-byte tag) or CBC (16-byte IV, \
         whole blocks), with a key of its size",
    )
}

/// The IV of an AlgorithmIdentifier whose content can be decrypted outside (see
/// [`is_external`]): a GCM nonce of 12 bytes with a 16-byte tag, or a CBC IV of 16 bytes.
/// `None` otherwise.
#[must_use]
pub fn external_iv(algorithm: &AlgorithmIdentifierOwned) -> Option<Vec<u8>> {
    let cipher = identify(algorithm).ok()?;
    if !is_external(cipher) {
        return None;
    }
    let params = algorithm.parameters.as_ref()?;
    if cipher.is_authenticated() {
        let p: GcmParameters = params.decode_as().ok()?;
        let nonce = p.nonce.as_bytes();
        (nonce.len() == 12 && p.icv_len.unwrap_or(12) == 16).then(|| nonce.to_vec())
    } else {
        let iv: OctetString = params.decode_as().ok()?;
        (iv.as_bytes().len() == 16).then(|| iv.as_bytes().to_vec())
    }
}

/// Parse a content-encryption AlgorithmIdentifier.
///
/// # Errors
/// `CMS_UNSUPPORTED_ALGORITHM` for an unknown cipher, `CMS_MALFORMED` for bad parameters.
pub fn identify(algorithm: &AlgorithmIdentifierOwned) -> Result<ContentCipher> {
    ContentCipher::from_oid(&algorithm.oid).ok_or_else(|| Error::unsupported(algorithm.oid))
}

/// Decrypt. For GCM, `tag` is the MAC of AuthEnvelopedData and `aad` the DER of its
/// authenticated attributes; the tag is checked before any plaintext is released.
///
/// # Errors
/// `DECRYPTION_FAILED` for any failure once the algorithm is known; `CMS_MALFORMED` for bad
/// parameters; `CMS_UNSUPPORTED_ALGORITHM`.
pub fn open(
    algorithm: &AlgorithmIdentifierOwned,
    key: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let cipher = identify(algorithm)?;
    let params = algorithm.parameters.as_ref().ok_or(Error::CmsMalformed {
        detail: "cipher parameters missing",
    })?;
    if key.len() != cipher.key_len() {
        return Err(Error::Decryption);
    }
    if cipher == ContentCipher::ChaCha20Poly1305 {
        let nonce: OctetString = params.decode_as().map_err(|_| Error::CmsMalformed {
            detail: "ChaCha20-Poly1305 nonce",
        })?;
        let nonce = chacha20poly1305::Nonce::try_from(nonce.as_bytes()).map_err(|_| {
            Error::CmsMalformed {
                detail: "ChaCha20-Poly1305 nonce length",
            }
        })?;
        // RFC 8103 §4: the tag is 16 bytes.
        let tag = chacha20poly1305::Tag::try_from(tag).map_err(|_| Error::Decryption)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        chacha20poly1305::ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| Error::Decryption)?
            .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
            .map_err(|_| Error::Decryption)?;
        return Ok(buf);
    }
    if cipher.is_authenticated() {
        let p: GcmParameters = params.decode_as().map_err(|_| Error::CmsMalformed {
            detail: "GCM parameters",
        })?;
        let nonce = p.nonce.as_bytes();
        if nonce.len() != 12 || tag.len() != usize::from(p.icv_len.unwrap_or(12)) || tag.len() != 16
        {
            return Err(Error::unsupported(
                "GCM with a nonce other than 12 bytes or a tag other than 16",
            ));
        }
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let nonce = aes_gcm::Nonce::<aes_gcm::aead::consts::U12>::try_from(nonce)
            .map_err(|_| Error::Decryption)?;
        let tag = aes_gcm::Tag::<aes_gcm::aead::consts::U16>::try_from(tag)
            .map_err(|_| Error::Decryption)?;
        let r = match cipher {
            ContentCipher::Aes128Gcm => aes_gcm::Aes128Gcm::new_from_slice(key)
                .map_err(|_| Error::Decryption)?
                .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag),
            ContentCipher::Aes192Gcm => {
                aes_gcm::AesGcm::<aes::Aes192, aes_gcm::aead::consts::U12>::new_from_slice(key)
                    .map_err(|_| Error::Decryption)?
                    .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag)
            }
            _ => aes_gcm::Aes256Gcm::new_from_slice(key)
                .map_err(|_| Error::Decryption)?
                .decrypt_inout_detached(&nonce, aad, buf.as_mut_slice().into(), &tag),
        };
        r.map_err(|_| Error::Decryption)?;
        return Ok(buf);
    }
    let iv: OctetString = params
        .decode_as()
        .map_err(|_| Error::CmsMalformed { detail: "CBC IV" })?;
    let iv = iv.as_bytes();
    let plain = match cipher {
        ContentCipher::Aes128Cbc => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .map_err(|_| Error::CmsMalformed {
                detail: "CBC IV length",
            })?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        ContentCipher::Aes192Cbc => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .map_err(|_| Error::CmsMalformed {
                detail: "CBC IV length",
            })?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        ContentCipher::Aes256Cbc => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .map_err(|_| Error::CmsMalformed {
                detail: "CBC IV length",
            })?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        _ => cbc::Decryptor::<des::TdesEde3>::new_from_slices(key, iv)
            .map_err(|_| Error::CmsMalformed {
                detail: "CBC IV length",
            })?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
    };
    plain.map(Zeroizing::new).map_err(|_| Error::Decryption)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_strongest_common_cipher() {
        use ContentCipher::*;
        assert_eq!(choose(&[]), Aes256Gcm);
        assert_eq!(choose(&[None, None]), Aes256Gcm);
        assert_eq!(
            choose(&[Some(&[Aes128Gcm, Aes256Cbc][..]), None]),
            Aes128Gcm
        );
        assert_eq!(
            choose(&[Some(&[Aes256Gcm, Aes256Cbc][..]), Some(&[Aes256Cbc][..])]),
            Aes256Cbc
        );
        // An old client that advertises only 3DES: the fallback everyone reads.
        assert_eq!(choose(&[Some(&[DesEde3Cbc][..])]), Aes128Cbc);
        assert_eq!(
            choose(&[Some(&[Aes128Gcm][..]), Some(&[Aes256Gcm][..])]),
            Aes128Cbc
        );
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // test bytes
    fn gcm_tag_in_pieces_equals_aes_gcm() {
        // The GCM specification's test case 2 (K, IV, P all zero; one block).
        let c = [
            0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2,
            0xfe, 0x78,
        ];
        let t = [
            0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57,
            0xbd, 0xdf,
        ];
        let mut tag = GcmTag::new(&[0; 16], &[0; 12], b"").unwrap();
        tag.update(&c);
        assert_eq!(tag.finish(), t);
        // Against aes-gcm: every length around the block size, with and without AAD, the
        // ciphertext given in uneven pieces.
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for cipher in [ContentCipher::Aes128Gcm, ContentCipher::Aes256Gcm] {
            let key: Vec<u8> = (0..cipher.key_len()).map(|i| i as u8 * 7 + 1).collect();
            for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 4099] {
                let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
                for aad in [&b""[..], &[0x31; 37][..]] {
                    let sealed = seal(cipher, &key, &plain, aad, &mut rng).unwrap();
                    let nonce = external_iv(&sealed.algorithm).unwrap();
                    for piece in [1usize, 7, 16, 33, 4096] {
                        let mut tag = GcmTag::new(&key, &nonce, aad).unwrap();
                        for chunk in sealed.ciphertext.chunks(piece) {
                            tag.update(chunk);
                        }
                        assert_eq!(
                            tag.finish().as_slice(),
                            sealed.tag.as_slice(),
                            "{len} {piece}"
                        );
                    }
                    let mut tag = GcmTag::new(&key, &nonce, aad).unwrap();
                    tag.update(&sealed.ciphertext);
                    let mut wrong = sealed.tag.clone();
                    wrong[15] ^= 1;
                    assert!(!tag.verify(&wrong));
                }
            }
        }
        assert_eq!(
            GcmTag::new(&[0; 24], &[0; 12], b"").unwrap_err().code(),
            "API_MISUSE"
        );
        assert_eq!(
            GcmTag::new(&[0; 16], &[0; 16], b"").unwrap_err().code(),
            "API_MISUSE"
        );
    }

    #[test]
    fn round_trips_and_tamper() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for cipher in ContentCipher::ALL.into_iter().filter(|c| c.can_encrypt()) {
            let key = alloc::vec![7u8; cipher.key_len()];
            let sealed = seal(cipher, &key, b"hello world", b"", &mut rng).unwrap();
            let plain = open(
                &sealed.algorithm,
                &key,
                &sealed.ciphertext,
                &sealed.tag,
                b"",
            )
            .unwrap();
            assert_eq!(plain.as_slice(), b"hello world", "{}", cipher.name());
            let mut bad = sealed.ciphertext.clone();
            bad[0] ^= 1;
            if cipher.is_authenticated() {
                assert_eq!(
                    open(&sealed.algorithm, &key, &bad, &sealed.tag, b"")
                        .unwrap_err()
                        .code(),
                    "DECRYPTION_FAILED"
                );
                assert_eq!(
                    open(
                        &sealed.algorithm,
                        &key,
                        &sealed.ciphertext,
                        &sealed.tag,
                        b"x"
                    )
                    .unwrap_err()
                    .code(),
                    "DECRYPTION_FAILED"
                );
            }
            let wrong = alloc::vec![8u8; cipher.key_len()];
            // CBC with a wrong key fails on padding almost always; GCM always.
            if cipher.is_authenticated() {
                assert_eq!(
                    open(
                        &sealed.algorithm,
                        &wrong,
                        &sealed.ciphertext,
                        &sealed.tag,
                        b""
                    )
                    .unwrap_err()
                    .code(),
                    "DECRYPTION_FAILED"
                );
            }
            assert_eq!(
                open(
                    &sealed.algorithm,
                    &key[1..],
                    &sealed.ciphertext,
                    &sealed.tag,
                    b""
                )
                .unwrap_err()
                .code(),
                "DECRYPTION_FAILED"
            );
        }
        assert_eq!(
            ContentCipher::from_name("aes256-gcm"),
            Some(ContentCipher::Aes256Gcm)
        );
        assert_eq!(ContentCipher::from_name("des-ede3-cbc"), None);
    }

    /// RFC 8439 §2.8.2 through the RFC 8103 AlgorithmIdentifier (nonce as an OCTET STRING).
    #[test]
    fn chacha20_poly1305_known_answer_and_parameters() {
        let key: Vec<u8> = (0x80..=0x9f).collect();
        let nonce = hex::decode("070000004041424344454647").unwrap();
        let aad = hex::decode("50515253c0c1c2c3c4c5c6c7").unwrap();
        let ct = hex::decode(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69\
             da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675\
             945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116",
        )
        .unwrap();
        let tag = hex::decode("1ae10b594f09e26a7e902ecbd0600691").unwrap();
        let alg = |n: &[u8]| AlgorithmIdentifierOwned {
            oid: CHACHA20_POLY1305,
            parameters: Some(Any::encode_from(&OctetString::new(n.to_vec()).unwrap()).unwrap()),
        };
        let plain = open(&alg(&nonce), &key, &ct, &tag, &aad).unwrap();
        assert!(plain.starts_with(b"Ladies and Gentlemen of the class of '99"));
        let mut bad_tag = tag.clone();
        bad_tag[15] ^= 1;
        assert_eq!(
            open(&alg(&nonce), &key, &ct, &bad_tag, &aad)
                .unwrap_err()
                .code(),
            "DECRYPTION_FAILED"
        );
        assert_eq!(
            open(&alg(&nonce[..8]), &key, &ct, &tag, &aad)
                .unwrap_err()
                .code(),
            "CMS_MALFORMED"
        );
        // What we write: the OID, a 12-byte OCTET STRING nonce, a 16-byte tag.
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let sealed = seal(ContentCipher::ChaCha20Poly1305, &key, b"x", b"", &mut rng).unwrap();
        assert_eq!(sealed.algorithm.oid, CHACHA20_POLY1305);
        let n: OctetString = sealed.algorithm.parameters.unwrap().decode_as().unwrap();
        assert_eq!(n.as_bytes().len(), 12);
        assert_eq!(sealed.tag.len(), 16);
        assert_eq!(
            ContentCipher::from_name("chacha20-poly1305"),
            Some(ContentCipher::ChaCha20Poly1305)
        );
    }
}
