//! Inbound XML from WeChat, parsed into typed values. Any field may be CDATA or bare text;
//! DOCTYPE (and so any entity declaration) is refused before it can do harm.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::Event as XmlEvent;

use crate::domain::{MsgKey, OpenId};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body is not well-formed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("the root element must be <xml>")]
    Root,
    #[error("the required field {0} is missing or invalid")]
    Field(&'static str),
}

/// The direct children of `<xml>`, as text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Fields(HashMap<String, String>);

impl Fields {
    pub fn parse(xml: &str) -> Result<Self, ParseError> {
        let mut reader = Reader::from_str(xml);
        let mut fields = HashMap::new();
        let mut depth = 0usize;
        let mut current: Option<String> = None;
        let mut text = String::new();
        loop {
            match reader.read_event() {
                Err(e) => return Err(ParseError::Malformed(e.to_string())),
                Ok(XmlEvent::DocType(_)) => return Err(ParseError::Doctype),
                Ok(XmlEvent::Start(e)) => {
                    depth += 1;
                    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                    if depth == 1 && name != "xml" {
                        return Err(ParseError::Root);
                    }
                    if depth == 2 {
                        current = Some(name);
                        text.clear();
                    }
                }
                Ok(XmlEvent::Empty(e)) => {
                    if depth == 0 {
                        return Err(ParseError::Root);
                    }
                    if depth == 1 {
                        let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                        fields.insert(name, String::new());
                    }
                }
                Ok(XmlEvent::Text(t)) if depth == 2 => {
                    let s = t.unescape().map_err(|e| ParseError::Malformed(e.to_string()))?;
                    text.push_str(&s);
                }
                Ok(XmlEvent::CData(c)) if depth == 2 => {
                    text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
                Ok(XmlEvent::End(_)) => {
                    if depth == 2
                        && let Some(name) = current.take()
                    {
                        fields.insert(name, std::mem::take(&mut text));
                    }
                    depth = depth.saturating_sub(1);
                }
                Ok(XmlEvent::Eof) => break,
                Ok(_) => {}
            }
        }
        if depth != 0 {
            return Err(ParseError::Malformed("unclosed element".into()));
        }
        if fields.is_empty() && !xml.contains("<xml") {
            return Err(ParseError::Root);
        }
        Ok(Fields(fields))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, ParseError> {
        self.get(name).ok_or(ParseError::Field(name))
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str) -> Result<T, ParseError> {
        self.require(name)?.parse().map_err(|_| ParseError::Field(name))
    }

    fn optional_number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|v| v.parse().ok())
    }
}

/// One message or event pushed by WeChat.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// The account's original ID (`gh_…`).
    pub to: String,
    pub from: OpenId,
    pub create_time: i64,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Text {
        content: String,
        msg_id: i64,
    },
    /// `recognition` is WeChat's speech-to-text, when enabled and non-empty.
    Voice {
        recognition: Option<String>,
        msg_id: i64,
    },
    Image {
        pic_url: String,
        msg_id: i64,
    },
    Video {
        msg_id: i64,
    },
    Location {
        latitude: f64,
        longitude: f64,
        label: String,
        msg_id: i64,
    },
    Link {
        title: String,
        url: String,
        msg_id: i64,
    },
    /// `scene` is the QR-code scene without its `qrscene_` prefix.
    Subscribe {
        scene: Option<String>,
    },
    Unsubscribe,
    Scan {
        scene: String,
    },
    Click {
        key: String,
    },
    View {
        url: String,
    },
    LocationReport {
        latitude: f64,
        longitude: f64,
    },
    /// A message or event type lawline does not handle; acknowledged and logged.
    Other {
        kind: String,
        msg_id: Option<i64>,
    },
}

impl Inbound {
    pub fn parse(xml: &str) -> Result<Self, ParseError> {
        Self::from_fields(&Fields::parse(xml)?)
    }

