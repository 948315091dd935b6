//! The user's choices that outlive the window, as one typed struct.
//!
//! They are app settings in the encrypted store (never eframe's plaintext
//! persistence), one named text value each. This module is the only place that knows
//! those names and how each value is written; the rest of the app reads and changes
//! [`Prefs`] fields. The UI language is not here: it is part of the profile, which the
//! partner sees.

/// The theme the user chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ThemeChoice {
    Light,
    Dark,
    System,
}

impl ThemeChoice {
    fn code(self) -> &'static str {
        match self {
            ThemeChoice::Light => "light",
            ThemeChoice::Dark => "dark",
            ThemeChoice::System => "system",
        }
    }

    fn from_code(code: &str) -> ThemeChoice {
        match code {
            "light" => ThemeChoice::Light,
            "dark" => ThemeChoice::Dark,
            _ => ThemeChoice::System,
        }
    }
}

/// One stored choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pref {
    Theme,
    Notifications,
    HideText,
    /// The composer's text, so a half-written message survives a restart.
    Draft,
    /// Closing the window leaves Hearth running in the tray.
    KeepRunning,
}

impl Pref {
    /// Every choice, to load them all at once.
    pub(crate) const ALL: [Pref; 5] = [
        Pref::Theme,
        Pref::Notifications,
        Pref::HideText,
        Pref::Draft,
        Pref::KeepRunning,
    ];

    /// The app setting's name. Profiles on disk hold these: never rename one.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Pref::Theme => "theme",
            Pref::Notifications => "notifications",
            Pref::HideText => "hide_text",
            Pref::Draft => "draft",
            Pref::KeepRunning => "keep_running",
        }
    }
}

/// Everything the user chose, as last loaded or saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Prefs {
    pub(crate) theme: ThemeChoice,
    /// Desktop notifications for the partner's messages.
    pub(crate) notifications: bool,
    /// Notifications say how many messages came, not what they say.
    pub(crate) hide_text: bool,
    /// The draft as last saved (the composer holds the live text).
    pub(crate) draft: String,
    /// Closing the window leaves Hearth running in the tray (where there is one).
    pub(crate) keep_running: bool,
}

impl Default for Prefs {
    fn default() -> Prefs {
        Prefs {
            theme: ThemeChoice::System,
            notifications: true,
            hide_text: false,
            draft: String::new(),
            keep_running: true,
        }
    }
}

impl Prefs {
    /// How one choice is stored.
    pub(crate) fn value(&self, pref: Pref) -> String {
        let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
        match pref {
            Pref::Theme => self.theme.code().to_string(),
            Pref::Notifications => on_off(self.notifications),
            Pref::HideText => on_off(self.hide_text),
            Pref::Draft => self.draft.clone(),
            Pref::KeepRunning => on_off(self.keep_running),
        }
    }

    /// Takes one stored value. A theme this build does not know follows the system.
    pub(crate) fn set(&mut self, pref: Pref, value: &str) {
        match pref {
            Pref::Theme => self.theme = ThemeChoice::from_code(value),
            Pref::Notifications => self.notifications = value == "on",
            Pref::HideText => self.hide_text = value == "on",
            Pref::Draft => self.draft = value.to_string(),
            Pref::KeepRunning => self.keep_running = value == "on",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_reads_back_as_it_was_stored() {
        let chosen = Prefs {
            theme: ThemeChoice::Dark,
            notifications: false,
            hide_text: true,
            draft: "po vij, mos u mërzit".into(),
            keep_running: false,
        };
        let mut loaded = Prefs::default();
        for pref in Pref::ALL {
            loaded.set(pref, &chosen.value(pref));
        }
        assert_eq!(loaded, chosen);
    }

    #[test]
    fn stored_names_stay_as_profiles_on_disk_have_them() {
        let keys = Pref::ALL.map(Pref::key);
        assert_eq!(
            keys,
            [
                "theme",
                "notifications",
                "hide_text",
                "draft",
                "keep_running"
            ]
        );
    }
}
