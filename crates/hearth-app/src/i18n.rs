//! Every user-facing string, through Fluent, in English and Albanian, and the numbers
//! inside them: sizes, speeds and durations are written the way each language writes
//! them ("1.5 MB" / "1,5 MB", "2 min 5 s" / "2 min 5 sek").

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use hearth_node::{
    BackupFailure, MailboxFailure, NodeError, PairingFailure, Refusal, TransferFailure,
};

/// The languages the UI speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Albanian (shqip).
    Sq,
}

impl Lang {
    /// Both, in the order the language picker shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Sq];

    /// The BCP 47 tag stored in profiles.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Sq => "sq",
        }
    }

    /// A tag from a profile; anything unknown is English.
    pub fn from_code(code: &str) -> Lang {
        if code == "sq" { Lang::Sq } else { Lang::En }
    }

    /// The language's name in itself, as the picker shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Sq => "Shqip",
        }
    }

    /// What separates the whole from the fraction in a number: Albanian writes a
    /// decimal comma.
    fn decimal_separator(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Sq => ',',
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../../assets/i18n/en/hearth.ftl"),
            Lang::Sq => include_str!("../../../assets/i18n/sq/hearth.ftl"),
        }
    }
}

/// The strings of one language, ready to format.
pub struct Tr {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
}