    pub fn from_fields(f: &Fields) -> Result<Self, ParseError> {
        let to = f.require("ToUserName")?.to_owned();
        let from = OpenId::parse(f.require("FromUserName")?).map_err(|_| ParseError::Field("FromUserName"))?;
        let create_time: i64 = f.number("CreateTime")?;
        let msg_type = f.require("MsgType")?;
        let id = || f.number::<i64>("MsgId");
        let text = |name: &str| f.get(name).unwrap_or_default().to_owned();
        let body = match msg_type {
            "text" => Body::Text { content: text("Content"), msg_id: id()? },
            "voice" => Body::Voice { recognition: f.get("Recognition").map(str::to_owned), msg_id: id()? },
            "image" => Body::Image { pic_url: text("PicUrl"), msg_id: id()? },
            "video" | "shortvideo" => Body::Video { msg_id: id()? },
            "location" => Body::Location {
                latitude: f.number("Location_X")?,
                longitude: f.number("Location_Y")?,
                label: text("Label"),
                msg_id: id()?,
            },
            "link" => Body::Link { title: text("Title"), url: text("Url"), msg_id: id()? },
            "event" => {
                let event = f.require("Event")?;
                let key = text("EventKey");
                match event {
                    "subscribe" => Body::Subscribe { scene: key.strip_prefix("qrscene_").map(str::to_owned) },
                    "unsubscribe" => Body::Unsubscribe,
                    "SCAN" => Body::Scan { scene: key },
                    "CLICK" => Body::Click { key },
                    "VIEW" => Body::View { url: key },
                    "LOCATION" => {
                        Body::LocationReport { latitude: f.number("Latitude")?, longitude: f.number("Longitude")? }
                    }
                    other => Body::Other { kind: format!("event:{other}"), msg_id: None },
                }
            }
            other => Body::Other { kind: other.to_owned(), msg_id: f.optional_number("MsgId") },
        };
        Ok(Inbound { to, from, create_time, body })
    }

    /// The key under which this delivery is processed once: MsgId for messages,
    /// FromUserName + CreateTime + Event for events.
    pub fn key(&self) -> MsgKey {
        let msg_id = match &self.body {
            Body::Text { msg_id, .. }
            | Body::Voice { msg_id, .. }
            | Body::Image { msg_id, .. }
            | Body::Video { msg_id }
            | Body::Location { msg_id, .. }
            | Body::Link { msg_id, .. } => Some(*msg_id),
            Body::Other { msg_id, .. } => *msg_id,
            _ => None,
        };
        match (msg_id, &self.body) {
            (Some(id), _) => MsgKey::message(id),
            // Two menu clicks in one second are two deliveries.
            (None, Body::Click { key }) => MsgKey::event(&self.from, self.create_time, &format!("CLICK:{key}")),
            (None, _) => MsgKey::event(&self.from, self.create_time, self.kind()),
        }
    }

    /// A short name of the type, for logs and the message log.
    pub fn kind(&self) -> &str {
        match &self.body {
            Body::Text { .. } => "text",
            Body::Voice { .. } => "voice",
            Body::Image { .. } => "image",
            Body::Video { .. } => "video",
            Body::Location { .. } => "location",
            Body::Link { .. } => "link",
            Body::Subscribe { .. } => "subscribe",
            Body::Unsubscribe => "unsubscribe",
            Body::Scan { .. } => "SCAN",
            Body::Click { .. } => "CLICK",
            Body::View { .. } => "VIEW",
            Body::LocationReport { .. } => "LOCATION",
            Body::Other { kind, .. } => kind,
        }
    }

