//! The window as a person uses it, driven through AccessKit (find by role and label,
//! click, type), with real engines on loopback behind it. No GPU needed.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use hearth_app::i18n::{Lang, keys};
use hearth_app::{AppOptions, HearthApp};
use hearth_node::NetworkOptions;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn options(dir: &Path, port: u16, dial: Vec<String>) -> AppOptions {
    AppOptions {
        profile_dir: dir.to_path_buf(),
        network: NetworkOptions {
            listen: vec![format!("/ip4/127.0.0.1/tcp/{port}")],
            mdns: false,
            internet: false,
            ..NetworkOptions::default()
        },
        notifications: false,
        dial,
        launched: Instant::now(),
        desktop: false,
    }
}

fn window(options: AppOptions) -> Harness<'static, HearthApp> {
    Harness::builder()
        .with_size(egui::vec2(420.0, 680.0))
        .build_eframe(move |cc| HearthApp::new(&cc.egui_ctx, options))
}

/// Steps the window (and lets the engine work) until `done` holds.
fn until(
    h: &mut Harness<'static, HearthApp>,
    what: &str,
    done: impl Fn(&Harness<'static, HearthApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        h.step();
        if done(h) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the window never showed {what}; it shows {:?}",
            labels(h)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn shows(h: &Harness<'static, HearthApp>, label: &str) -> bool {
    h.query_by_label_contains(label).is_some()
}

/// Every text label on screen.
fn labels(h: &Harness<'static, HearthApp>) -> Vec<String> {
    h.query_all_by_role(Role::Label)
        .filter_map(|node| {
            let node = node.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .collect()
}

/// Focuses the field labelled `label` and types into it, as a person would.
fn type_into(h: &mut Harness<'static, HearthApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
}

/// Goes through the welcome and "about you" screens.
fn onboard(h: &mut Harness<'static, HearthApp>, name: &str) {
    until(h, "the welcome", |h| shows(h, "Welcome to Hearth"));
    h.get_by_label("Let's begin").click();
    until(h, "the profile form", |h| shows(h, "Your name"));
    type_into(h, "Your name", name);
    h.get_by_label("Create my profile").click();
    until(h, "the pairing screen", |h| shows(h, "Find your partner"));
}

#[test]
fn onboarding_creates_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("arta");
    let mut h = window(options(&profile, free_port(), Vec::new()));
    onboard(&mut h, "Arta");
    assert!(profile.join("keys.bin").exists(), "the profile is on disk");
    assert!(shows(&h, "Invite my partner"));
    // The invite appears with its text and a copy button.
    until(&mut h, "an invite", |h| shows(h, "Copy"));
    assert!(labels(&h).iter().any(|l| l.contains("Send this invite")));
}

#[test]
fn switching_to_shqip_changes_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = window(options(&dir.path().join("p"), free_port(), Vec::new()));
    until(&mut h, "the welcome", |h| shows(h, "Welcome to Hearth"));
    h.get_by_label("Shqip").click();
    until(&mut h, "Albanian", |h| shows(h, "Mirë se vini në Hearth"));
    assert!(shows(&h, "Le të fillojmë"));
    assert!(!shows(&h, "Let's begin"));
    h.get_by_label("English").click();
    until(&mut h, "English again", |h| shows(h, "Let's begin"));
}

#[test]
fn a_wrong_passphrase_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p");
    let mut h = window(options(&profile, free_port(), Vec::new()));
    until(&mut h, "the welcome", |h| shows(h, "Welcome to Hearth"));
    h.get_by_label("Let's begin").click();
    until(&mut h, "the profile form", |h| shows(h, "Your name"));
    type_into(&mut h, "Your name", "Ben");
    type_into(&mut h, "Passphrase (optional)", "our secret");
    type_into(&mut h, "Repeat the passphrase", "our secret");
    h.get_by_label("Create my profile").click();
    until(&mut h, "the pairing screen", |h| {
        shows(h, "Find your partner")
    });
    drop(h);

    let mut h = window(options(&profile, free_port(), Vec::new()));
    until(&mut h, "the unlock screen", |h| shows(h, "Welcome back"));
    type_into(&mut h, "Passphrase", "not it");
    h.get_by_label("Open").click();
    until(&mut h, "the error", |h| shows(h, "Wrong passphrase"));
    type_into(&mut h, "Passphrase", "our secret");
    h.get_by_label("Open").click();
    until(&mut h, "the profile opened", |h| {
        shows(h, "Find your partner")
    });
}

#[test]
fn two_windows_pair_nearby_and_chat() {
    let dir = tempfile::tempdir().unwrap();
    let alice_port = free_port();
    let mut alice = window(options(&dir.path().join("alice"), alice_port, Vec::new()));
    onboard(&mut alice, "Alice");
    let mut bob = window(options(
        &dir.path().join("bob"),
        free_port(),
        vec![format!("/ip4/127.0.0.1/tcp/{alice_port}")],
    ));
    onboard(&mut bob, "Bob");

    alice.get_by_label("Nearby").click();
    until(&mut alice, "the show-code button", |h| {
        shows(h, "Show a code")
    });
    alice.get_by_label("Show a code").click();
    until(&mut alice, "a six-digit code", |h| {
        labels(h)
            .iter()
            .any(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
    });
    let code = labels(&alice)
        .into_iter()
        .find(|l| l.len() == 6 && l.chars().all(|c| c.is_ascii_digit()))
        .unwrap();

    bob.get_by_label("Nearby").click();
    until(&mut bob, "the code field", |h| {
        shows(h, "Code shown on your partner")
    });
    // Bob's window lists Alice, who shows a code; Alice's does not list Bob, who
    // only has an invite open.
    // Listed by the end of its id: names go only to a device that completed the
    // handshake.
    let listed =
        |h: &Harness<'static, HearthApp>| labels(h).iter().any(|l| l.starts_with("• a device (…"));
    until(&mut bob, "Alice's device listed as waiting to pair", listed);
    assert!(
        !labels(&bob).iter().any(|l| l.contains("Alice")),
        "{:?}",
        labels(&bob)
    );
    alice.step();
    assert!(!listed(&alice), "an open invite is not a code on screen");
    // Alice's screen says how her device shows on Bob's: the same words.
    let shown_as = labels(&alice)
        .into_iter()
        .find_map(|l| {
            l.strip_prefix("On theirs, this device is listed as ")
                .map(|rest| rest.trim_end_matches('.').to_string())
        })
        .expect("Alice's screen says how her device is listed");
    assert!(
        labels(&bob).contains(&format!("• {shown_as}")),
        "Bob's list {:?} lacks {shown_as}",
        labels(&bob)
    );
    type_into(&mut bob, "Code shown on your partner's device", &code);
    bob.get_by_label("Pair").click();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(shows(&alice, "You're paired with Bob") && shows(&bob, "You're paired with Alice")) {
        alice.step();
        bob.step();
        assert!(Instant::now() < deadline, "the two windows never paired");
        std::thread::sleep(Duration::from_millis(15));
    }
    let words =
        |h: &Harness<'static, HearthApp>| labels(h).into_iter().find(|l| l.contains('·')).unwrap();
    assert_eq!(
        words(&alice),
        words(&bob),
        "both show the same safety words"
    );

    alice.get_by_label("They match").click();
    bob.get_by_label("They match").click();
    until(&mut alice, "the chat", |h| {
        h.query_by_label("Message").is_some()
    });
    until(&mut bob, "the chat", |h| shows(h, "Alice"));

    let text = "Mirëmëngjes, zemër! ☕ çdo ditë";
    type_into(&mut alice, "Message", text);
    alice.key_press(egui::Key::Enter);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        alice.step();
        bob.step();
        let arrived = shows(&bob, text);
        let delivered = labels(&alice)
            .iter()
            .any(|l| l.contains("delivered") || l.contains("read"));
        if arrived && delivered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the message never arrived with its delivery state (arrived: {arrived})"
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    // The composer is empty again after sending.
    let left = alice.get_by_label("Message").value().unwrap_or_default();
    assert_eq!(left, "", "the composer was cleared");

    // Settings: set a passphrase; the next start asks for it.
    alice.get_by_label("Settings").click();
    until(&mut alice, "the settings", |h| {
        shows(h, "Change passphrase")
    });
    assert!(shows(&alice, "kept in a file on this computer"));
    // Further down the page than a small window shows.
    alice.get_by_label("Change passphrase").scroll_to_me();
    alice.step();
    type_into(&mut alice, "New passphrase (empty: none)", "ne dy");
    type_into(&mut alice, "Repeat the passphrase", "ne dy");
    alice.get_by_label("Change passphrase").click();
    until(&mut alice, "the passphrase in use", |h| {
        shows(h, "locked with your passphrase")
    });
    drop(alice);
    let mut alice = window(options(&dir.path().join("alice"), free_port(), Vec::new()));
    until(&mut alice, "the unlock screen", |h| {
        shows(h, "Welcome back")
    });
}

#[test]
fn both_languages_have_every_key() {
    assert_eq!(
        keys(Lang::En),
        keys(Lang::Sq),
        "en and sq define the same keys"
    );
    assert!(keys(Lang::En).len() > 50);
}

/// Every `.rs` file under `dir`, however deep (the views are a directory of their
/// own).
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Kebab-case literals in the app's code that are not message keys.
const NOT_KEYS: &[&str] = &[
    // A freedesktop icon name, for "Quit" in the tray's menu.
    "application-exit",
    // The program the tray's test runs as a private session bus.
    "dbus-daemon",
];

#[test]
fn every_key_the_code_uses_is_translated() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = rust_files(&src);
    assert!(
        files.iter().any(|f| f.ends_with("views/chat.rs")),
        "the scan reaches into views/: {files:?}"
    );
    let mut used = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        // Every kebab-case string literal in the app's code is a message key.
        for literal in text.split('"').skip(1).step_by(2) {
            let is_key = literal.contains('-')
                && literal
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && literal
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase());
            if is_key && !NOT_KEYS.contains(&literal) {
                used.push(literal.to_string());
            }
        }
    }
    used.extend((1..=12).map(|m| format!("month-{m}")));
    assert!(used.len() > 40, "the scan found the keys: {used:?}");
    for lang in Lang::ALL {
        let defined = keys(lang);
        let missing: Vec<_> = used.iter().filter(|k| !defined.contains(k)).collect();
        assert!(
            missing.is_empty(),
            "keys used but not translated in {lang:?}: {missing:?}"
        );
    }
}

