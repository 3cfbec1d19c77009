use super::OpenId;

/// The key a WeChat delivery is processed once under: `msg:<MsgId>` for messages,
/// `evt:<openid>:<CreateTime>:<Event>` for events (which carry no MsgId).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsgKey(String);

impl MsgKey {
    pub fn message(msg_id: i64) -> Self {
        MsgKey(format!("msg:{msg_id}"))
    }

    pub fn event(from: &OpenId, create_time: i64, event: &str) -> Self {
        MsgKey(format!("evt:{}:{create_time}:{event}", from.as_str()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
