//! AES-GCM content (RFC 5084) encrypted and decrypted in chunks by a one-shot AES-GCM elsewhere
//! (WebCrypto), with the tag of the whole put together here from the tags of the chunks.
//!
//! WebCrypto's AES-GCM takes the whole content and returns the whole output, so large content
//! is cut into chunks. Chunk `i`, at byte `offset` (a multiple of 16), is sealed by WebCrypto
//! under a 16-byte IV chosen so that its pre-counter block is `J0_i = nonce || 1 + offset / 16`
//! (SP 800-38D §7.1: a 128-bit IV gives `J0 = GHASH_H(IV || 0^64 || [128]_64)`, which this
//! module inverts). Its keystream is then exactly the whole message's keystream at `offset`, so
//! WebCrypto writes the real ciphertext of the chunk, and its tag is
//! `GHASH_H(C_i || [0]_64 || [len C_i]_64) xor E(K, J0_i)`. From those tags the core recovers
//! `GHASH_H` of each chunk and combines them (Horner's rule: a state advanced by `b` blocks is
//! multiplied by `H^b`) into the tag of the whole content with the real nonce and the AAD.
//! Decryption uses the same tags without a second copy of any chunk: WebCrypto's AES-CTR gives
//! the plaintext of a chunk, and WebCrypto's AES-GCM seals *nothing* under the chunk's IV with
//! the chunk's ciphertext as its additional data. That tag is
//! `GHASH_H(C_i || [len C_i]_64 || [0]_64) xor E(K, J0_i)`: the same blocks as the sealed
//! chunk's but for the length block, which the core knows ([`GcmChunks::absorb_aad`]). The tag
//! of the whole is then checked in constant time.
//! Every GHASH multiplication is done by the native AES-GCM; the core does a few field
//! multiplications per chunk.
//!
//! Does not encrypt or decrypt anything itself, nor take chunks out of order or a chunk after
//! one whose length is not a multiple of 16 (only the last may be partial).

use aes::cipher::{BlockCipherEncrypt, KeyInit as _};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One element of GCM's field GF(2^128), as 16 bytes in GCM's bit order.
type Block = [u8; 16];

/// The field's 1 (SP 800-38D §6.3: the bit of `x^0` is the leftmost).
const ONE: Block = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/// At most this much content under one nonce: `2^32 - 2` blocks (SP 800-38D §5.2.1.1).
const MAX_CONTENT: u64 = ((1 << 32) - 2) * 16;

/// `a * b` in GCM's field: GHASH keyed with `b` over the one block `a` is `(0 xor a) * b`
/// (SP 800-38D §6.4), computed by the `ghash` crate (constant time).
fn mul(a: &Block, b: &Block) -> Block {
    use ghash::universal_hash::UniversalHash;
    let mut g = ghash::GHash::new(&(*b).into());
    g.update_padded(a);
    g.finalize().into()
}

fn xor(a: &Block, b: &Block) -> Block {
    let mut out = *a;
    for (o, x) in out.iter_mut().zip(b) {
        *o ^= x;
    }
    out
}

/// `x^e`; `e` is public (a length, or the fixed exponent of the inverse), `x` may be secret.
fn pow(x: &Block, e: u128) -> Zeroizing<Block> {
    let mut result = Zeroizing::new(ONE);
    for bit in (0..128).rev() {
        *result = mul(&result, &result);
        if (e >> bit) & 1 == 1 {
            *result = mul(&result, x);
        }
    }
    result
}

/// A length block: `[a]_64 || [b]_64`, lengths in bytes written in bits (SP 800-38D §7.1).
pub(crate) fn lengths(a: u64, b: u64) -> Block {
    let mut out = [0u8; 16];
    let (hi, lo) = out.split_at_mut(8);
    hi.copy_from_slice(&a.wrapping_mul(8).to_be_bytes());
    lo.copy_from_slice(&b.wrapping_mul(8).to_be_bytes());
    out
}

