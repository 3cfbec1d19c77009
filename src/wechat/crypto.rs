//! The safe-mode (AES) message cipher of an official account: AES-256-CBC, IV = key[..16],
//! PKCS#7 padding to 32-byte blocks, plaintext `random(16) ‖ len(4, BE) ‖ msg ‖ appid`.

use aes::Aes256;
use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

const BLOCK: usize = 32;

/// EncodingAESKey + "=" has trailing bits set in practice; decode leniently.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the EncodingAESKey must be 43 characters of [A-Za-z0-9]")]
    BadKey,
    #[error("the encrypted message is not valid base64")]
    Base64,
    #[error("the ciphertext length is not a multiple of the block size")]
    Length,
    #[error("the padding is invalid")]
    Padding,
    #[error("the plaintext layout is invalid")]
    Layout,
    #[error("the message was encrypted for another AppID")]
    AppId,
}

/// One EncodingAESKey, ready to use.
#[derive(Clone)]
pub struct AesKey([u8; 32]);

impl AesKey {
    pub fn parse(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let key = encoding_aes_key.trim();
        if key.len() != 43 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CryptoError::BadKey);
        }
        let bytes = LENIENT.decode(format!("{key}=")).map_err(|_| CryptoError::BadKey)?;
        Ok(AesKey(bytes.try_into().map_err(|_| CryptoError::BadKey)?))
    }

    fn iv(&self) -> &[u8] {
        &self.0[..16]
    }
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

/// Encrypts `msg` for `appid` with the given 16-byte random prefix; returns base64.
pub fn encrypt(key: &AesKey, appid: &str, random: &[u8; 16], msg: &str) -> String {
    let mut plain = Vec::with_capacity(20 + msg.len() + appid.len() + BLOCK);
    plain.extend_from_slice(random);
    plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    plain.extend_from_slice(msg.as_bytes());
    plain.extend_from_slice(appid.as_bytes());
    let pad = BLOCK - plain.len() % BLOCK;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    let len = plain.len();
    let cipher =
        cbc::Encryptor::<Aes256>::new_from_slices(&key.0, key.iv()).expect("key and iv have fixed valid lengths");
    let out = cipher.encrypt_padded_mut::<NoPadding>(&mut plain, len).expect("input is block-aligned");
    STANDARD.encode(out)
}

/// Decrypts a base64 `Encrypt` value, checks the AppID and returns the message.
pub fn decrypt(key: &AesKey, appid: &str, encrypted: &str) -> Result<String, CryptoError> {
    let mut data = STANDARD.decode(encrypted.trim()).map_err(|_| CryptoError::Base64)?;
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(CryptoError::Length);
    }
    let cipher =
        cbc::Decryptor::<Aes256>::new_from_slices(&key.0, key.iv()).expect("key and iv have fixed valid lengths");
    let plain = cipher.decrypt_padded_mut::<NoPadding>(&mut data).map_err(|_| CryptoError::Length)?;
    let pad = *plain.last().ok_or(CryptoError::Padding)? as usize;
    if !(1..=BLOCK).contains(&pad) || pad > plain.len() {
        return Err(CryptoError::Padding);
    }
    let plain = &plain[..plain.len() - pad];
    if plain.len() < 20 {
        return Err(CryptoError::Layout);
    }
    let len = u32::from_be_bytes(plain[16..20].try_into().expect("4 bytes")) as usize;
    let end = 20usize.checked_add(len).ok_or(CryptoError::Layout)?;
    if end > plain.len() {
        return Err(CryptoError::Layout);
    }
    if &plain[end..] != appid.as_bytes() {
        return Err(CryptoError::AppId);
    }
    String::from_utf8(plain[20..end].to_vec()).map_err(|_| CryptoError::Layout)
}