/// The variables each message of a language file uses, by message.
fn variables(lang: &str) -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
    fn walk_pattern(pattern: &Pattern<&str>, found: &mut std::collections::BTreeSet<String>) {
        for element in &pattern.elements {
            if let PatternElement::Placeable { expression } = element {
                walk_expression(expression, found);
            }
        }
    }
    fn walk_expression(
        expression: &Expression<&str>,
        found: &mut std::collections::BTreeSet<String>,
    ) {
        match expression {
            Expression::Inline(inline) => walk_inline(inline, found),
            Expression::Select { selector, variants } => {
                walk_inline(selector, found);
                for variant in variants {
                    walk_pattern(&variant.value, found);
                }
            }
        }
    }
    fn walk_inline(
        inline: &InlineExpression<&str>,
        found: &mut std::collections::BTreeSet<String>,
    ) {
        match inline {
            InlineExpression::VariableReference { id } => {
                found.insert(id.name.to_string());
            }
            InlineExpression::Placeable { expression } => walk_expression(expression, found),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../assets/i18n")
        .join(lang)
        .join("hearth.ftl");
    let source = std::fs::read_to_string(path).unwrap();
    let resource = fluent_syntax::parser::parse(source.as_str()).unwrap();
    let mut all = std::collections::BTreeMap::new();
    for entry in resource.body {
        if let Entry::Message(message) = entry {
            let mut found = std::collections::BTreeSet::new();
            if let Some(value) = &message.value {
                walk_pattern(value, &mut found);
            }
            all.insert(message.id.name.to_string(), found);
        }
    }
    all
}

#[test]
fn both_languages_fill_in_the_same_variables() {
    // A translation that drops `{ $name }` or misspells it shows the wrong text in
    // one language only; this finds it before a user does.
    let (en, sq) = (variables("en"), variables("sq"));
    let differ: Vec<_> = en
        .iter()
        .filter(|(key, vars)| sq.get(*key) != Some(vars))
        .map(|(key, vars)| (key, vars, sq.get(key)))
        .collect();
    assert!(differ.is_empty(), "en and sq variables differ: {differ:?}");
    assert!(en["file-fetch-failed"].contains("detail"));
}

/// Pairs two profiles through their engines, then closes them, so two windows can
/// open on an already paired couple.
fn pair_profiles(alice_dir: &Path, alice_port: u16, bob_dir: &Path, bob_port: u16) {
    pair_profiles_speaking(alice_dir, alice_port, bob_dir, bob_port, "en");
}

/// [`pair_profiles`], Bob's profile (and so his window) in `bob_language`.
fn pair_profiles_speaking(
    alice_dir: &Path,
    alice_port: u16,
    bob_dir: &Path,
    bob_port: u16,
    bob_language: &str,
) {
    use hearth_node::{Node, NodeConfig, NodeEvent, Profile};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let start = |dir: &Path, port: u16| {
            let mut config = NodeConfig::new(dir);
            config.network.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}")];
            config.network.mdns = false;
            Node::start(config)
        };
        let (alice, mut alice_events) = start(alice_dir, alice_port).await.unwrap();
        let (bob, _bob_events) = start(bob_dir, bob_port).await.unwrap();
        for (node, name, language) in [(&alice, "Alice", "en"), (&bob, "Bob", bob_language)] {
            node.init(Profile {
                name: name.into(),
                language: language.into(),
                time_zone: "Europe/Tirane".into(),
            })
            .await
            .unwrap();
        }
        let invite = alice.invite().await.unwrap();
        bob.pair(invite.code).await.unwrap();
        while let Some(event) = alice_events.recv().await {
            if matches!(event, NodeEvent::Paired(_)) {
                break;
            }
        }
        alice.shutdown().await;
        bob.shutdown().await;
    });
}

