//! One line of headless input read into a command: JSON, an object with a `cmd`
//! and an optional `req` that the answer carries back. Everything here is about
//! bytes someone else wrote, so it never panics: anything else is an error message
//! for a `bad_request`. It depends on nothing but serde and hearth-core, so the
//! fuzz target `headless_line` builds this very file.

use std::path::PathBuf;

use hearth_core::MessageId;
use serde::Deserialize;
use serde_json::Value;

/// One command.
#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum Request {
    Init {
        name: String,
        language: String,
        time_zone: String,
    },
    Status,
    Invite,
    NearbyCode,
    Pair {
        code: String,
    },
    RejectPairing,
    Dial {
        addr: String,
    },
    Send {
        text: String,
        reply_to: Option<MessageId>,
        /// Rings through the partner's quiet hours.
        #[serde(default)]
        urgent: bool,
        /// Shows on the partner's device at this instant (ms since the epoch).
        at: Option<i64>,
        /// Shows at the partner's morning, or when their quiet hours end.
        at_partner: Option<AtPartner>,
    },
    CancelScheduled {
        id: MessageId,
    },
    React {
        id: MessageId,
        emoji: String,
    },
    Unreact {
        id: MessageId,
        emoji: String,
    },
    Edit {
        id: MessageId,
        text: String,
    },
    Delete {
        id: MessageId,
    },
    Read {
        up_to: MessageId,
    },
    History {
        limit: Option<usize>,
        before: Option<MessageId>,
    },
    Typing,
    SendFile {
        path: PathBuf,
        #[serde(default)]
        view_once: bool,
        /// Seconds after the partner opens it.
        expires_in: Option<u64>,
    },
    SaveFile {
        id: MessageId,
        path: PathBuf,
    },
    OpenFile {
        id: MessageId,
    },
    PauseDownload {
        id: MessageId,
    },
    ResumeDownload {
        id: MessageId,
    },
    Memories {
        limit: Option<usize>,
        before: Option<MessageId>,
    },
    SetNetwork {
        internet: bool,
        #[serde(default)]
        relays: Vec<String>,
    },
    MailboxPair {
        code: String,
    },
    MailboxStatus,
    MailboxLeave,
    Uncouple {
        #[serde(default)]
        delete_history: bool,
    },
    Backup {
        path: PathBuf,
        passphrase: String,
    },
    Days,
    SetDay {
        kind: DayKind,
        /// `YYYY-MM-DD`.
        date: String,
        #[serde(default)]
        title: String,
        /// An anniversary to change; without it, one is added.
        id: Option<String>,
    },
    RemoveDay {
        id: String,
    },
    Mood {
        /// `joy`, `loved`, `calm`, `excited`, `missing`, `tired`, `low`, `stressed`.
        mood: String,
        #[serde(default)]
        note: String,
    },
    Moods {
        /// How many days of each one's strip, the newest (28 when absent).
        limit: Option<usize>,
    },
    Boundaries,
    ProposeBoundaries {
        /// My quiet hours, `HH:MM` to `HH:MM` in my time zone (both or neither).
        quiet_start: Option<String>,
        quiet_end: Option<String>,
        /// No quiet hours for me any more.
        #[serde(default)]
        no_quiet: bool,
        /// My preferred ways to be reached.
        reach: Option<String>,
        care: Option<String>,
        media: Option<String>,
        /// Photos and files go view-once unless the sender chooses otherwise.
        view_once: Option<bool>,
    },
    AcceptBoundaries {
        id: MessageId,
    },
    Checkins,
    AddCheckin {
        /// `mon` … `sun`.
        weekdays: Vec<String>,
        /// `HH:MM` in `time_zone`.
        time: String,
        time_zone: String,
    },
    RemoveCheckin {
        id: MessageId,
    },
    Quit,
}

/// When on the partner's clock a message sent for later shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AtPartner {
    /// Their next 08:00.
    Morning,
    /// When their agreed quiet hours next end.
    AfterQuiet,
}

/// Which of the couple's days `set_day` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DayKind {
    TogetherSince,
    Meeting,
    Anniversary,
}

/// Reads one line: the command, and the `req` to answer with. An error says what
/// is wrong, with the `req` when one could be read.
pub(crate) fn parse(line: &str) -> Result<(Request, Option<Value>), (String, Option<Value>)> {
    let mut body: Value =
        serde_json::from_str(line).map_err(|e| (format!("not JSON: {e}"), None))?;
    let req = body.as_object_mut().and_then(|object| object.remove("req"));
    match serde_json::from_value(body) {
        Ok(request) => Ok((request, req)),
        Err(e) => Err((e.to_string(), req)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_into_its_command_and_keeps_its_req() {
        let id = format!("{}:7", "ab".repeat(32));
        let line = format!(r#"{{"cmd":"react","id":"{id}","emoji":"❤️","req":{{"n":1}}}}"#);
        let (request, req) = parse(&line).unwrap();
        assert!(
            matches!(request, Request::React { id: got, ref emoji } if got.to_string() == id && emoji == "❤️")
        );
        assert_eq!(req, Some(serde_json::json!({"n": 1})));
    }

    #[test]
    fn bad_lines_are_said_to_be_bad_with_their_req() {
        for (line, why, req) in [
            ("{", "not JSON", None),
            ("[1,2]", "", None),
            (r#"{"cmd":"fly","req":3}"#, "unknown variant", Some(3)),
            (
                r#"{"cmd":"send","text":"hi","extra":1}"#,
                "unknown field",
                None,
            ),
            (
                r#"{"cmd":"delete","id":"12:0","req":"x"}"#,
                "not a message id",
                None,
            ),
        ] {
            let (message, got) = parse(line)
                .err()
                .unwrap_or_else(|| panic!("{line} was read"));
            assert!(message.contains(why), "{line}: {message}");
            if let Some(n) = req {
                assert_eq!(got, Some(serde_json::json!(n)));
            }
        }
    }
}
