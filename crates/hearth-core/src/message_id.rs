//! A message's id as it is written outside the engine's types: in JSON, in
//! headless commands and in logs.

use serde::{Deserialize, Serialize};

use crate::{DeviceId, OpId};

/// A message: the op that wrote it. Written as `<author hex>:<seq>` in JSON, in
/// headless commands and in logs; everywhere else it is this type, so an id can only
/// be one the engine made or one that was read and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub OpId);

impl MessageId {
    /// The op behind the message.
    pub fn op(self) -> OpId {
        self.0
    }
}

impl From<OpId> for MessageId {
    fn from(id: OpId) -> MessageId {
        MessageId(id)
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0.author.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ":{}", self.0.seq)
    }
}

/// Text that is not a message id: not `<64 hex digits>:<seq ≥ 1>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a message id: {0:?}")]
pub struct BadMessageId(pub String);

impl std::str::FromStr for MessageId {
    type Err = BadMessageId;

    fn from_str(text: &str) -> Result<MessageId, BadMessageId> {
        let bad = || BadMessageId(text.chars().take(80).collect());
        let (hex, seq) = text.split_once(':').ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut author = [0u8; 32];
        for (i, byte) in author.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        let seq = seq.parse().ok().filter(|&s| s > 0).ok_or_else(bad)?;
        Ok(MessageId(OpId {
            author: DeviceId(author),
            seq,
        }))
    }
}

impl Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MessageId, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_read_back_as_written_and_refuse_anything_else() {
        let id = MessageId(OpId {
            author: DeviceId([0xab; 32]),
            seq: 42,
        });
        let text = id.to_string();
        assert_eq!(text, format!("{}:42", "ab".repeat(32)));
        assert_eq!(text.parse::<MessageId>(), Ok(id));
        assert_eq!(
            serde_json::to_value(id).ok(),
            Some(serde_json::Value::String(text.clone()))
        );
        assert_eq!(
            serde_json::from_value::<MessageId>(serde_json::Value::String(text)).ok(),
            Some(id)
        );
        for bad in [
            "",
            "42",
            &format!("{}:42", "ab".repeat(31)),
            &format!("{}:0", "ab".repeat(32)),
            &format!("{}:-1", "ab".repeat(32)),
            &format!("{}:42", "zz".repeat(32)),
            &format!("{}é:42", "ab".repeat(31)),
        ] {
            assert!(bad.parse::<MessageId>().is_err(), "{bad:?} was accepted");
        }
    }
}