/// Alice's and Bob's windows on an already paired couple, both showing the chat;
/// Bob's dials Alice's on loopback.
fn paired_windows(dir: &Path) -> (Harness<'static, HearthApp>, Harness<'static, HearthApp>) {
    paired_windows_after(dir, |_| {})
}

/// [`paired_windows`], Bob's window in `bob_language`.
fn paired_windows_speaking(
    dir: &Path,
    bob_language: &str,
) -> (Harness<'static, HearthApp>, Harness<'static, HearthApp>) {
    paired_windows_in(dir, bob_language, |_| {})
}

/// [`paired_windows`], doing `meanwhile` to Bob's profile (closed) between pairing
/// and opening the windows.
fn paired_windows_after(
    dir: &Path,
    meanwhile: impl FnOnce(&Path),
) -> (Harness<'static, HearthApp>, Harness<'static, HearthApp>) {
    paired_windows_in(dir, "en", meanwhile)
}

fn paired_windows_in(
    dir: &Path,
    bob_language: &str,
    meanwhile: impl FnOnce(&Path),
) -> (Harness<'static, HearthApp>, Harness<'static, HearthApp>) {
    let (alice_dir, bob_dir) = (dir.join("alice"), dir.join("bob"));
    let (alice_port, bob_port) = (free_port(), free_port());
    pair_profiles_speaking(&alice_dir, alice_port, &bob_dir, bob_port, bob_language);
    meanwhile(&bob_dir);
    let mut alice = window(options(&alice_dir, alice_port, Vec::new()));
    let mut bob = window(options(
        &bob_dir,
        bob_port,
        vec![format!("/ip4/127.0.0.1/tcp/{alice_port}")],
    ));
    until(&mut alice, "the chat", |h| {
        h.query_by_label("Message").is_some()
    });
    until(&mut bob, "the chat", |h| {
        h.query_by_label("Message").is_some() || h.query_by_label("Mesazh").is_some()
    });
    (alice, bob)
}

