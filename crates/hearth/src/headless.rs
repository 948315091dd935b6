//! The engine over JSON lines. Each input line is one command object with a `cmd`
//! and an optional `req`; each output line is one event object with an `event`, and
//! the answer to a command carries the command's `req`.

use std::path::PathBuf;

use hearth_node::{
    DayKindView, FileSource, Node, NodeConfig, NodeError, NodeEvent, NodeHandle, Profile,
    SendOptions,
};
use serde_json::{Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::request::{self, Request};

/// Longest input line accepted; longer ones are answered with an error.
const MAX_LINE: usize = 256 * 1024;

/// One line of input, as far as it could be read.
#[derive(Debug, PartialEq, Eq)]
enum Input {
    Line(String),
    /// Longer than the limit: dropped as it was read, never held whole.
    TooLong,
    NotText,
}

/// Reads the next line into `buf`, holding at most `max` bytes of it: a longer line
/// is read to its end and dropped, so no input can make this process grow.
/// `None` at the end of the input.
async fn next_input<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<Input>> {
    use tokio::io::AsyncBufReadExt;
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            if buf.is_empty() && !too_long {
                return Ok(None);
            }
            break;
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], at + 1),
            None => (available, available.len()),
        };
        if !too_long && buf.len() + chunk.len() <= max {
            buf.extend_from_slice(chunk);
        } else {
            too_long = true;
            buf.clear();
        }
        let ended = done > chunk.len();
        reader.consume(done);
        if ended {
            break;
        }
    }
    if too_long {
        return Ok(Some(Input::TooLong));
    }
    Ok(Some(match String::from_utf8(std::mem::take(buf)) {
        Ok(line) => Input::Line(line),
        Err(_) => Input::NotText,
    }))
}

fn error(code: &str, message: impl std::fmt::Display) -> Value {
    json!({"event": "error", "code": code, "message": message.to_string()})
}

fn node_error(e: &NodeError) -> Value {
    let mut answer = error(e.code(), e);
    let reason = match e {
        NodeError::Pairing(failure) => Some(failure.code()),
        NodeError::Refused(refusal) => Some(refusal.code()),
        NodeError::Mailbox(failure) => Some(failure.code()),
        NodeError::Backup(failure) => Some(failure.code()),
        _ => None,
    };
    if let (Some(reason), Some(object)) = (reason, answer.as_object_mut()) {
        object.insert("reason".into(), reason.into());
    }
    answer
}

fn with_req(mut event: Value, req: &Option<Value>) -> Value {
    if let (Some(req), Some(object)) = (req, event.as_object_mut()) {
        object.insert("req".into(), req.clone());
    }
    event
}

