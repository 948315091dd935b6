//! Chat: texts, replies, edits, deletes, reactions, read markers, typing, and the
//! history the UI pages through.
//!
//! Owns no state. Every write goes through [`Engine::write`] (or, for a group of
//! texts, [`Engine::send_texts`]): appended, flushed, shown, then handed to the sync
//! room. Nothing leaves before it is durable.

use hearth_core::{Message, Op, OpBody, OpId};

use super::{Engine, now_ms};
use crate::types::*;
use crate::{Command, Reply};

/// Most texts written together in one group commit.
const MAX_GROUP: usize = 512;

/// What a handle can ask of the chat room.
pub(crate) enum ChatCommand {
    Send {
        text: String,
        reply_to: Option<MessageId>,
        reply: Reply<MessageView>,
    },
    React {
        id: MessageId,
        emoji: String,
        remove: bool,
        reply: Reply<()>,
    },
    Edit {
        id: MessageId,
        text: String,
        reply: Reply<()>,
    },
    Delete(MessageId, Reply<()>),
    Read(MessageId, Reply<()>),
    History {
        limit: usize,
        before: Option<MessageId>,
        reply: Reply<Vec<MessageView>>,
    },
    Typing(Reply<()>),
}

/// A text waiting to be written in a group.
struct Outgoing {
    text: String,
    reply_to: Option<MessageId>,
    reply: Reply<MessageView>,
}