#[test]
fn a_photo_picked_in_one_window_arrives_in_the_other_and_in_memories() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([(x / 2) as u8, (y / 2) as u8, 90])
    })
    .save(photos.join("sunset.png"))
    .unwrap();

    let (mut alice, mut bob) = paired_windows(dir.path());

    // Alice picks the photo with the app's own picker and sends it.
    // Point at the button first, as a hand would, then click.
    alice.get_by_label("Attach files").hover();
    alice.step();
    alice.get_by_label("Attach files").click();
    until(&mut alice, "the picker", |h| {
        h.query_by_label("Folder").is_some()
    });
    // Select the folder shown, and type over it.
    alice.get_by_label("Folder").focus();
    alice.step();
    alice.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    alice.step();
    alice
        .get_by_label("Folder")
        .type_text(photos.to_str().unwrap());
    alice.step();
    alice.key_press(egui::Key::Enter);
    until(&mut alice, "the photo listed", |h| {
        h.query_by_label("📄 sunset.png").is_some()
    });
    alice.get_by_label("📄 sunset.png").click();
    alice.step();
    alice.get_by_label("Send 1").click();

    // Bob's window shows the thumbnail as soon as the message arrives, and the
    // photo opens once its bytes are in.
    let deadline = Instant::now() + Duration::from_secs(30);
    while bob.query_by_label("Open sunset.png").is_none()
        || bob.query_by_label("Save as…").is_none()
    {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "the photo never arrived; Bob's window shows {:?}",
            labels(&bob)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    bob.get_by_label("Open sunset.png").click();
    // The viewer shows the whole photo, not the thumbnail.
    until(&mut bob, "the photo in the viewer", |h| {
        h.query_by_label("sunset.png (400×300)").is_some()
    });
    bob.key_press(egui::Key::Escape);
    until(&mut bob, "the viewer closed", |h| {
        h.query_by_label("sunset.png (400×300)").is_none()
    });

    bob.get_by_label("Memories").click();
    until(&mut bob, "the photo in Memories", |h| {
        h.query_by_label("sunset.png").is_some()
    });
}

#[test]
fn the_header_says_how_the_two_are_connected_and_settings_keep_a_mistyped_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows(dir.path());
    // On one machine the two are on the same network: "nearby", in both windows.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(shows(&alice, "nearby") && shows(&bob, "nearby")) {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "no 'nearby' in the headers: {:?} / {:?}",
            labels(&alice),
            labels(&bob)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    drop(bob);
    until(&mut alice, "Bob gone", |h| {
        shows(h, "not connected — messages will wait")
    });

    alice.get_by_label("Settings").click();
    until(&mut alice, "the network settings", |h| {
        shows(h, "Finding each other")
    });
    assert!(shows(&alice, "No relay yet"));
    // A mistyped relay is refused with a reason and stays in the field.
    type_into(
        &mut alice,
        "Add a relay (an address ending in /p2p/…)",
        "/ip4/203.0.113.1/tcp/4001",
    );
    alice.get_by_label("Add").click();
    until(&mut alice, "the error", |h| shows(h, "/p2p/<peer id>"));
    assert!(
        alice
            .query_all_by_value("/ip4/203.0.113.1/tcp/4001")
            .next()
            .is_some(),
        "the typed address is kept: {:?}",
        labels(&alice)
    );
    // Corrected to the whole address, it is added and listed.
    let relay =
        "/ip4/203.0.113.1/tcp/4001/p2p/12D3KooWDrsk3vMiQtnUZJyhn2MCxK5Pe5MsXvpkdEZtta89DD2m";
    let field = "Add a relay (an address ending in /p2p/…)";
    alice.get_by_label(field).focus();
    alice.step();
    alice.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    alice.step();
    alice.get_by_label(field).type_text(relay);
    alice.step();
    alice.get_by_label("Add").click();
    until(&mut alice, "the relay listed", |h| {
        h.query_by_label(&format!("Remove {relay}")).is_some()
    });
    assert!(!shows(&alice, "No relay yet"));
    alice.get_by_label(&format!("Remove {relay}")).click();
    until(&mut alice, "the relay removed", |h| {
        shows(h, "No relay yet")
    });
}