/// The tag of AES-GCM content sealed chunk by chunk elsewhere (module docs).
pub struct GcmChunks {
    key: Zeroizing<alloc::vec::Vec<u8>>,
    nonce: [u8; 12],
    h: Zeroizing<Block>,
    h_inv: Zeroizing<Block>,
    h_inv2: Zeroizing<Block>,
    /// Horner state of GHASH over the AAD and the chunks so far (no length block).
    state: Zeroizing<Block>,
    /// `(b, H^b)` for the last chunk size seen (all chunks but the last share one).
    step: Option<(u64, Zeroizing<Block>)>,
    aad_len: u64,
    len: u64,
    /// A chunk whose length is not a multiple of 16 was taken: it was the last.
    ended: bool,
}

impl core::fmt::Debug for GcmChunks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GcmChunks")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

fn misuse(detail: &'static str) -> Error {
    Error::misuse(detail)
}

impl GcmChunks {
    /// Start the tag of AES-128/256-GCM content under `key` and the 12-byte `nonce`, with the
    /// additional authenticated data `aad` (AuthEnvelopedData's authAttrs; empty when none).
    ///
    /// # Errors
    /// `API_MISUSE` for a key of another size or a nonce of another length.
    pub fn new(key: &[u8], nonce: &[u8], aad: &[u8]) -> Result<Self> {
        use ghash::universal_hash::UniversalHash;
        if !matches!(key.len(), 16 | 32) || nonce.len() != 12 {
            return Err(misuse(
                "GCM chunks: a 16- or 32-byte key and a 12-byte nonce",
            ));
        }
        let mut n = [0u8; 12];
        n.copy_from_slice(nonce);
        let key = Zeroizing::new(key.to_vec());
        let mut h = Zeroizing::new([0u8; 16]);
        encrypt_block(&key, &mut h)?;
        // H^-1 = H^(2^128 - 2): the multiplicative group has order 2^128 - 1.
        let h_inv = pow(&h, u128::MAX - 1);
        let h_inv2 = Zeroizing::new(mul(&h_inv, &h_inv));
        let mut g = ghash::GHash::new(&(*h).into());
        g.update_padded(aad);
        let state = Zeroizing::new(g.finalize().into());
        Ok(Self {
            key,
            nonce: n,
            h,
            h_inv,
            h_inv2,
            state,
            step: None,
            aad_len: aad.len() as u64,
            len: 0,
            ended: false,
        })
    }

    /// `nonce || counter`, a pre-counter block.
    fn j0(&self, counter: u32) -> Block {
        let mut j0 = [0u8; 16];
        let (n, c) = j0.split_at_mut(12);
        n.copy_from_slice(&self.nonce);
        c.copy_from_slice(&counter.to_be_bytes());
        j0
    }

    /// The pre-counter block of the chunk at `offset`: `nonce || 1 + offset / 16`.
    fn chunk_j0(&self, offset: u64) -> Result<Block> {
        if !offset.is_multiple_of(16) || offset >= MAX_CONTENT {
            return Err(misuse(
                "GCM chunks: an offset that is a multiple of 16, in range",
            ));
        }
        let counter = u32::try_from(1 + offset / 16)
            .map_err(|_| misuse("GCM chunks: offset out of range"))?;
        Ok(self.j0(counter))
    }

    /// The 16-byte IV under which AES-GCM (with this key) seals the chunk at byte `offset` with
    /// the keystream the whole content has there: `(J0_i xor [128]_128 * H) * H^-2`.
    ///
    /// # Errors
    /// `API_MISUSE` for an offset that is not a multiple of 16 or past GCM's limit.
    pub fn iv(&self, offset: u64) -> Result<[u8; 16]> {
        let j0 = self.chunk_j0(offset)?;
        let l = lengths(0, 16); // [0]_64 || [128]_64
        Ok(mul(&xor(&j0, &mul(&l, &self.h)), &self.h_inv2))
    }

    /// Take the tag AES-GCM gave for the chunk of `length` bytes at `offset`, sealed under
    /// [`Self::iv`]`(offset)` with no AAD. Chunks come in order, every one but the last a
    /// multiple of 16 bytes long.
    ///
    /// # Errors
    /// `API_MISUSE` for a chunk out of order, after a partial one, empty, past GCM's limit, or a
    /// tag that is not 16 bytes.
    pub fn absorb(&mut self, offset: u64, length: u64, tag: &[u8]) -> Result<()> {
        self.take(offset, length, tag, lengths(0, length))
    }