    /// What the resident said, as text, where the message carries any.
    pub fn text(&self) -> Option<&str> {
        match &self.body {
            Body::Text { content, .. } => Some(content),
            Body::Voice { recognition: Some(r), .. } => Some(r),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(inner: &str) -> String {
        format!(
            "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oUser123]]></FromUserName><CreateTime>1700000000</CreateTime>{inner}</xml>"
        )
    }

    #[test]
    fn text_message_with_cdata_and_bare_fields() {
        let m = Inbound::parse(&wrap(
            "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[公司不发工资怎么办]]></Content><MsgId>6054768590064713728</MsgId>",
        ))
        .unwrap();
        assert_eq!(m.to, "gh_abc");
        assert_eq!(m.from.as_str(), "oUser123");
        assert_eq!(m.create_time, 1_700_000_000);
        assert_eq!(m.body, Body::Text { content: "公司不发工资怎么办".into(), msg_id: 6054768590064713728 });
        assert_eq!(m.key().as_str(), "msg:6054768590064713728");
        assert_eq!(m.text(), Some("公司不发工资怎么办"));
    }

    #[test]
    fn bare_text_is_unescaped() {
        let m = Inbound::parse(&wrap("<MsgType>text</MsgType><Content>a &amp; b</Content><MsgId>1</MsgId>")).unwrap();
        assert_eq!(m.text(), Some("a & b"));
    }

    #[test]
    fn voice_uses_recognition_when_present() {
        let with = Inbound::parse(&wrap(
            "<MsgType><![CDATA[voice]]></MsgType><MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format><Recognition><![CDATA[我想离婚]]></Recognition><MsgId>2</MsgId>",
        ))
        .unwrap();
        assert_eq!(with.text(), Some("我想离婚"));
        let without = Inbound::parse(&wrap(
            "<MsgType><![CDATA[voice]]></MsgType><Recognition><![CDATA[]]></Recognition><MsgId>3</MsgId>",
        ))
        .unwrap();
        assert_eq!(without.text(), None);
    }

    #[test]
    fn location_and_link_and_image() {
        let loc = Inbound::parse(&wrap(
            "<MsgType><![CDATA[location]]></MsgType><Location_X>37.88</Location_X><Location_Y>118.52</Location_Y><Scale>15</Scale><Label><![CDATA[河口区]]></Label><MsgId>4</MsgId>",
        ))
        .unwrap();
        assert!(
            matches!(loc.body, Body::Location { latitude, longitude, .. } if (latitude - 37.88).abs() < 1e-9 && (longitude - 118.52).abs() < 1e-9)
        );
        let link = Inbound::parse(&wrap(
            "<MsgType>link</MsgType><Title>t</Title><Description>d</Description><Url>https://x</Url><MsgId>5</MsgId>",
        ))
        .unwrap();
        assert_eq!(link.body, Body::Link { title: "t".into(), url: "https://x".into(), msg_id: 5 });
        let img =
            Inbound::parse(&wrap("<MsgType>image</MsgType><PicUrl>p</PicUrl><MediaId>m</MediaId><MsgId>6</MsgId>"))
                .unwrap();
        assert_eq!(img.kind(), "image");
    }

    #[test]
    fn events() {
        let sub = Inbound::parse(&wrap(
            "<MsgType>event</MsgType><Event>subscribe</Event><EventKey>qrscene_village-12</EventKey><Ticket>t</Ticket>",
        ))
        .unwrap();
        assert_eq!(sub.body, Body::Subscribe { scene: Some("village-12".into()) });
        assert_eq!(sub.key().as_str(), "evt:oUser123:1700000000:subscribe");
        let plain = Inbound::parse(&wrap("<MsgType>event</MsgType><Event>subscribe</Event>")).unwrap();
        assert_eq!(plain.body, Body::Subscribe { scene: None });
        let click =
            Inbound::parse(&wrap("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>ASK</EventKey>")).unwrap();
        assert_eq!(click.body, Body::Click { key: "ASK".into() });
        let other =
            Inbound::parse(&wrap("<MsgType>event</MsgType><Event>CLICK</Event><EventKey>BOOK</EventKey>")).unwrap();
        assert_ne!(click.key(), other.key(), "two buttons in the same second are two deliveries");
        let scan = Inbound::parse(&wrap("<MsgType>event</MsgType><Event>SCAN</Event><EventKey>42</EventKey>")).unwrap();
        assert_eq!(scan.body, Body::Scan { scene: "42".into() });
        let view = Inbound::parse(&wrap(
            "<MsgType>event</MsgType><Event>VIEW</Event><EventKey>https://a</EventKey><MenuId>1</MenuId>",
        ))
        .unwrap();
        assert_eq!(view.body, Body::View { url: "https://a".into() });
        let rep = Inbound::parse(&wrap("<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>23.1</Latitude><Longitude>113.3</Longitude><Precision>119.4</Precision>")).unwrap();
        assert_eq!(rep.kind(), "LOCATION");
        let unsub = Inbound::parse(&wrap("<MsgType>event</MsgType><Event>unsubscribe</Event>")).unwrap();
        assert_eq!(unsub.body, Body::Unsubscribe);
        let other = Inbound::parse(&wrap("<MsgType>event</MsgType><Event>TEMPLATESENDJOBFINISH</Event>")).unwrap();
        assert_eq!(other.kind(), "event:TEMPLATESENDJOBFINISH");
    }

    #[test]
    fn unknown_type_is_other() {
        let m = Inbound::parse(&wrap("<MsgType>miniprogrampage</MsgType><MsgId>9</MsgId>")).unwrap();
        assert_eq!(m.body, Body::Other { kind: "miniprogrampage".into(), msg_id: Some(9) });
        assert_eq!(m.key().as_str(), "msg:9");
    }

    #[test]
    fn hostile_and_broken_input() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><Content>&xxe;</Content></xml>";
        assert_eq!(Inbound::parse(xxe).unwrap_err(), ParseError::Doctype);
        assert!(matches!(Inbound::parse("<xml><a>").unwrap_err(), ParseError::Malformed(_)));
        assert!(matches!(Inbound::parse("<xml><a></b></xml>").unwrap_err(), ParseError::Malformed(_)));
        assert_eq!(Inbound::parse("<root><a>1</a></root>").unwrap_err(), ParseError::Root);
        assert_eq!(Inbound::parse("").unwrap_err(), ParseError::Root);
        assert_eq!(
            Inbound::parse(&wrap("<MsgType>text</MsgType><Content>x</Content>")).unwrap_err(),
            ParseError::Field("MsgId")
        );
        assert_eq!(
            Inbound::parse(&wrap("<MsgType>text</MsgType><Content>x</Content><MsgId>1.5e3</MsgId>")).unwrap_err(),
            ParseError::Field("MsgId")
        );
    }
}