impl Engine {
    pub(super) async fn on_chat_command(&mut self, command: ChatCommand) {
        match command {
            ChatCommand::Send {
                text,
                reply_to,
                reply,
            } => {
                self.send_texts(Outgoing {
                    text,
                    reply_to,
                    reply,
                })
                .await;
            }
            ChatCommand::React {
                id,
                emoji,
                remove,
                reply,
            } => {
                if !hearth_core::is_reaction_emoji(&emoji) {
                    let _ = reply.send(Err(Refusal::NotAnEmoji.into()));
                    return;
                }
                let result = match self.find(id) {
                    Ok(message) => {
                        let target = message.op.id;
                        let body = if remove {
                            OpBody::ReactionRemove { target, emoji }
                        } else {
                            OpBody::ReactionAdd { target, emoji }
                        };
                        self.write(body).await.map(drop)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            ChatCommand::Edit { id, text, reply } => {
                let result = match self.find_mine(id) {
                    Ok(target) => self.write(OpBody::Edit { target, text }).await.map(drop),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            ChatCommand::Delete(id, reply) => {
                let result = match self.find_mine(id) {
                    Ok(target) => self.write(OpBody::Delete { target }).await.map(drop),
                    Err(e) => Err(e),
                };
                let _ = reply.send(result);
            }
            ChatCommand::Read(up_to, reply) => {
                let result = self.mark_read(up_to).await;
                let _ = reply.send(result);
            }
            ChatCommand::History {
                limit,
                before,
                reply,
            } => {
                let _ = reply.send(self.history(limit, before));
            }
            ChatCommand::Typing(reply) => {
                self.sync_typing();
                let _ = reply.send(Ok(()));
            }
        }
    }

    /// Group commit: `first` and every text queued right behind it are written in
    /// one batch and made durable by one flush, then shown and sent. A burst costs
    /// one fsync rather than one per message. The first other command found behind
    /// them is handled next.
    async fn send_texts(&mut self, first: Outgoing) {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match self.commands.try_recv() {
                Ok(Command::Chat(ChatCommand::Send {
                    text,
                    reply_to,
                    reply,
                })) => group.push(Outgoing {
                    text,
                    reply_to,
                    reply,
                }),
                Ok(other) => {
                    self.deferred = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        let mut bodies = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        for Outgoing {
            text,
            reply_to,
            reply,
        } in group
        {
            match self.text_body(text, reply_to) {
                Ok(body) => {
                    bodies.push(body);
                    replies.push(reply);
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            }
        }
        if bodies.is_empty() {
            return;
        }
        let written = self.write_all(bodies).await;
        match written {
            Ok(ops) => {
                for (op, reply) in ops.iter().zip(replies) {
                    let view = match self.store.message(op.id) {
                        Ok(Some(message)) => Ok(self.view(&message)),
                        Ok(None) => Err(NodeError::NoSuchMessage(MessageId(op.id))),
                        Err(e) => Err(e.into()),
                    };
                    let _ = reply.send(view);
                }
            }
            Err(e) => {
                // The same failure for every text of the group.
                for reply in replies {
                    let _ = reply.send(Err(e.again()));
                }
            }
        }
    }

    /// A text op, checked: a partner to send it to, a message it replies to, a
    /// body within the limits.
    fn text_body(&self, text: String, reply_to: Option<MessageId>) -> Result<OpBody, NodeError> {
        self.partner_device()?;
        let reply_to = match reply_to {
            Some(id) => Some(self.find(id)?.op.id),
            None => None,
        };
        let body = OpBody::Text { text, reply_to };
        body.validate().map_err(Refusal::of_body)?;
        Ok(body)
    }

    /// Writes a local op durably, tells the UI, and queues it for the partner.
    pub(super) async fn write(&mut self, body: OpBody) -> Result<Op, NodeError> {
        let mut ops = self.write_all(vec![body]).await?;
        ops.pop()
            .ok_or(NodeError::Refused(Refusal::Damaged("nothing was written")))
    }

    /// Writes local ops in one atomic batch, flushes once, tells the UI about each,
    /// and hands them to the sync room.
    async fn write_all(&mut self, bodies: Vec<OpBody>) -> Result<Vec<Op>, NodeError> {
        self.partner_device()?;
        // Nothing more is written under a pairing that is ending.
        if self.ended.is_some() {
            return Err(Refusal::PairingEnded.into());
        }
        // Nor, in a restored profile, before the partner said how far it holds
        // this log (no seq may be used twice).
        if self.restored_waiting() {
            return Err(Refusal::RestoredWaiting.into());
        }
        for body in &bodies {
            body.validate().map_err(Refusal::of_body)?;
        }
        let ops = self
            .store
            .append_local_batch(self.me, now_ms(), bodies)
            .map_err(|e| match e {
                hearth_store::StoreError::Invalid(why) => Refusal::Damaged(why).into(),
                other => NodeError::from(other),
            })?;
        self.flush()?;
        for op in &ops {
            self.announce(op).await;
        }
        self.sync_appended().await;
        Ok(ops)
    }

    pub(super) fn find(&self, id: MessageId) -> Result<Message, NodeError> {
        self.store
            .message(id.op())?
            .ok_or(NodeError::NoSuchMessage(id))
    }

    pub(super) fn find_mine(&self, id: MessageId) -> Result<OpId, NodeError> {
        let message = self.find(id)?;
        if message.op.id.author != self.me {
            return Err(NodeError::NotYours);
        }
        // A deleted message is gone: nothing more is written about it.
        if message.state.is_deleted() {
            return Err(NodeError::NoSuchMessage(id));
        }
        Ok(message.op.id)
    }

    async fn mark_read(&mut self, up_to: MessageId) -> Result<(), NodeError> {
        // Reading an ended pairing's history tells nobody.
        if self.ended.is_some() {
            return Ok(());
        }
        let partner = self.partner_device()?;
        let message = self.find(up_to)?;
        if message.op.id.author != partner {
            return Err(Refusal::NotPartnersMessage.into());
        }
        if self.store.read_up_to(partner) >= message.op.id.seq {
            return Ok(());
        }
        self.write(OpBody::ReadMarker {
            up_to: message.op.id,
        })
        .await
        .map(drop)
    }

    fn history(
        &self,
        limit: usize,
        before: Option<MessageId>,
    ) -> Result<Vec<MessageView>, NodeError> {
        let before = match before {
            Some(id) => Some(self.store.timeline_pos(&self.find(id)?.op)?),
            None => None,
        };
        // The partner's messages scheduled for later stay out of sight until then;
        // the page is filled from further back in their place, so that a short
        // page still means the start of the history.
        let limit = limit.min(1000);
        let mut before = before;
        let mut shown = Vec::new();
        loop {
            let page = self.store.page_before(before, limit - shown.len())?;
            let full = page.len() == limit - shown.len();
            let Some(oldest) = page.first() else {
                break;
            };
            before = Some(self.store.timeline_pos(&oldest.op)?);
            let mut kept: Vec<MessageView> = page
                .iter()
                .filter(|m| !self.is_hidden_message(m))
                .map(|m| self.view(m))
                .collect();
            kept.append(&mut shown);
            shown = kept;
            if !full || shown.len() == limit {
                break;
            }
        }
        Ok(shown)
    }
}