    /// As [`Self::absorb`], for the tag AES-GCM gave for sealing an empty plaintext under
    /// [`Self::iv`]`(offset)` with the chunk's `length` bytes of ciphertext as the additional
    /// data (decryption: the chunk's GHASH without an output the size of the chunk).
    ///
    /// # Errors
    /// As [`Self::absorb`].
    pub fn absorb_aad(&mut self, offset: u64, length: u64, tag: &[u8]) -> Result<()> {
        self.take(offset, length, tag, lengths(length, 0))
    }

    /// A chunk's tag, whose GHASH ended with the length block `last`.
    fn take(&mut self, offset: u64, length: u64, tag: &[u8], last: Block) -> Result<()> {
        if offset != self.len || self.ended || length == 0 || tag.len() != 16 {
            return Err(misuse(
                "GCM chunks: chunks in order, each a non-empty multiple of 16 but the last, 16-byte tags",
            ));
        }
        let end = offset
            .checked_add(length)
            .filter(|&e| e <= MAX_CONTENT)
            .ok_or_else(|| misuse("GCM chunks: content past GCM's limit"))?;
        let mut ek = Zeroizing::new(self.chunk_j0(offset)?);
        encrypt_block(&self.key, &mut ek)?;
        let mut t = [0u8; 16];
        t.copy_from_slice(tag);
        // G = GHASH_H(C || L) = (Y xor L) * H, so Y = G * H^-1 xor L.
        let g = Zeroizing::new(xor(&t, &ek));
        let y = Zeroizing::new(xor(&mul(&g, &self.h_inv), &last));
        let blocks = length.div_ceil(16);
        if self.step.as_ref().is_none_or(|(b, _)| *b != blocks) {
            self.step = Some((blocks, pow(&self.h, u128::from(blocks))));
        }
        let step = self.step.as_ref().map_or(ONE, |(_, p)| **p);
        *self.state = xor(&mul(&self.state, &step), &y);
        self.len = end;
        self.ended = !length.is_multiple_of(16);
        Ok(())
    }

    /// The 16-byte tag of the whole content (every chunk taken).
    ///
    /// # Errors
    /// `API_MISUSE` only if the key no longer fits AES (it was checked in [`Self::new`]).
    pub fn finish(self) -> Result<[u8; 16]> {
        let s = Zeroizing::new(mul(
            &xor(&self.state, &lengths(self.aad_len, self.len)),
            &self.h,
        ));
        let mut ek = Zeroizing::new(self.j0(1));
        encrypt_block(&self.key, &mut ek)?;
        Ok(xor(&s, &ek))
    }

    /// Does `tag` match the tag of the whole content (constant time)?
    ///
    /// # Errors
    /// As [`Self::finish`].
    pub fn verify(self, tag: &[u8]) -> Result<bool> {
        let mine = self.finish()?;
        Ok(subtle::ConstantTimeEq::ct_eq(mine.as_slice(), tag).into())
    }
}