/// Tries each key in turn (current first, then the previous one during a rotation)
/// and returns the message with the index of the key that worked.
pub fn decrypt_any(keys: &[AesKey], appid: &str, encrypted: &str) -> Result<(String, usize), CryptoError> {
    let mut last = CryptoError::BadKey;
    for (i, key) in keys.iter().enumerate() {
        match decrypt(key, appid, encrypted) {
            Ok(msg) => return Ok((msg, i)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::signature::sign;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn key_derivation() {
        let key = AesKey::parse(KEY).unwrap();
        assert_eq!(hex::encode(key.0), "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051");
        assert_eq!(AesKey::parse("short").unwrap_err(), CryptoError::BadKey);
        assert_eq!(AesKey::parse(&format!("{}!", &KEY[..42])).unwrap_err(), CryptoError::BadKey);
    }

    #[test]
    fn vector_a_encrypt_with_fixed_random() {
        let key = AesKey::parse(KEY).unwrap();
        let out = encrypt(&key, "wxb11529c136998cb6", b"aaaabbbbccccdddd", "我是中文abcd123");
        assert_eq!(out, "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==");
        assert_eq!(sign(&["pamtest", "1409304348", "xxxxxx", &out]), "82c962d39941aa48552f90ef55aa323dc620cc10");
        assert_eq!(decrypt(&key, "wxb11529c136998cb6", &out).unwrap(), "我是中文abcd123");
    }

    #[test]
    fn vector_b_decrypt_compatible_mode() {
        let key = AesKey::parse(KEY).unwrap();
        let enc = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
        assert_eq!(sign(&["spamtest", "1409735669", "1320562132", enc]), "5d197aaffba7e9b25a30732f161a50dee96bd5fa");
        let msg = decrypt(&key, "wx2c2769f8efd9abc2", enc).unwrap();
        assert_eq!(
            msg,
            "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n</xml>"
        );
        assert_eq!(decrypt(&key, "wx0000000000000000", enc).unwrap_err(), CryptoError::AppId);
    }

    #[test]
    fn vector_c_decrypt() {
        let key = AesKey::parse(KEY).unwrap();
        let enc = "rTNFcsut4LfGuAFKEUVVpwcaCOTJzOd9twZdIW910jb3k+iicx2uvhttIZ3Qg9Qgty3BEF2xbOrz6boTfb30dMomcgrkTqdFPwnhqbk+kIQ7rZiwny9D7NUrTgA5kpX3KsZvrXzUZyP2x9YOlxbgm572lmxKvM7HAQQhIQ/p6HBmoY30bGXFK0BtIu1pW9TjhOYrLQoU18nWYjWqDA1ynkmOytpv7QRI1P1+0NoxL0q2zO1DgeSvnE8CZGo/o5Ap/WHK5W2RAsinpzN4/LjPnmB6U01I5XCoJoC0GK/yMZycd2Oh8Nq6+wBkC1U85oy0ktOY4nLvsQMLrourmMGdZHuTbqpeJ8Ao/5PRYJ+WBvRUwPfGKBL2+2IKZF49vAJqkcGWSHGE76ZN2erXeuNazf/o9o3lIE3q739o4c8t9QGPe31GT2Go/rOz1BsrASwvauNulCh+++yz+CQzBIuikA==";
        assert_eq!(sign(&["pamtest", "1458300676", "260774613", enc]), "4f3ad57b6989f09f4eb392acce4f9e93942ed890");
        assert_eq!(
            decrypt(&key, "wxb11529c136998cb6", enc).unwrap(),
            "<xml><URL><![CDATA[http://wechat.laravel.so/server]]></URL><ToUserName><![CDATA[asdasdasd]]></ToUserName><FromUserName><![CDATA[asdasdasdsadasd]]></FromUserName><CreateTime>1234567898</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>12345</MsgId></xml>"
        );
    }

    #[test]
    fn vector_d_envelope_and_decrypt() {
        let key = AesKey::parse("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR").unwrap();
        let id = "wx49f0ab532d5d035a";
        let plain = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>";
        let enc = encrypt(&key, id, b"1234567890123456", plain);
        assert_eq!(
            enc,
            "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
        );
        assert_eq!(sign(&["123456", "1411525903", "461056294", &enc]), "407518b7649e86ef23978113f92d27afa9296533");
        let other = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
        assert_eq!(sign(&["123456", "1411525903", "461056294", other]), "74d92dfeb87ba7c714f89d98870ae5eb62dff26d");
        let msg = decrypt(&key, id, other).unwrap();
        assert!(msg.contains("<Content><![CDATA[test]]></Content>"));
        assert!(msg.contains("<FromUserName><![CDATA[messense]]></FromUserName>"));
    }

    #[test]
    fn vector_e_all_zero_key() {
        let key = AesKey::parse(&"A".repeat(43)).unwrap();
        let enc = encrypt(
            &key,
            "wx134c8103faa5a59e",
            b"999951349e8ee746",
            "<xml><demo_resp>[CDATA[good luck]]</demo_resp></xml>",
        );
        assert_eq!(
            enc,
            "hE8R6mGXHkJJjU72KxzKUd1GEkKJaEZq7vRL8XgK3o+00k8JGq6+pZJUIlTSyhsX+bxIBQ72g3GyvDdIZcr6+3HAZbSvPT9t/o11MI7d6WELwqrGd7jMnV0zv3Zc9Nq7"
        );
        assert_eq!(sign(&["AAAAA", "1713424427", "415670741", &enc]), "03e0812039325c2712ef5f0f980fd14c70d6e307");
    }

    #[test]
    fn rejects_garbage_and_rotates_keys() {
        let old = AesKey::parse(KEY).unwrap();
        let new = AesKey::parse(&"B".repeat(43)).unwrap();
        assert_eq!(decrypt(&old, "wx", "not base64!!").unwrap_err(), CryptoError::Base64);
        assert_eq!(decrypt(&old, "wx", "AAAA").unwrap_err(), CryptoError::Length);
        let enc = encrypt(&old, "wxapp", &[7; 16], "hello");
        assert!(decrypt(&new, "wxapp", &enc).is_err());
        assert_eq!(decrypt_any(&[new, old], "wxapp", &enc).unwrap(), ("hello".into(), 1));
    }
}