fn event_json(event: NodeEvent) -> Value {
    match event {
        NodeEvent::Listening(addr) => json!({"event": "listening", "addr": addr}),
        NodeEvent::Paired(info) => json!({
            "event": "paired", "partner": info.partner, "safety_words": info.safety_words,
        }),
        NodeEvent::Unpaired { by_partner } => {
            json!({"event": "unpaired", "by_partner": by_partner})
        }
        NodeEvent::PairingFailed(failure) => json!({
            "event": "pairing_failed", "reason": failure.code(), "message": failure.to_string(),
        }),
        NodeEvent::Message(view) => tagged("message", &view),
        NodeEvent::MessageChanged(view) => tagged("message_changed", &view),
        NodeEvent::Delivery { id, state } => json!({"event": "delivery", "id": id, "state": state}),
        NodeEvent::Presence { online } => json!({"event": "presence", "online": online}),
        NodeEvent::Connection(via) => json!({"event": "connection", "via": via}),
        NodeEvent::Typing => json!({"event": "typing"}),
        NodeEvent::PartnerProfile(profile) => {
            json!({"event": "partner_profile", "profile": profile})
        }
        NodeEvent::Transfer {
            id,
            done,
            total,
            incoming,
        } => {
            json!({"event": "transfer", "id": id, "done": done, "total": total, "incoming": incoming})
        }
        NodeEvent::TransferDone {
            id,
            blake3,
            received,
            rejected_chunks,
        } => json!({
            "event": "transfer_done", "id": id, "blake3": blake3, "received": received,
            "rejected_chunks": rejected_chunks,
        }),
        NodeEvent::TransferFailed { id, reason } => {
            json!({"event": "transfer_failed", "id": id, "code": reason.code(), "reason": reason.to_string()})
        }
        NodeEvent::Mailbox(status) => tagged("mailbox", &status),
        NodeEvent::Days(days) => tagged("days", &days),
        NodeEvent::Reminder(day) => tagged("reminder", &day),
        NodeEvent::Moods(moods) => tagged("moods", &moods),
        NodeEvent::Boundaries(b) => tagged("boundaries", &b),
        NodeEvent::CheckIns(c) => tagged("checkins", &c),
        NodeEvent::CheckInReminder { checkin, missed } => {
            let mut value = tagged("reminder", &checkin);
            value["kind"] = json!("checkin");
            value["missed"] = json!(missed);
            value
        }
        NodeEvent::PartnerQuiet { until } => json!({"event": "partner_quiet", "until": until}),
        NodeEvent::ManyWaiting { count } => json!({"event": "many_waiting", "count": count}),
        NodeEvent::Revealed { id } => json!({"event": "revealed", "id": id}),
        NodeEvent::Notification(notice) => notification_json(&notice),
        NodeEvent::Ended(ended) => tagged("ended", &ended),
        NodeEvent::BackupProgress { done, total } => {
            json!({"event": "backup_progress", "done": done, "total": total})
        }
        NodeEvent::Error(message) => error("engine", message),
    }
}

/// The `attachment` event for a new message that shares a file.
fn attachment_json(view: &hearth_node::MessageView) -> Option<Value> {
    let a = view.attachment.as_ref()?;
    Some(json!({
        "event": "attachment", "id": view.id, "author": view.author, "name": a.name,
        "size": a.size, "mime": a.mime, "view_once": a.view_once,
        "expires_in": a.expires_after_open_secs, "blake3": a.blake3,
    }))
}

/// What a desktop notification would show (`title`, `body`), or that it was
/// held for quiet hours.
fn notification_json(notice: &hearth_node::Notice) -> Value {
    match notice {
        hearth_node::Notice::Message {
            from,
            message,
            held,
            urgent,
            unread,
        } => {
            let latest = if let Some(mood) = &message.mood {
                match mood.note.as_str() {
                    "" => format!("Feeling: {}", mood.mood),
                    note => format!("Feeling: {} — {note}", mood.mood),
                }
            } else if let Some(attachment) = &message.attachment {
                format!("Sent a file: {}", attachment.name)
            } else {
                message.text.clone().unwrap_or_default()
            };
            // Several in a row make one notification.
            let body = if *unread > 1 {
                format!("{unread} new messages")
            } else {
                latest.clone()
            };
            json!({
                "event": "notification",
                "kind": "message",
                "id": message.id,
                "title": from,
                "body": body,
                "latest": latest,
                "held": held,
                "urgent": urgent,
                "unread": unread,
            })
        }
        hearth_node::Notice::Summary { from, count } => json!({
            "event": "notification",
            "kind": "summary",
            "title": from,
            "body": format!("{count} message{} while you were in quiet hours", if *count == 1 { "" } else { "s" }),
            "count": count,
            "held": false,
            "urgent": false,
        }),
    }
}

fn tagged(event: &str, value: &impl serde::Serialize) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        object.insert("event".into(), json!(event));
    }
    value
}