/// `E(K, block)` in place, AES-128 or AES-256 by the key's length.
pub(crate) fn encrypt_block(key: &[u8], block: &mut Block) -> Result<()> {
    let bad = || misuse("GCM chunks: a 16- or 32-byte key");
    let b: &mut aes::Block = block.into();
    match key.len() {
        16 => aes::Aes128::new_from_slice(key)
            .map_err(|_| bad())?
            .encrypt_block(b),
        32 => aes::Aes256::new_from_slice(key)
            .map_err(|_| bad())?
            .encrypt_block(b),
        _ => return Err(bad()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::{consts::U16, AeadInOut, KeyInit};

    /// What WebCrypto does with a 16-byte IV: AES-GCM with that IV (SP 800-38D, any IV length).
    fn seal_16(key: &[u8], iv: &[u8; 16], plain: &[u8]) -> (alloc::vec::Vec<u8>, [u8; 16]) {
        let mut buf = plain.to_vec();
        let tag = if key.len() == 16 {
            aes_gcm::AesGcm::<aes::Aes128, U16>::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(iv.into(), b"", buf.as_mut_slice().into())
                .unwrap()
        } else {
            aes_gcm::AesGcm::<aes::Aes256, U16>::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(iv.into(), b"", buf.as_mut_slice().into())
                .unwrap()
        };
        (buf, tag.into())
    }

    /// What WebCrypto does sealing nothing under a 16-byte IV with `aad`: the tag alone.
    fn seal_16_aad(key: &[u8], iv: &[u8; 16], aad: &[u8]) -> [u8; 16] {
        let mut empty = [0u8; 0];
        let tag = if key.len() == 16 {
            aes_gcm::AesGcm::<aes::Aes128, U16>::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(iv.into(), aad, empty.as_mut_slice().into())
                .unwrap()
        } else {
            aes_gcm::AesGcm::<aes::Aes256, U16>::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(iv.into(), aad, empty.as_mut_slice().into())
                .unwrap()
        };
        tag.into()
    }

    /// The whole content sealed with the real 12-byte nonce (the reference).
    fn seal_12(
        key: &[u8],
        nonce: &[u8; 12],
        aad: &[u8],
        plain: &[u8],
    ) -> (alloc::vec::Vec<u8>, [u8; 16]) {
        let mut buf = plain.to_vec();
        let tag = if key.len() == 16 {
            aes_gcm::Aes128Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
                .unwrap()
        } else {
            aes_gcm::Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(nonce.into(), aad, buf.as_mut_slice().into())
                .unwrap()
        };
        (buf, tag.into())
    }

    #[test]
    fn field_arithmetic() {
        let x: Block = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
        assert_eq!(mul(&x, &ONE), x);
        assert_eq!(mul(&ONE, &x), x);
        let inv = pow(&x, u128::MAX - 1);
        assert_eq!(mul(&x, &inv), ONE);
        assert_eq!(*pow(&x, 3), mul(&mul(&x, &x), &x));
        assert_eq!(*pow(&x, 0), ONE);
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // test bytes
    fn chunk_tags_make_the_whole_tag() {
        for key_len in [16usize, 32] {
            let key: alloc::vec::Vec<u8> = (0..key_len)
                .map(|i| (i as u8).wrapping_mul(13).wrapping_add(5))
                .collect();
            let nonce: [u8; 12] = core::array::from_fn(|i| i as u8 * 3 + 1);
            for aad in [&b""[..], &[0x31; 37][..]] {
                for (len, chunk) in [
                    (0usize, 16usize),
                    (1, 16),
                    (16, 16),
                    (100, 16),
                    (100, 32),
                    (1000, 48),
                    (1024, 256),
                    (4099, 1024),
                    (70000, 65536),
                ] {
                    let plain: alloc::vec::Vec<u8> =
                        (0..len).map(|i| (i * 31 % 251) as u8).collect();
                    let (whole, whole_tag) = seal_12(&key, &nonce, aad, &plain);
                    let mut chunks = GcmChunks::new(&key, &nonce, aad).unwrap();
                    for (i, piece) in plain.chunks(chunk).enumerate() {
                        let at = i * chunk;
                        let iv = chunks.iv(at as u64).unwrap();
                        let (ct, tag) = seal_16(&key, &iv, piece);
                        // The chunk's IV puts the whole content's keystream under the chunk.
                        assert_eq!(
                            ct.as_slice(),
                            &whole[at..at + piece.len()],
                            "{len} {chunk} {i}"
                        );
                        chunks.absorb(at as u64, piece.len() as u64, &tag).unwrap();
                    }
                    let mut check = GcmChunks::new(&key, &nonce, aad).unwrap();
                    for (i, piece) in plain.chunks(chunk).enumerate() {
                        let at = (i * chunk) as u64;
                        let (_, tag) = seal_16(&key, &check.iv(at).unwrap(), piece);
                        check.absorb(at, piece.len() as u64, &tag).unwrap();
                    }
                    // Decryption's way: each chunk of ciphertext as the AAD of an empty seal.
                    let mut by_aad = GcmChunks::new(&key, &nonce, aad).unwrap();
                    for (i, piece) in whole.chunks(chunk).enumerate() {
                        let at = (i * chunk) as u64;
                        let tag = seal_16_aad(&key, &by_aad.iv(at).unwrap(), piece);
                        by_aad.absorb_aad(at, piece.len() as u64, &tag).unwrap();
                    }
                    assert!(
                        by_aad.verify(&whole_tag).unwrap(),
                        "{key_len} {len} {chunk}"
                    );
                    assert_eq!(
                        chunks.finish().unwrap(),
                        whole_tag,
                        "{key_len} {len} {chunk}"
                    );
                    let mut wrong = whole_tag;
                    wrong[0] ^= 0x80;
                    assert!(!check.verify(&wrong).unwrap());
                }
            }
        }
    }

    #[test]
    fn a_changed_chunk_fails_the_tag() {
        let key = [9u8; 32];
        let nonce = [4u8; 12];
        let plain = [0x42u8; 100];
        let (mut whole, tag) = seal_12(&key, &nonce, b"", &plain);
        whole[70] ^= 1;
        // Decryption's view: the plaintext of the (changed) ciphertext, sealed again per chunk.
        let mut chunks = GcmChunks::new(&key, &nonce, b"").unwrap();
        let mut keystream = [0u8; 100];
        let (ks, _) = seal_12(&key, &nonce, b"", &keystream);
        keystream.copy_from_slice(&ks);
        let changed: alloc::vec::Vec<u8> =
            whole.iter().zip(keystream).map(|(c, k)| c ^ k).collect();
        for (i, piece) in changed.chunks(32).enumerate() {
            let at = (i * 32) as u64;
            let (ct, t) = seal_16(&key, &chunks.iv(at).unwrap(), piece);
            assert_eq!(ct.as_slice(), &whole[i * 32..i * 32 + piece.len()]);
            chunks.absorb(at, piece.len() as u64, &t).unwrap();
        }
        assert!(!chunks.verify(&tag).unwrap());
        let mut by_aad = GcmChunks::new(&key, &nonce, b"").unwrap();
        for (i, piece) in whole.chunks(32).enumerate() {
            let at = (i * 32) as u64;
            let t = seal_16_aad(&key, &by_aad.iv(at).unwrap(), piece);
            by_aad.absorb_aad(at, piece.len() as u64, &t).unwrap();
        }
        assert!(!by_aad.verify(&tag).unwrap());
        // A tag of the sealed form taken as the AAD form (or the other way) does not pass.
        let (good, _) = seal_12(&key, &nonce, b"", &plain);
        let mut mixed = GcmChunks::new(&key, &nonce, b"").unwrap();
        let t = seal_16_aad(&key, &mixed.iv(0).unwrap(), &good);
        mixed.absorb(0, 100, &t).unwrap();
        let (_, good_tag) = seal_12(&key, &nonce, b"", &plain);
        assert!(!mixed.verify(&good_tag).unwrap());
    }

    #[test]
    fn misuse_is_api_misuse() {
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(
            GcmChunks::new(&[0; 24], &[0; 12], b"").unwrap_err().code(),
            "API_MISUSE"
        );
        assert_eq!(
            GcmChunks::new(&[0; 16], &[0; 16], b"").unwrap_err().code(),
            "API_MISUSE"
        );
        let mut c = GcmChunks::new(&[0; 16], &[0; 12], b"").unwrap();
        assert_eq!(c.iv(15).unwrap_err().code(), "API_MISUSE");
        assert_eq!(c.iv(MAX_CONTENT).unwrap_err().code(), "API_MISUSE");
        assert_eq!(code(c.absorb(16, 16, &[0; 16])), "API_MISUSE"); // out of order
        assert_eq!(code(c.absorb(0, 0, &[0; 16])), "API_MISUSE"); // empty
        assert_eq!(code(c.absorb(0, 16, &[0; 15])), "API_MISUSE"); // short tag
        assert_eq!(code(c.absorb(0, MAX_CONTENT + 1, &[0; 16])), "API_MISUSE");
        c.absorb(0, 17, &[0; 16]).unwrap();
        assert_eq!(code(c.absorb(17, 16, &[0; 16])), "API_MISUSE"); // after a partial chunk
        assert_eq!(code(c.absorb_aad(17, 16, &[0; 16])), "API_MISUSE");
        let mut d = GcmChunks::new(&[0; 16], &[0; 12], b"").unwrap();
        assert_eq!(code(d.absorb_aad(16, 16, &[0; 16])), "API_MISUSE"); // out of order
        assert_eq!(code(d.absorb_aad(0, 0, &[0; 16])), "API_MISUSE"); // empty
        assert_eq!(code(d.absorb_aad(0, 16, &[0; 17])), "API_MISUSE"); // long tag
    }
}
