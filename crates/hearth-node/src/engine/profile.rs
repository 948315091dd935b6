//! Who this user is (name, language, time zone), the settings the app keeps, the
//! passphrase, and the status the UI shows.
//!
//! Owns nothing beyond `Engine::profile`; may write settings, and an op only for a
//! profile change the partner must see.

use hearth_core::{OpBody, ProfileChange};
use hearth_store::KeyProtection;

use super::{Engine, SETTING_PROFILE, now_ms};
use crate::Reply;
use crate::types::*;

/// Longest app setting, in bytes.
const MAX_APP_SETTING: usize = 64 * 1024;

/// What a handle can ask of the profile room.
pub(crate) enum ProfileCommand {
    Init(Profile, Reply<Status>),
    Status(Reply<Status>),
    ChangePassphrase(Option<String>, Reply<Status>),
    AppSetting(String, Reply<Option<String>>),
    SetAppSetting(String, String, Reply<()>),
}

impl Engine {
    pub(super) async fn on_profile_command(&mut self, command: ProfileCommand) {
        match command {
            ProfileCommand::Init(profile, reply) => {
                let result = self.init(profile).await;
                let _ = reply.send(result.map(|()| self.status()));
            }
            ProfileCommand::Status(reply) => {
                let _ = reply.send(Ok(self.status()));
            }
            ProfileCommand::ChangePassphrase(passphrase, reply) => {
                let passphrase = passphrase.filter(|p| !p.is_empty());
                let result = self
                    .store
                    .change_passphrase(passphrase.as_deref())
                    .map(|()| self.status())
                    .map_err(NodeError::from);
                let _ = reply.send(result);
            }
            ProfileCommand::AppSetting(name, reply) => {
                let result = self.store.setting::<String>(&format!("app:{name}"));
                let _ = reply.send(result.map_err(NodeError::from));
            }
            ProfileCommand::SetAppSetting(name, value, reply) => {
                let result = if value.len() > MAX_APP_SETTING {
                    Err(Refusal::SettingTooLong.into())
                } else {
                    self.store
                        .set_setting(&format!("app:{name}"), &value)
                        .map_err(NodeError::from)
                };
                let _ = reply.send(result);
            }
        }
    }

    async fn init(&mut self, profile: Profile) -> Result<(), NodeError> {
        let name = profile.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(Refusal::BadName.into());
        }
        if !matches!(profile.language.as_str(), "en" | "sq") {
            return Err(Refusal::BadLanguage.into());
        }
        if jiff::tz::TimeZone::get(&profile.time_zone).is_err() {
            return Err(Refusal::UnknownTimeZone(profile.time_zone).into());
        }
        let profile = Profile { name, ..profile };
        // A restored profile writes no op before the partner said how far it holds
        // this log (a seq must never be used twice).
        if self.partner.is_some() && self.restored_waiting() {
            return Err(Refusal::RestoredWaiting.into());
        }
        self.store.set_setting(SETTING_PROFILE, &profile)?;
        self.flush()?;
        let changed = self.profile.as_ref() != Some(&profile);
        self.profile = Some(profile.clone());
        // Nothing more is written under a pairing that is ending: the change stays
        // here.
        if changed && self.partner.is_some() && self.ended.is_none() {
            let body = OpBody::Profile(ProfileChange {
                name: Some(profile.name),
                language: Some(profile.language),
                time_zone: Some(profile.time_zone),
            });
            let op = self.store.append_local(self.me, now_ms(), body)?;
            self.flush()?;
            tracing::debug!(seq = op.id.seq, "profile change queued for the partner");
            self.sync_appended().await;
        }
        Ok(())
    }

    pub(super) fn status(&mut self) -> Status {
        self.count_to_leave();
        Status {
            peer_id: hearth_net::peer_id_text(self.me).unwrap_or_default(),
            listen: self.presence.listen.clone(),
            paired: self.partner.is_some(),
            partner: self.partner.as_ref().map(|p| p.profile.clone()),
            online: self.presence.online,
            profile: self.profile.clone(),
            key_protection: match self.store.key_protection() {
                KeyProtection::Passphrase => "passphrase",
                KeyProtection::KeyFile => "key_file",
            },
            safety_words: self
                .partner
                .as_ref()
                .map(|p| p.safety_words.clone())
                .unwrap_or_default(),
            connection: self.internet.connection,
            internet: self.internet.on,
            relays: self.internet.relays.clone(),
            dht: self.internet.dht.clone(),
            mailbox: self.mailbox.status.clone(),
            ended: self.ended_info(),
            telling_former_partner: self.notice_pending(),
        }
    }
}