/// A JPEG of `width`×`height`, plain enough to be small.
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([120, 60, 200]))
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new(&mut out))
        .unwrap();
    out
}

/// Pictures that would crash a viewer that trusts them: the partner's device sends
/// thumbnails that lie (a real 1×20000 JPEG, declared as such and declared as
/// 200×200), and a panorama wider than any texture the renderer takes. Both windows
/// show them (or the file's icon) and the panorama opens, scaled down.
#[test]
fn a_forged_thumbnail_and_a_panorama_show_without_a_crash() {
    use hearth_core::{Attachment, OpBody, Thumbnail, limits};
    let dir = tempfile::tempdir().unwrap();
    let desk = dir.path().join("desk");
    std::fs::create_dir(&desk).unwrap();
    image::RgbImage::from_fn(30_000, 200, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 199) as u8, 40])
    })
    .save(desk.join("panorama.png"))
    .unwrap();
    let tall = jpeg(1, 20_000);
    assert!(tall.len() <= limits::MAX_THUMBNAIL_BYTES, "{}", tall.len());

    // A hostile device writes what it likes into its own log: Bob's, here.
    let (mut alice, mut bob) = paired_windows_after(dir.path(), |bob_dir| {
        let mut store = hearth_store::Store::open(bob_dir, None).unwrap();
        let identity: [u8; 32] = store.setting("identity").unwrap().unwrap();
        let bob = hearth_net::device_id_of(&identity).unwrap();
        for (name, width, height) in [("tall.jpg", 1, 20_000), ("liar.jpg", 200, 200)] {
            let body = OpBody::Attachment(Attachment {
                name: name.into(),
                mime: "image/jpeg".into(),
                size: 1000,
                hash: [1; 32],
                chunk_size: 1 << 20,
                chunks_root: [2; 32],
                thumbnail: Some(Thumbnail {
                    width,
                    height,
                    jpeg: tall.clone(),
                }),
                view_once: false,
                expires_after_open_secs: None,
            });
            store.append_local(bob, 1_795_000_000_000, body).unwrap();
        }
        store.flush().unwrap();
    });

    // Both arrive at Alice's window, shown with the file's icon, and nothing breaks.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !["🖼 tall.jpg", "🖼 liar.jpg"]
        .iter()
        .all(|l| alice.query_by_label(l).is_some())
    {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "the forged messages never showed; Alice's window shows {:?}",
            labels(&alice)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    for _ in 0..20 {
        alice.step();
        bob.step();
    }
    // Bob's own window lists them too (its device holds no file for them).
    assert!(
        labels(&bob).iter().any(|l| l.contains("tall.jpg")),
        "{:?}",
        labels(&bob)
    );

    // The panorama, dropped on Alice's window, opens in Bob's.
    alice.input_mut().dropped_files.push(egui::DroppedFile {
        path: Some(desk.join("panorama.png")),
        ..Default::default()
    });
    alice.step();
    until(&mut alice, "the picker", |h| {
        h.query_by_label("Send 1").is_some()
    });
    alice.get_by_label("Send 1").click();
    let deadline = Instant::now() + Duration::from_secs(60);
    while bob.query_by_label("Open panorama.png").is_none()
        || bob.query_by_label("Save as…").is_none()
    {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "the panorama never arrived; Bob's window shows {:?}",
            labels(&bob)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    bob.get_by_label("Open panorama.png").click();
    until(&mut bob, "the panorama in the viewer", |h| {
        h.query_by_label("panorama.png (30000×200)").is_some()
    });
}

#[test]
fn files_dropped_on_the_window_go_to_the_picker_and_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let desk = dir.path().join("desk");
    std::fs::create_dir(&desk).unwrap();
    std::fs::write(desk.join("lista.txt"), "bukë, djathë, ullinj\n").unwrap();
    image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 200]))
        .save(desk.join("deti.png"))
        .unwrap();

    let (mut alice, mut bob) = paired_windows(dir.path());

    // Two files dropped from a file manager open the picker with both ticked.
    for name in ["lista.txt", "deti.png"] {
        alice.input_mut().dropped_files.push(egui::DroppedFile {
            path: Some(desk.join(name)),
            ..Default::default()
        });
    }
    alice.step();
    until(&mut alice, "the picker with both", |h| {
        h.query_by_label("Send 2").is_some()
    });
    alice.get_by_label("Send 2").click();

    let deadline = Instant::now() + Duration::from_secs(30);
    while bob.query_by_label("Open deti.png").is_none()
        || !labels(&bob).iter().any(|l| l.contains("lista.txt"))
    {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "the dropped files never arrived; Bob's window shows {:?}",
            labels(&bob)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

#[test]
fn a_draft_and_the_chosen_theme_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice_dir, bob_dir) = (dir.path().join("alice"), dir.path().join("bob"));
    let (alice_port, bob_port) = (free_port(), free_port());
    pair_profiles(&alice_dir, alice_port, &bob_dir, bob_port);
    let mut alice = window(options(&alice_dir, alice_port, Vec::new()));
    until(&mut alice, "the chat", |h| {
        h.query_by_label("Message").is_some()
    });
    // A new window follows the system; choose the other one.
    let (label, chosen) = match alice.ctx.theme() {
        egui::Theme::Dark => ("Light", egui::Theme::Light),
        egui::Theme::Light => ("Dark", egui::Theme::Dark),
    };

    alice.get_by_label("Settings").click();
    until(&mut alice, "the settings", |h| shows(h, "Theme"));
    alice.get_by_label(label).click();
    until(&mut alice, "the chosen theme", |h| h.ctx.theme() == chosen);
    // At the foot of a page taller than the window: scroll, as a hand would.
    alice.get_by_label("Back to chat").scroll_to_me();
    for _ in 0..10 {
        alice.step();
    }
    alice.get_by_label("Back to chat").click();
    until(&mut alice, "the chat", |h| {
        h.query_by_label("Message").is_some()
    });
    let draft = "po vij, mos u mërzit";
    type_into(&mut alice, "Message", draft);
    // The draft is stored as it is typed, not only when the window closes.
    for _ in 0..20 {
        alice.step();
        std::thread::sleep(Duration::from_millis(15));
    }
    drop(alice);

    let mut alice = window(options(&alice_dir, free_port(), Vec::new()));
    until(&mut alice, "the draft in the composer", |h| {
        h.query_by_label("Message")
            .and_then(|node| node.value())
            .is_some_and(|value| value == draft)
    });
    assert_eq!(alice.ctx.theme(), chosen, "the theme is kept");
}