impl Tr {
    /// Loads a language. The files are compiled in and checked by tests, so a parse
    /// error here is a bug caught before release; it is logged and the keys show.
    pub fn new(lang: Lang) -> Tr {
        let resource = FluentResource::try_new(lang.source().to_string()).unwrap_or_else(
            |(resource, errors)| {
                tracing::error!(?errors, "translation file has errors");
                resource
            },
        );
        let langid: unic_langid::LanguageIdentifier = lang.code().parse().unwrap_or_default();
        let mut bundle = FluentBundle::new(vec![langid]);
        // egui draws text as given: Unicode isolation marks would show as boxes.
        bundle.set_use_isolating(false);
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(?errors, "translation file has duplicate keys");
        }
        Tr { lang, bundle }
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// A string without arguments.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// A string with one argument.
    pub fn t1<'a>(&self, key: &str, name: &'a str, value: impl Into<FluentValue<'a>>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, value);
        self.format(key, Some(&args))
    }

    /// A string with two arguments.
    pub fn t2<'a>(
        &self,
        key: &str,
        (n1, v1): (&'a str, FluentValue<'a>),
        (n2, v2): (&'a str, FluentValue<'a>),
    ) -> String {
        let mut args = FluentArgs::new();
        args.set(n1, v1);
        args.set(n2, v2);
        self.format(key, Some(&args))
    }

    /// A string with any number of arguments.
    pub fn args(&self, key: &str, args: &FluentArgs<'_>) -> String {
        self.format(key, Some(args))
    }

    /// A number with one decimal, as this language writes it: `1.5` or `1,5`.
    pub fn decimal(&self, value: f64) -> String {
        format!("{value:.1}").replace('.', &self.lang.decimal_separator().to_string())
    }

    /// A file size: "999 B", "1.5 MB" ("1,5 MB" in Albanian). Decimal units, 1 KB
    /// being 1000 bytes, as the engine's own logs count them.
    pub fn size(&self, bytes: u64) -> String {
        const UNITS: [&str; 4] = ["size-kb", "size-mb", "size-gb", "size-tb"];
        if bytes < 1000 {
            return self.t1("size-bytes", "count", bytes);
        }
        let mut value = bytes as f64 / 1000.0;
        let mut unit = 0;
        // 999 960 bytes would round to "1000.0 KB": say "1.0 MB" instead.
        while value >= 999.95 && unit + 1 < UNITS.len() {
            value /= 1000.0;
            unit += 1;
        }
        self.t1(UNITS[unit], "value", self.decimal(value))
    }

    /// A transfer speed: "1.5 MB/s".
    pub fn speed(&self, bytes_per_sec: f64) -> String {
        self.t1(
            "size-per-second",
            "size",
            self.size(bytes_per_sec.max(0.0) as u64),
        )
    }

    /// A duration as a person says it: "45 s", "2 min 5 s", "1 h 10 min"; Albanian
    /// "45 sek", "2 min 5 sek", "1 orë 10 min". Seconds are left out past an hour.
    pub fn duration(&self, secs: u64) -> String {
        let (hours, minutes, seconds) = (secs / 3600, secs % 3600 / 60, secs % 60);
        let arg = |n: u64| FluentValue::from(n);
        match (hours, minutes, seconds) {
            (0, 0, s) => self.t1("duration-seconds", "seconds", s),
            (0, m, 0) => self.t1("duration-minutes", "minutes", m),
            (0, m, s) => self.t2(
                "duration-minutes-seconds",
                ("minutes", arg(m)),
                ("seconds", arg(s)),
            ),
            (h, 0, _) => self.t1("duration-hours", "hours", h),
            (h, m, _) => self.t2(
                "duration-hours-minutes",
                ("hours", arg(h)),
                ("minutes", arg(m)),
            ),
        }
    }

    /// Why a command failed: in this language when the reason is one the app knows,
    /// else the engine's own (English) words, which only ever follow a translated
    /// lead-in (see [`Tr::failure`]).
    pub fn node_error(&self, error: &NodeError) -> String {
        match error {
            NodeError::Pairing(failure) => return self.pairing_failure(failure),
            NodeError::Refused(refusal) => return self.refusal(refusal),
            NodeError::Mailbox(failure) => return self.mailbox_failure(failure),
            NodeError::Backup(failure) => return self.backup_failure(failure),
            _ => {}
        }
        let key = match error.code() {
            "wrong_passphrase" => "unlock-wrong",
            "profile_locked" => "unlock-locked",
            "no_profile" => "error-no-profile",
            "not_paired" => "error-not-paired",
            "already_paired" => "error-already-paired",
            "no_such_message" => "error-no-such-message",
            "not_yours" => "error-not-yours",
            "stopped" => "error-stopped",
            _ => return error.to_string(),
        };
        self.t(key)
    }

    /// Why the engine refused a request, in this language.
    pub fn refusal(&self, refusal: &Refusal) -> String {
        match refusal {
            Refusal::BadName => self.t("refused-bad-name"),
            Refusal::BadLanguage => self.t("refused-bad-language"),
            Refusal::UnknownTimeZone(zone) => {
                self.t1("refused-unknown-time-zone", "zone", zone.as_str())
            }
            Refusal::SettingTooLong => self.t("refused-setting-too-long"),
            Refusal::InternetForcedOff => self.t("refused-internet-forced-off"),
            Refusal::TooManyRelays { max } => self.t1("refused-too-many-relays", "max", *max),
            Refusal::NotReachable => self.t("refused-not-reachable"),
            Refusal::EmptyText => self.t("refused-empty-text"),
            Refusal::TextTooLong => self.t("refused-text-too-long"),
            Refusal::NotAnEmoji => self.t("refused-not-an-emoji"),
            Refusal::NotPartnersMessage => self.t("refused-not-partners-message"),
            Refusal::NotAFile(path) => self.t1("refused-not-a-file", "path", path.as_str()),
            Refusal::FileTooLarge { name, size } => self.t2(
                "refused-file-too-large",
                ("name", name.as_str().into()),
                ("size", self.size(*size).into()),
            ),
            Refusal::EmptyFile(name) => self.t1("refused-empty-file", "name", name.as_str()),
            Refusal::FileChanged(name) => self.t1("refused-file-changed", "name", name.as_str()),
            Refusal::ViewOnceAndExpiry => self.t("refused-view-once-and-expiry"),
            Refusal::EphemeralNotSaved => self.t("refused-ephemeral-not-saved"),
            Refusal::TooLargeToOpen => self.t("refused-too-large-to-open"),
            Refusal::FileDeleted => self.t("refused-file-deleted"),
            Refusal::NoFile => self.t("refused-no-file"),
            Refusal::ViewOnceGone => self.t("refused-view-once-gone"),
            Refusal::FileExpired => self.t("refused-file-expired"),
            Refusal::NotArrived => self.t("refused-not-arrived"),
            Refusal::FileNotHere => self.t("refused-file-not-here"),
            Refusal::NotArriving => self.t("refused-not-arriving"),
            Refusal::PairingEnded => self.t("refused-pairing-ended"),
            Refusal::BackupNeedsPassphrase => self.t("refused-backup-needs-passphrase"),
            Refusal::ProfileExists => self.t("refused-profile-exists"),
            Refusal::RestoredWaiting => self.t("refused-restored-waiting"),
            Refusal::AlreadyEnding => self.t("refused-already-ending"),
            Refusal::Damaged(detail) => self.t1("refused-damaged", "detail", *detail),
            Refusal::BadDate(date) => self.t1("refused-bad-date", "date", date.as_str()),
            Refusal::DayTitleTooLong => self.t("refused-day-title-too-long"),
            Refusal::TooManyDays { max } => self.t1("refused-too-many-days", "max", *max),
            Refusal::NoSuchDay => self.t("refused-no-such-day"),
            Refusal::UnknownMood(mood) => self.t1("refused-unknown-mood", "mood", mood.as_str()),
            Refusal::MoodNoteTooLong => self.t("refused-mood-note-too-long"),
            Refusal::BadQuietHours => self.t("refused-bad-quiet-hours"),
            Refusal::NothingToPropose => self.t("refused-nothing-to-propose"),
            Refusal::BoundaryTextTooLong => self.t("refused-boundary-text-too-long"),
            Refusal::NoSuchProposal => self.t("refused-no-such-proposal"),
            Refusal::BadCheckIn(what) => {
                let what = if what.is_empty() {
                    "none"
                } else {
                    what.as_str()
                };
                self.t1("refused-bad-checkin", "what", what)
            }
            Refusal::NoSuchCheckIn => self.t("refused-no-such-checkin"),
            Refusal::BadScheduleTime => self.t("refused-bad-schedule-time"),
            Refusal::NoQuietHours => self.t("refused-no-quiet-hours"),
            Refusal::NotScheduled => self.t("refused-not-scheduled"),
            Refusal::TooManyCheckIns { max } => self.t1("refused-too-many-checkins", "max", *max),
        }
    }

    /// Why a file did not move, in this language.
    pub fn transfer_failure(&self, failure: &TransferFailure) -> String {
        match failure {
            TransferFailure::NoDiskSpace { needed, free } => self.t2(
                "transfer-no-disk-space",
                ("needed", self.size(*needed).into()),
                ("free", self.size(*free).into()),
            ),
            TransferFailure::Unavailable(detail) => {
                self.t1("transfer-unavailable", "detail", detail.as_str())
            }
            TransferFailure::Interrupted(detail) => {
                self.t1("transfer-interrupted", "detail", detail.as_str())
            }
            TransferFailure::NotSent(refusal) => self.refusal(refusal),
            TransferFailure::Unreadable(detail) => {
                self.t1("transfer-unreadable", "detail", detail.as_str())
            }
        }
    }

    /// Why a backup failed, in this language.
    pub fn backup_failure(&self, failure: &BackupFailure) -> String {
        match failure {
            BackupFailure::NotABackup => self.t("backup-fail-not-a-backup"),
            BackupFailure::NewerFormat(_) => self.t("backup-fail-newer"),
            BackupFailure::WrongPassphrase => self.t("backup-fail-passphrase"),
            BackupFailure::Damaged(detail) => {
                self.t1("backup-fail-damaged", "detail", detail.as_str())
            }
            BackupFailure::Io(detail) => self.t1("backup-fail-io", "detail", detail.as_str()),
        }
    }

    /// Why joining the mailbox failed, in this language.
    pub fn mailbox_failure(&self, failure: &MailboxFailure) -> String {
        match failure {
            MailboxFailure::BadInvite => self.t("mailbox-fail-bad-invite"),
            MailboxFailure::PartnerInvite => self.t("mailbox-fail-partner-invite"),
            MailboxFailure::Expired => self.t("mailbox-fail-expired"),
            MailboxFailure::Refused => self.t("mailbox-fail-refused"),
            MailboxFailure::Unreachable(detail) => {
                self.t1("mailbox-fail-unreachable", "detail", detail.as_str())
            }
        }
    }

    /// Why a pairing did not complete, in this language.
    pub fn pairing_failure(&self, failure: &PairingFailure) -> String {
        match failure {
            PairingFailure::CodeMismatch => self.t("pair-fail-code-mismatch"),
            PairingFailure::NotPairing => self.t("pair-fail-not-pairing"),
            PairingFailure::Expired => self.t("pair-fail-expired"),
            PairingFailure::TooManyTries => self.t("pair-fail-too-many-tries"),
            PairingFailure::Busy => self.t("pair-fail-busy"),
            PairingFailure::Timeout => self.t("pair-fail-timeout"),
            PairingFailure::Abandoned => self.t("pair-fail-abandoned"),
            PairingFailure::Unreachable(detail) => {
                self.t1("pair-fail-unreachable", "detail", detail.as_str())
            }
            PairingFailure::Protocol => self.t("pair-fail-protocol"),
            PairingFailure::AlreadyPairing => self.t("pair-fail-already-pairing"),
            PairingFailure::BadInvite(detail) => {
                self.t1("pair-fail-bad-invite", "detail", detail.as_str())
            }
            PairingFailure::OwnInvite => self.t("pair-fail-own-invite"),
            PairingFailure::MailboxInvite => self.t("pair-fail-mailbox-invite"),
            PairingFailure::NoAddress => self.t("pair-fail-no-address"),
            PairingFailure::NotACode => self.t("pair-fail-not-a-code"),
            PairingFailure::WrongCodeTried { tries_left: 0 } => self.t("pair-fail-code-dead"),
            PairingFailure::WrongCodeTried { tries_left } => {
                self.t1("pair-fail-wrong-code", "left", *tries_left)
            }
        }
    }

    /// A failure as the user reads it: the translated lead-in `lead` (a message with
    /// a `$detail` variable, e.g. "Could not send: { $detail }") and why.
    pub fn failure(&self, lead: &str, error: &NodeError) -> String {
        self.t1(lead, "detail", self.node_error(error))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let Some(pattern) = self.bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, "missing translation");
            return key.to_string();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

