//! Passive reply XML, and the encrypted envelope for safe mode.

use crate::wechat::{crypto, signature};

/// What lawline says back to a resident in one message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Text {
        content: String,
    },
    /// One article card (a reply to a resident's message may carry only one).
    News {
        title: String,
        description: String,
        url: String,
        pic_url: String,
    },
}

impl Reply {
    pub fn text(content: impl Into<String>) -> Self {
        Reply::Text { content: content.into() }
    }

    /// The text a resident reads, for the message log.
    pub fn summary(&self) -> String {
        match self {
            Reply::Text { content } => content.clone(),
            Reply::News { title, url, .. } => format!("[图文] {title} {url}"),
        }
    }

    /// The passive-reply XML, from `account` (gh_…) to `to` (the OpenID).
    pub fn to_xml(&self, to: &str, account: &str, create_time: i64) -> String {
        let head = format!(
            "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName><CreateTime>{create_time}</CreateTime>",
            cdata(to),
            cdata(account)
        );
        match self {
            Reply::Text { content } => {
                format!("{head}<MsgType><![CDATA[text]]></MsgType><Content>{}</Content></xml>", cdata(content))
            }
            Reply::News { title, description, url, pic_url } => format!(
                "{head}<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles><item><Title>{}</Title><Description>{}</Description><PicUrl>{}</PicUrl><Url>{}</Url></item></Articles></xml>",
                cdata(title),
                cdata(description),
                cdata(pic_url),
                cdata(url)
            ),
        }
    }
}

/// CDATA that stays well-formed even if the text contains `]]>`.
fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

/// Wraps a reply for safe mode: encrypt, sign, and build the envelope.
pub fn encrypted_envelope(
    key: &crypto::AesKey,
    appid: &str,
    token: &str,
    xml: &str,
    timestamp: &str,
    nonce: &str,
) -> String {
    let random: [u8; 16] = rand::random();
    let encrypted = crypto::encrypt(key, appid, &random, xml);
    let sig = signature::sign(&[token, timestamp, nonce, &encrypted]);
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypted),
        cdata(&sig),
        cdata(nonce)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::message::Fields;

    #[test]
    fn text_reply_round_trips() {
        let xml = Reply::text("你好\n第二行 ]]> 结尾").to_xml("oUser", "gh_x", 12345678);
        let f = Fields::parse(&xml).unwrap();
        assert_eq!(f.get("ToUserName"), Some("oUser"));
        assert_eq!(f.get("FromUserName"), Some("gh_x"));
        assert_eq!(f.get("MsgType"), Some("text"));
        assert_eq!(f.get("Content"), Some("你好\n第二行 ]]> 结尾"));
    }

    #[test]
    fn news_reply_has_one_article() {
        let r = Reply::News { title: "t".into(), description: "d".into(), url: "https://u".into(), pic_url: "".into() };
        let xml = r.to_xml("o", "gh", 1);
        assert!(xml.contains("<ArticleCount>1</ArticleCount>"));
        assert!(xml.contains("<Url><![CDATA[https://u]]></Url>"));
    }

    #[test]
    fn envelope_verifies_and_decrypts() {
        let key = crypto::AesKey::parse("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
        let env = encrypted_envelope(&key, "wxapp", "tok", "<xml>hi</xml>", "1411525903", "461056294");
        let f = Fields::parse(&env).unwrap();
        let enc = f.get("Encrypt").unwrap();
        assert!(signature::verify(f.get("MsgSignature").unwrap(), &["tok", "1411525903", "461056294", enc]));
        assert_eq!(crypto::decrypt(&key, "wxapp", enc).unwrap(), "<xml>hi</xml>");
        assert_eq!(f.get("TimeStamp"), Some("1411525903"));
    }
}