/// Compared later on a call, the safety words differ: from Settings, after a
/// confirmation, the pairing ends in both windows, each says why, and what they
/// shared is gone.
#[test]
fn the_words_differ_ends_the_pairing_in_both_windows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows(dir.path());
    type_into(&mut alice, "Message", "a më dëgjon?");
    alice.key_press(egui::Key::Enter);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !shows(&bob, "a më dëgjon?") {
        alice.step();
        bob.step();
        assert!(Instant::now() < deadline, "the message never arrived");
        std::thread::sleep(Duration::from_millis(15));
    }

    alice.get_by_label("Settings").click();
    until(&mut alice, "Settings", |h| {
        h.query_by_label("The words differ").is_some()
    });
    // At the bottom of Settings, below the fold: pressed the way a screen reader
    // would, which needs no scrolling.
    alice.get_by_label("The words differ").click_accesskit();
    until(&mut alice, "the confirmation", |h| {
        h.query_by_label("End the pairing").is_some()
    });
    alice.get_by_label("End the pairing").click_accesskit();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(shows(&alice, "Find your partner") && shows(&bob, "Find your partner")) {
        alice.step();
        bob.step();
        assert!(
            Instant::now() < deadline,
            "the pairing did not end in both windows; Bob's shows {:?}",
            labels(&bob)
        );
        std::thread::sleep(Duration::from_millis(15));
    }
    assert!(
        labels(&alice)
            .iter()
            .any(|l| l.contains("safety words differed"))
    );
    assert!(
        labels(&bob)
            .iter()
            .any(|l| l.contains("Your partner's device said the safety words differed"))
    );
    assert!(!shows(&bob, "a më dëgjon?"));
}

/// A mailbox on loopback, run on a thread of its own as `hearth mailbox` would run
/// on another machine; its invite, and the switch that stops it.
fn start_mailbox(dir: &Path) -> (String, tokio::sync::oneshot::Sender<()>) {
    use hearth_node::mailbox::{MailboxConfig, MailboxEvent};
    let mut config = MailboxConfig::new(dir);
    config.network.listen = vec![format!("/ip4/127.0.0.1/tcp/{}", free_port())];
    config.network.internet = false;
    let (invites, invite) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime
            .block_on(hearth_node::mailbox::serve(
                config,
                move |event| {
                    if let MailboxEvent::Invite(Some((code, _))) = event {
                        let _ = invites.send(code);
                    }
                },
                async {
                    let _ = stopped.await;
                },
            ))
            .unwrap();
    });
    let invite = invite.recv_timeout(Duration::from_secs(30)).unwrap();
    (invite, stop)
}

/// Settings → Your mailbox: paste the invite, join; shown as reached.
fn join_mailbox(h: &mut Harness<'static, HearthApp>, invite: &str) {
    h.get_by_label("Settings").click();
    until(h, "Settings", |h| {
        h.query_by_label("Join the mailbox").is_some()
    });
    type_into(h, "Mailbox invite (hearth-mailbox:…)", invite);
    h.get_by_label("Join the mailbox").click_accesskit();
    until(h, "the mailbox joined", |h| {
        shows(h, "Reached just now") && h.query_by_label("Stop using the mailbox").is_some()
    });
    h.get_by_label("Back to chat").click_accesskit();
    until(h, "the chat", |h| h.query_by_label("Message").is_some());
}

#[test]
fn a_message_to_a_partner_who_is_away_waits_at_the_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let (invite, stop) = start_mailbox(&dir.path().join("mailbox"));
    let (mut alice, mut bob) = paired_windows(dir.path());
    join_mailbox(&mut alice, &invite);
    join_mailbox(&mut bob, &invite);
    drop(bob);
    until(&mut alice, "Bob gone, the mailbox there", |h| {
        shows(h, "not connected — messages go to your mailbox")
    });
    type_into(&mut alice, "Message", "mirëmëngjes, kur të zgjohesh");
    alice.key_press(egui::Key::Enter);
    until(&mut alice, "the message at the mailbox", |h| {
        shows(h, "at the mailbox")
    });
    let _ = stop.send(());
}