/// Runs headless mode until `quit` or the end of stdin. Returns the exit code.
pub(crate) async fn run(profile: PathBuf, network: crate::NetworkArgs) -> anyhow::Result<i32> {
    let (out_tx, mut out_rx) = mpsc::channel::<Value>(1024);
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(value) = out_rx.recv().await {
            let mut line = value.to_string();
            line.push('\n');
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    });

    let mut config = NodeConfig::new(profile);
    config.passphrase = std::env::var("HEARTH_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty());
    config.network = network.into();
    // Fault injection for the end-to-end tests of file transfer; a no-op in builds
    // without hearth-node's `test-util` feature (only test builds turn it on).
    config.faults_from_env();
    let (node, mut events) = match Node::start(config).await {
        Ok(started) => started,
        Err(e) => {
            let _ = out_tx.send(node_error(&e)).await;
            drop(out_tx);
            let _ = writer.await;
            return Ok(1);
        }
    };

    let forward = out_tx.clone();
    let events_task = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            // My own new messages come only from `send` here, whose answer carries
            // them with the `req`: printing the engine's copy too would say it twice.
            if matches!(&event, NodeEvent::Message(m) if m.author == hearth_node::Author::Me) {
                continue;
            }
            if let NodeEvent::Message(view) = &event
                && let Some(attachment) = attachment_json(view)
                && forward.send(attachment).await.is_err()
            {
                break;
            }
            if forward.send(event_json(event)).await.is_err() {
                break;
            }
        }
    });

    let mut input = BufReader::new(tokio::io::stdin());
    let mut buf = Vec::new();
    let mut pairings = tokio::task::JoinSet::new();
    loop {
        let line = match next_input(&mut input, &mut buf, MAX_LINE).await {
            Ok(Some(Input::Line(line))) => line,
            Ok(Some(Input::TooLong)) => {
                let _ = out_tx.send(error("bad_request", "line too long")).await;
                continue;
            }
            Ok(Some(Input::NotText)) => {
                let _ = out_tx
                    .send(error("bad_request", "unreadable input: not UTF-8"))
                    .await;
                continue;
            }
            Ok(None) => break,
            Err(e) => {
                // The input is gone for good (closed, broken): nothing more comes.
                let _ = out_tx
                    .send(error("bad_request", format!("unreadable input: {e}")))
                    .await;
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let (request, req) = match request::parse(&line) {
            Ok(parsed) => parsed,
            Err((message, req)) => {
                let _ = out_tx
                    .send(with_req(error("bad_request", message), &req))
                    .await;
                continue;
            }
        };
        if matches!(request, Request::Quit) {
            let _ = out_tx.send(with_req(json!({"event": "bye"}), &req)).await;
            break;
        }
        // Pairing waits on the other device: run it aside so other commands go on.
        // Everything else is answered in order, so messages keep the order sent.
        if let Request::Pair { code } = request {
            let (node, out) = (node.clone(), out_tx.clone());
            pairings.spawn(async move {
                let answer = match node.pair(code).await {
                    Ok(info) => json!({
                        "event": "paired", "partner": info.partner, "safety_words": info.safety_words,
                    }),
                    Err(e) => node_error(&e),
                };
                let _ = out.send(with_req(answer, &req)).await;
            });
            continue;
        }
        let answer = answer(&node, request).await;
        let _ = out_tx.send(with_req(answer, &req)).await;
    }

    pairings.shutdown().await;
    node.shutdown().await;
    events_task.abort();
    drop(out_tx);
    let _ = writer.await;
    Ok(0)
}

async fn answer(node: &NodeHandle, request: Request) -> Value {
    let ok = |cmd: &str| json!({"event": "ok", "cmd": cmd});
    let result = match request {
        Request::Init {
            name,
            language,
            time_zone,
        } => node
            .init(Profile {
                name,
                language,
                time_zone,
            })
            .await
            .map(|s| tagged("status", &s)),
        Request::Status => node.status().await.map(|s| tagged("status", &s)),
        Request::Invite => node.invite().await.map(|i| tagged("invite", &i)),
        Request::RejectPairing => node.reject_pairing().await.map(|()| ok("reject_pairing")),
        Request::NearbyCode => node
            .nearby_code()
            .await
            .map(|code| json!({"event": "nearby_code", "code": code})),
        Request::Dial { addr } => node.dial(addr).await.map(|()| ok("dial")),
        Request::MailboxPair { code } => {
            node.mailbox_join(code).await.map(|s| tagged("mailbox", &s))
        }
        Request::MailboxStatus => node.mailbox_status().await.map(|s| tagged("mailbox", &s)),
        Request::MailboxLeave => node.mailbox_leave().await.map(|s| tagged("mailbox", &s)),
        Request::Backup { path, passphrase } => node
            .backup(path, passphrase)
            .await
            .map(|b| tagged("backup_done", &b)),
        Request::Days => node.days().await.map(|d| tagged("days", &d)),
        Request::SetDay {
            kind,
            date,
            title,
            id,
        } => {
            let kind = match kind {
                request::DayKind::TogetherSince => DayKindView::TogetherSince,
                request::DayKind::Meeting => DayKindView::Meeting,
                request::DayKind::Anniversary => DayKindView::Anniversary,
            };
            node.set_day(kind, id, date, title)
                .await
                .map(|d| tagged("days", &d))
        }
        Request::RemoveDay { id } => node.remove_day(id).await.map(|d| tagged("days", &d)),
        Request::Mood { mood, note } => node
            .share_mood(mood, note)
            .await
            .map(|m| tagged("message", &m)),
        Request::Moods { limit } => node
            .moods(limit.unwrap_or(28))
            .await
            .map(|m| tagged("moods", &m)),
        Request::Uncouple { delete_history } => node
            .uncouple(delete_history)
            .await
            .map(|e| tagged("ended", &e)),
        Request::Send {
            text,
            reply_to,
            urgent,
            at,
            at_partner,
        } => {
            let later = match (at, at_partner) {
                (Some(ms), _) => Some(hearth_node::SendAt::At(ms)),
                (None, Some(request::AtPartner::Morning)) => {
                    Some(hearth_node::SendAt::PartnerMorning)
                }
                (None, Some(request::AtPartner::AfterQuiet)) => {
                    Some(hearth_node::SendAt::AfterPartnerQuiet)
                }
                (None, None) => None,
            };
            match (later, urgent) {
                (Some(at), _) => node.send_later(text, reply_to, at).await,
                (None, true) => node.send_urgent(text, reply_to).await,
                (None, false) => node.send(text, reply_to).await,
            }
            .map(|m| tagged("message", &m))
        }
        Request::CancelScheduled { id } => node
            .cancel_scheduled(id)
            .await
            .map(|()| ok("cancel_scheduled")),
        Request::Boundaries => node.boundaries().await.map(|b| tagged("boundaries", &b)),
        Request::Checkins => node.checkins().await.map(|c| tagged("checkins", &c)),
        Request::AddCheckin {
            weekdays,
            time,
            time_zone,
        } => node
            .add_checkin(weekdays, time, time_zone)
            .await
            .map(|c| tagged("checkins", &c)),
        Request::RemoveCheckin { id } => node
            .remove_checkin(id)
            .await
            .map(|c| tagged("checkins", &c)),
        Request::ProposeBoundaries {
            quiet_start,
            quiet_end,
            no_quiet,
            reach,
            care,
            media,
            view_once,
        } => {
            let my_quiet = match (no_quiet, quiet_start, quiet_end) {
                (true, _, _) => Some(None),
                (false, Some(start), Some(end)) => Some(Some((start, end))),
                (false, None, None) => None,
                // One end of the hours without the other: no hours at all.
                (false, start, end) => {
                    Some(Some((start.unwrap_or_default(), end.unwrap_or_default())))
                }
            };
            node.propose_boundaries(hearth_node::BoundaryChange {
                my_quiet,
                my_reach: reach,
                care,
                media,
                view_once,
            })
            .await
            .map(|b| tagged("boundaries", &b))
        }
        Request::AcceptBoundaries { id } => node
            .accept_boundaries(id)
            .await
            .map(|b| tagged("boundaries", &b)),
        Request::React { id, emoji } => node.react(id, emoji).await.map(|()| ok("react")),
        Request::Unreact { id, emoji } => node.unreact(id, emoji).await.map(|()| ok("unreact")),
        Request::Edit { id, text } => node.edit(id, text).await.map(|()| ok("edit")),
        Request::Delete { id } => node.delete(id).await.map(|()| ok("delete")),
        Request::Read { up_to } => node.read(up_to).await.map(|()| ok("read")),
        Request::History { limit, before } => node
            .history(limit.unwrap_or(50), before)
            .await
            .map(|messages| json!({"event": "history", "messages": messages})),
        Request::Typing => node.typing().await.map(|()| ok("typing")),
        Request::SendFile {
            path,
            view_once,
            expires_in,
        } => node
            .send_file(
                FileSource::Path(path),
                SendOptions {
                    view_once,
                    expires_after_open_secs: expires_in,
                },
            )
            .await
            .map(|m| tagged("message", &m)),
        Request::SaveFile { id, path } => node.save_file(id, path).await.map(|()| ok("save_file")),
        Request::OpenFile { id } => node.open_file(id).await.map(|bytes| {
            json!({
                "event": "file_opened", "id": id, "size": bytes.len(),
                "blake3": hearth_node::hex(blake3::hash(&bytes).as_bytes()),
            })
        }),
        Request::PauseDownload { id } => node
            .pause_download(id, true)
            .await
            .map(|()| ok("pause_download")),
        Request::ResumeDownload { id } => node
            .pause_download(id, false)
            .await
            .map(|()| ok("resume_download")),
        Request::Memories { limit, before } => node
            .memories(limit.unwrap_or(50), before)
            .await
            .map(|messages| json!({"event": "memories", "messages": messages})),
        Request::SetNetwork { internet, relays } => node
            .set_network(internet, relays)
            .await
            .map(|s| tagged("status", &s)),
        Request::Pair { .. } | Request::Quit => Ok(json!({})),
    };
    result.unwrap_or_else(|e| node_error(&e))
}

#[cfg(test)]
mod tests {
    use super::{Input, next_input};

    /// A line far over the limit is dropped as it is read, holding no more than the
    /// limit, and the next line is read as usual.
    #[tokio::test]
    async fn an_endless_line_is_dropped_without_being_held() {
        let max = 1024;
        let mut input = vec![b'a'; 64 * max];
        input.extend_from_slice(b"\n{\"cmd\":\"status\"}\nlast");
        let mut reader = tokio::io::BufReader::with_capacity(256, input.as_slice());
        let mut buf = Vec::new();
        let first = next_input(&mut reader, &mut buf, max).await.ok().flatten();
        assert_eq!(first, Some(Input::TooLong));
        assert!(buf.capacity() <= max + 256, "held {} bytes", buf.capacity());
        let second = next_input(&mut reader, &mut buf, max).await.ok().flatten();
        assert_eq!(second, Some(Input::Line("{\"cmd\":\"status\"}".into())));
        let last = next_input(&mut reader, &mut buf, max).await.ok().flatten();
        assert_eq!(last, Some(Input::Line("last".into())));
        assert_eq!(
            next_input(&mut reader, &mut buf, max).await.ok().flatten(),
            None
        );
        let bad = [0xff, 0xfe, b'\n'];
        let mut reader = tokio::io::BufReader::new(&bad[..]);
        assert_eq!(
            next_input(&mut reader, &mut buf, max).await.ok().flatten(),
            Some(Input::NotText)
        );
    }
}
