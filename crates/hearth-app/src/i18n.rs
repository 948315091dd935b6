//! Every user-facing string, through Fluent, in English and Albanian.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};

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