#[test]
fn our_days_set_in_settings_show_in_both_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows_speaking(dir.path(), "sq");
    alice.get_by_label("Settings").click();
    until(&mut alice, "our days", |h| shows(h, "Our days"));

    // A date that is no date is refused, saying how to write one, and stays.
    let together = "Together since (YYYY-MM-DD)";
    type_into(&mut alice, together, "2021-02-30");
    alice.get_by_label("Save our days").click_accesskit();
    until(&mut alice, "the error", |h| shows(h, "is not a date"));
    assert!(alice.query_all_by_value("2021-02-30").next().is_some());
    alice.get_by_label(together).focus();
    alice.step();
    alice.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    alice.step();
    alice.get_by_label(together).type_text("2021-06-12");
    alice.step();

    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Tirane").unwrap())
        .date();
    let meeting = today.checked_add(jiff::Span::new().days(12)).unwrap();
    type_into(
        &mut alice,
        "Next time we meet (YYYY-MM-DD)",
        &meeting.to_string(),
    );
    type_into(&mut alice, "Where (optional)", "Tirana");
    alice.get_by_label("Save our days").click_accesskit();
    until(&mut alice, "the error gone", |h| !shows(h, "is not a date"));
    alice.get_by_label("Back to chat").scroll_to_me();
    alice.step();
    alice.get_by_label("Back to chat").click_accesskit();

    // Both headers count the same days.
    let since = jiff::civil::date(2021, 6, 12)
        .until((jiff::Unit::Day, today))
        .unwrap()
        .get_days();
    let line = format!("Together {since} days  ·  12 days until Tirana");
    until(&mut alice, "the days in the header", |h| shows(h, &line));
    // The same counts in Bob's, in his language.
    let his = format!("Bashkë prej {since} ditësh  ·  Tirana: edhe 12 ditë");
    until(&mut bob, "the days in Bob's header", |h| shows(h, &his));
}

#[test]
fn a_mood_shared_in_english_shows_in_albanian_on_the_other_window() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows_speaking(dir.path(), "sq");
    until(&mut bob, "the chat in Albanian", |h| {
        h.query_by_label("Mesazh").is_some()
    });

    // Alice picks a mood, writes a few words and shares it.
    alice.get_by_label("How I feel").click();
    until(&mut alice, "the mood window", |h| {
        shows(h, "How do you feel today?")
    });
    assert!(
        alice.get_by_label("Share").accesskit_node().is_disabled(),
        "nothing to share before a mood is picked"
    );
    alice.get_by_label("Missing you").click();
    alice.step();
    type_into(&mut alice, "A few words (optional)", "counting the days");
    alice.get_by_label("Share").click();
    until(&mut alice, "the mood in her timeline", |h| {
        shows(h, "Feeling: Missing you") && !shows(h, "How do you feel today?")
    });

    // Bob sees it in his language: in the timeline, and in the header as hers today.
    until(&mut bob, "the mood in Albanian", |h| {
        shows(h, "counting the days") && h.query_all_by_label_contains("Ndjenja: Mall").count() >= 2
    });

    // His strip shows her day; he shares his own, and hers shows his.
    bob.get_by_label("Si ndihem").click();
    until(&mut bob, "the mood window in Albanian", |h| {
        shows(h, "Si ndihesh sot?")
    });
    assert!(shows(&bob, "Katër javët e fundit"));
    bob.get_by_label("Gëzim").click();
    bob.step();
    bob.get_by_label("Ndaje").click();
    until(&mut bob, "his mood in his timeline", |h| {
        shows(h, "Ndjenja: Gëzim")
    });
    // In her timeline, and in her header as his today.
    until(&mut alice, "his mood in hers", |h| {
        h.query_all_by_label_contains("Feeling: Joyful").count() >= 2
    });
}