/// The message keys a language file defines, for the completeness tests.
pub fn keys(lang: Lang) -> Vec<String> {
    let Ok(resource) = FluentResource::try_new(lang.source().to_string()) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect();
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats with each language and compares with what a reader of it expects.
    #[track_caller]
    fn check(format: impl Fn(&Tr) -> String, en: &str, sq: &str) {
        assert_eq!(format(&Tr::new(Lang::En)), en, "in English");
        assert_eq!(format(&Tr::new(Lang::Sq)), sq, "in Albanian");
    }

    #[test]
    fn decimals_use_a_point_in_english_and_a_comma_in_albanian() {
        check(|tr| tr.decimal(1.5), "1.5", "1,5");
        check(|tr| tr.decimal(12.04), "12.0", "12,0");
    }

    #[test]
    fn pairing_failures_are_said_in_each_language() {
        let tried = |left| PairingFailure::WrongCodeTried { tries_left: left };
        check(
            |tr| tr.pairing_failure(&tried(2)),
            "a wrong code was tried; 2 tries left.",
            "u provua një kod i gabuar; mbeten 2 përpjekje.",
        );
        check(
            |tr| tr.node_error(&NodeError::Pairing(tried(0))),
            "a wrong code was tried; the code no longer works, make a new one.",
            "u provua një kod i gabuar; kodi nuk vlen më, krijoni një të ri.",
        );
        check(
            |tr| tr.pairing_failure(&PairingFailure::Unreachable("timed out".into())),
            "could not reach the other device (timed out).",
            "pajisja tjetër nuk u arrit (timed out).",
        );
    }

    #[test]
    fn sizes() {
        check(|tr| tr.size(0), "0 B", "0 B");
        check(|tr| tr.size(999), "999 B", "999 B");
        check(|tr| tr.size(1_000), "1.0 KB", "1,0 KB");
        check(|tr| tr.size(1_500_000), "1.5 MB", "1,5 MB");
        check(|tr| tr.size(999_960), "1.0 MB", "1,0 MB");
        check(|tr| tr.size(2_340_000_000), "2.3 GB", "2,3 GB");
        check(
            |tr| tr.size(5_000_000_000_000_000),
            "5000.0 TB",
            "5000,0 TB",
        );
    }

    #[test]
    fn speeds() {
        check(|tr| tr.speed(1_500_000.0), "1.5 MB/s", "1,5 MB/s");
        check(|tr| tr.speed(800.0), "800 B/s", "800 B/s");
    }

    #[test]
    fn durations() {
        check(|tr| tr.duration(0), "0 s", "0 sek");
        check(|tr| tr.duration(45), "45 s", "45 sek");
        check(|tr| tr.duration(120), "2 min", "2 min");
        check(|tr| tr.duration(125), "2 min 5 s", "2 min 5 sek");
        check(|tr| tr.duration(3600), "1 h", "1 orë");
        check(
            |tr| tr.duration(3600 + 600 + 9),
            "1 h 10 min",
            "1 orë 10 min",
        );
    }

    #[test]
    fn engine_errors_follow_a_translated_lead_in() {
        check(
            |tr| tr.failure("error-send", &NodeError::NotPaired),
            "Could not send: you are not paired yet.",
            "Nuk u dërgua: ende nuk jeni lidhur me partnerin.",
        );
        // The engine's reasons are said in the user's language too.
        check(
            |tr| tr.failure("error-send", &NodeError::Refused(Refusal::TextTooLong)),
            "Could not send: the message is too long.",
            "Nuk u dërgua: mesazhi është shumë i gjatë.",
        );
        check(
            |tr| {
                tr.failure(
                    "error-send",
                    &NodeError::Refused(Refusal::FileTooLarge {
                        name: "film.mkv".into(),
                        size: 5_500_000_000,
                    }),
                )
            },
            "Could not send: film.mkv is 5.5 GB; files up to 4 GB can be sent.",
            "Nuk u dërgua: film.mkv është 5,5 GB; mund të dërgohen skedarë deri në 4 GB.",
        );
    }

    /// Every reason the engine can give has words in both languages.
    #[test]
    fn every_refusal_and_transfer_failure_is_translated() {
        let refusals = [
            Refusal::BadName,
            Refusal::BadLanguage,
            Refusal::UnknownTimeZone("Mars/Olympus".into()),
            Refusal::SettingTooLong,
            Refusal::InternetForcedOff,
            Refusal::TooManyRelays { max: 8 },
            Refusal::NotReachable,
            Refusal::EmptyText,
            Refusal::TextTooLong,
            Refusal::NotAnEmoji,
            Refusal::NotPartnersMessage,
            Refusal::NotAFile("/tmp".into()),
            Refusal::FileTooLarge {
                name: "a".into(),
                size: 1,
            },
            Refusal::EmptyFile("a".into()),
            Refusal::FileChanged("a".into()),
            Refusal::ViewOnceAndExpiry,
            Refusal::EphemeralNotSaved,
            Refusal::TooLargeToOpen,
            Refusal::FileDeleted,
            Refusal::NoFile,
            Refusal::ViewOnceGone,
            Refusal::FileExpired,
            Refusal::NotArrived,
            Refusal::FileNotHere,
            Refusal::NotArriving,
            Refusal::Damaged("x"),
            Refusal::PairingEnded,
            Refusal::AlreadyEnding,
            Refusal::BackupNeedsPassphrase,
            Refusal::ProfileExists,
            Refusal::RestoredWaiting,
        ];
        let failures = [
            TransferFailure::NoDiskSpace {
                needed: 2_000_000,
                free: 1_500_000,
            },
            TransferFailure::Unavailable("x".into()),
            TransferFailure::Interrupted("x".into()),
            TransferFailure::Unreadable("x".into()),
        ];
        let backup = [
            BackupFailure::NotABackup,
            BackupFailure::NewerFormat(2),
            BackupFailure::WrongPassphrase,
            BackupFailure::Damaged("x".into()),
            BackupFailure::Io("x".into()),
        ];
        let mailbox = [
            MailboxFailure::BadInvite,
            MailboxFailure::PartnerInvite,
            MailboxFailure::Expired,
            MailboxFailure::Refused,
            MailboxFailure::Unreachable("x".into()),
        ];
        for lang in [Lang::En, Lang::Sq] {
            let tr = Tr::new(lang);
            let texts = refusals
                .iter()
                .map(|r| tr.refusal(r))
                .chain(failures.iter().map(|f| tr.transfer_failure(f)))
                .chain(mailbox.iter().map(|f| tr.mailbox_failure(f)))
                .chain(backup.iter().map(|f| tr.backup_failure(f)));
            // A missing translation shows as its key, which has no spaces.
            for text in texts {
                assert!(text.contains(' '), "{lang:?}: {text}");
            }
        }
        assert_eq!(
            Tr::new(Lang::Sq).transfer_failure(&failures[0]),
            "nuk ka hapësirë të mjaftueshme në disk: duhen 2,0 MB, janë të lira 1,5 MB. \
             Lironi pak hapësirë dhe shtypni shkarko."
        );
    }
}