#[test]
fn boundaries_proposed_in_one_window_are_accepted_in_the_other_and_quiet_hours_show() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows_speaking(dir.path(), "sq");
    until(&mut bob, "the chat in Albanian", |h| {
        h.query_by_label("Mesazh").is_some()
    });

    // Quiet hours around now in Tirana, so that Alice is in them as the test runs.
    let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::get("Europe/Tirane").unwrap());
    let at = |hours: i64| {
        now.checked_add(jiff::SignedDuration::from_hours(hours))
            .unwrap()
            .strftime("%H:%M")
            .to_string()
    };
    let (start, end) = (at(-1), at(2));

    alice.get_by_label("Our boundaries").click();
    until(&mut alice, "the boundaries window", |h| {
        shows(h, "Propose a change")
    });
    // A time that is none is refused, saying how to write one.
    type_into(&mut alice, "Your quiet hours from (HH:MM)", "25:00");
    type_into(&mut alice, "to (HH:MM)", &end);
    press(&mut alice, "Propose");
    until(&mut alice, "the error", |h| shows(h, "each as HH:MM"));
    alice.get_by_label("Your quiet hours from (HH:MM)").focus();
    alice.step();
    alice.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    alice.step();
    alice
        .get_by_label("Your quiet hours from (HH:MM)")
        .type_text(&start);
    alice.step();
    type_into(&mut alice, "Photos and media", "ask first");
    alice
        .get_by_label("Photos and files view-once by default")
        .click_accesskit();
    alice.step();
    press(&mut alice, "Propose");
    until(&mut alice, "her proposal waiting", |h| {
        shows(h, "Waiting for Bob to accept")
    });

    // Bob sees it in Albanian and accepts.
    bob.get_by_label("Kufijtë tanë").click();
    until(&mut bob, "her proposal", |h| shows(h, "Alice propozon:"));
    assert!(shows(&bob, "ask first"));
    press(&mut bob, "Prano");
    let hours = format!("{start}–{end}");
    until(&mut bob, "the agreement", |h| {
        !shows(h, "Alice propozon:") && shows(h, &hours)
    });
    until(&mut alice, "agreed", |h| {
        !shows(h, "Waiting for Bob") && shows(h, &hours)
    });

    // Its history says who proposed what.
    alice
        .get_by_label("What you agreed, change by change")
        .click_accesskit();
    until(&mut alice, "the history", |h| {
        shows(h, "you proposed, and it was accepted")
    });
    bob.get_by_label("Çfarë keni rënë dakord, ndryshim pas ndryshimi")
        .click_accesskit();
    until(&mut bob, "his history", |h| {
        shows(h, "e propozoi Alice dhe e pranove")
    });

    // As agreed, what she picks to send is view-once unless she unticks it.
    alice.get_by_label("Attach files").click_accesskit();
    until(&mut alice, "the picker", |h| {
        h.query_by_label("Folder").is_some()
    });
    assert_eq!(
        alice.get_by_label("View once").accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    alice.key_press(egui::Key::Escape);
    alice.step();

    // She is in her quiet hours: his composer says so before he writes.
    let quiet = format!("Alice është në orët e qeta deri në {end}");
    until(&mut bob, "her quiet hours", |h| shows(h, &quiet));
    assert!(shows(&bob, "Është urgjente"));
    // His header says so too.
    assert!(shows(&bob, &format!("orë të qeta deri në {end}")));

    // A check-in with no day is refused; with Sunday, both headers show the next.
    type_into(&mut alice, "Time (HH:MM)", "20:00");
    press(&mut alice, "Add this check-in");
    until(&mut alice, "the check-in error", |h| {
        shows(h, "at least one day")
    });
    alice.get_by_label("Sun").click_accesskit();
    alice.step();
    press(&mut alice, "Add this check-in");
    until(&mut alice, "the check-in", |h| {
        h.query_by_label("Sun at 20:00 (Europe/Tirane)").is_some() && !shows(h, "at least one day")
    });
    until(
        &mut bob,
        "the next check-in in his header and his window",
        |h| {
            h.query_all_by_label_contains("Biseda e radhës: Die 20:00 për ty")
                .count()
                >= 2
        },
    );
}

/// Presses the button labelled `label` through the accessibility tree, as a
/// screen reader would: it may sit below the fold of a scrolled window.
fn press(h: &mut Harness<'static, HearthApp>, label: &str) {
    h.get_by_label(label).click_accesskit();
}

#[test]
fn a_message_for_their_morning_shows_as_scheduled_and_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (mut alice, mut bob) = paired_windows_speaking(dir.path(), "sq");
    until(&mut bob, "the chat in Albanian", |h| {
        h.query_by_label("Mesazh").is_some()
    });

    // Bob writes, and sends it for Alice's morning from the ⏰ menu.
    type_into(&mut bob, "Mesazh", "mirëmëngjes, shpirt");
    bob.get_by_label("Dërgo më vonë").click();
    until(&mut bob, "the send-later menu", |h| {
        shows(h, "Në mëngjes për Alice")
    });
    bob.get_by_label("Në mëngjes për Alice (ora 08:00 atje)")
        .click_accesskit();
    until(&mut bob, "it scheduled", |h| {
        shows(h, "shfaqet në") && shows(h, "(08:00 atje)")
    });
    // A plain message after it arrives; the scheduled one does not show for her.
    type_into(&mut bob, "Mesazh", "natën e mirë");
    bob.get_by_label("Dërgo").click();
    until(&mut bob, "his goodnight sent", |h| shows(h, "natën e mirë"));
    until(&mut alice, "his goodnight", |h| shows(h, "natën e mirë"));
    assert!(!shows(&alice, "mirëmëngjes, shpirt"));

    // He takes it back: it is gone from his window, and never shows for her.
    bob.get_by_label("mirëmëngjes, shpirt").hover();
    bob.step();
    press(&mut bob, "Anulo këtë mesazh të planifikuar");
    until(&mut bob, "cancelled", |h| !shows(h, "mirëmëngjes, shpirt"));
    assert!(!shows(&alice, "mirëmëngjes, shpirt"));
}
