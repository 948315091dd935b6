//! Hearth goes on when its window closes: the window hides (to the tray icon of
//! [`crate::tray`]), the engine keeps receiving and notifications keep coming, and
//! only "Quit" (in the tray's menu, or Ctrl+Q) ends the process. A second start on
//! the same profile (the menu entry clicked again) shows the running window instead
//! of failing on the profile's lock: the first window listens on a Unix socket in
//! the profile directory (`window.sock`, reachable only by the profile's owner, as
//! the directory is).
//!
//! Without a tray on the desktop, closing the window quits, as before, and Settings
//! says so: a hidden window nothing can bring back would be a lost one.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::tray::{TrayIcon, TrayTexts};

/// What the tray, or a second start of Hearth, asks of the window.
pub(crate) enum WindowRequest {
    /// Show the window (a click on the icon, "Open Hearth", a second start).
    Open,
    /// Quit Hearth.
    Quit,
    /// The icon is in the tray, or cannot be, and why.
    TrayStarted(Result<TrayIcon, String>),
    /// The tray host went away: nothing but the window can bring it back now.
    TrayGone,
    /// A tray host is back.
    TrayBack,
}

/// Whether the icon is in the tray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TrayState {
    /// Not asked for (tests).
    Off,
    /// Being put there.
    Starting,
    /// In the tray: closing the window hides it.
    Shown,
    /// No tray on this desktop: closing the window quits.
    Missing,
}

/// What the window should do after a frame's requests are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notice {
    /// Tell the user, once, that Hearth still runs in the tray.
    StillRunning,
}

/// The window's life beside the engine: hidden or shown, quitting or not.
pub(crate) struct Background {
    tx: mpsc::Sender<WindowRequest>,
    requests: mpsc::Receiver<WindowRequest>,
    tray: Option<TrayIcon>,
    state: TrayState,
    /// The texts the icon shows now.
    texts: Option<TrayTexts>,
    /// Whether a tray host is there to show the icon (false from the first
    /// "gone" until a "back").
    host_online: bool,
    hidden: bool,
    quitting: bool,
    told_still_running: bool,
    /// The socket a second start finds this window by, removed as Hearth quits.
    socket: Option<PathBuf>,
}

/// The socket a running window listens on for a second start.
fn socket_path(profile_dir: &Path) -> PathBuf {
    profile_dir.join("window.sock")
}

/// Asks a window already running on this profile to show itself. True when one
/// did: this start has nothing more to do.
pub(crate) fn hand_over(profile_dir: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket_path(profile_dir)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = [0u8; 2];
    stream.write_all(b"open\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"ok"
}

impl Background {
    pub(crate) fn new() -> Background {
        let (tx, requests) = mpsc::channel();
        Background {
            tx,
            requests,
            tray: None,
            state: TrayState::Off,
            texts: None,
            host_online: true,
            hidden: false,
            quitting: false,
            told_still_running: false,
            socket: None,
        }
    }

    pub(crate) fn tray_state(&self) -> TrayState {
        self.state
    }

    /// Whether the window is hidden while Hearth runs on.
    pub(crate) fn hidden(&self) -> bool {
        self.hidden
    }

    /// Puts the icon in the tray, on the engine's runtime.
    pub(crate) fn start_tray(
        &mut self,
        runtime: &tokio::runtime::Handle,
        texts: TrayTexts,
        wake: &egui::Context,
    ) {
        self.state = TrayState::Starting;
        self.texts = Some(texts.clone());
        let tx = self.tx.clone();
        let wake = wake.clone();
        runtime.spawn(async move {
            let started = crate::tray::start(texts, tx.clone(), wake.clone()).await;
            if let Err(e) = &started {
                tracing::info!(error = %e, "no tray: closing the window quits Hearth");
            }
            let _ = tx.send(WindowRequest::TrayStarted(
                started.map_err(|e| e.to_string()),
            ));
            wake.request_repaint();
        });
    }

    /// Answers a second start of Hearth on this profile by showing this window.
    /// A socket left by a window that crashed is replaced.
    pub(crate) fn listen_for_second_start(&mut self, profile_dir: &Path, wake: &egui::Context) {
        // A new profile's directory is made here, as the profile would make it.
        let made = std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
            .recursive(true)
            .create(profile_dir);
        if let Err(e) = made {
            tracing::info!(error = %e, "a second start will not find this window");
            return;
        }
        let path = socket_path(profile_dir);
        let _ = std::fs::remove_file(&path);
        let listener = match UnixListener::bind(&path) {
            Ok(listener) => listener,
            Err(e) => {
                tracing::info!(error = %e, "a second start will not find this window");
                return;
            }
        };
        self.socket = Some(path);
        let tx = self.tx.clone();
        let wake = wake.clone();
        let spawned = std::thread::Builder::new()
            .name("hearth window.sock".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut line = [0u8; 5];
                    if stream.read_exact(&mut line).is_err() || &line != b"open\n" {
                        continue;
                    }
                    if tx.send(WindowRequest::Open).is_err() {
                        // This window is gone.
                        break;
                    }
                    wake.request_repaint();
                    let _ = stream.write_all(b"ok");
                }
            });
        if let Err(e) = spawned {
            tracing::info!(error = %e, "a second start will not find this window");
        }
    }

    /// Handles what the tray and second starts asked, the close button and
    /// Ctrl+Q, for this frame. `keep_running` is the user's choice to keep Hearth
    /// in the tray when the window closes.
    pub(crate) fn frame(&mut self, ctx: &egui::Context, keep_running: bool) -> Option<Notice> {
        while let Ok(request) = self.requests.try_recv() {
            match request {
                WindowRequest::Open => self.show(ctx),
                WindowRequest::Quit => self.quit(ctx),
                WindowRequest::TrayStarted(Ok(icon)) => {
                    self.tray = Some(icon);
                    // The service runs, but the host may have said it is not
                    // there before the start was reported.
                    self.state = if self.host_online {
                        TrayState::Shown
                    } else {
                        TrayState::Missing
                    };
                }
                WindowRequest::TrayStarted(Err(_)) => self.state = TrayState::Missing,
                WindowRequest::TrayGone => {
                    self.host_online = false;
                    if self.state != TrayState::Starting {
                        self.state = TrayState::Missing;
                    }
                    if self.hidden {
                        self.show(ctx);
                    }
                }
                WindowRequest::TrayBack => {
                    self.host_online = true;
                    if self.tray.is_some() {
                        self.state = TrayState::Shown;
                    }
                }
            }
        }
        if ctx.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::Q)) {
            self.quit(ctx);
        }
        let closing = ctx.input(|i| i.viewport().close_requested());
        if !closing || self.quitting || !keep_running || self.state != TrayState::Shown {
            // The window closes and Hearth quits with it.
            return None;
        }
        ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
        if on_wayland() {
            // Wayland lets no client hide its own window: it goes to the dock.
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(true));
        } else {
            ctx.send_viewport_cmd(egui::ViewportCommand::Visible(false));
        }
        self.hidden = true;
        (!std::mem::replace(&mut self.told_still_running, true)).then_some(Notice::StillRunning)
    }

    /// Shows the icon's texts, when they changed.
    pub(crate) fn set_texts(&mut self, runtime: &tokio::runtime::Handle, texts: TrayTexts) {
        let Some(tray) = &self.tray else { return };
        if self.texts.as_ref() == Some(&texts) {
            return;
        }
        self.texts = Some(texts.clone());
        tray.set_texts(runtime, texts);
    }

    /// Takes the icon off the tray and the socket away as Hearth quits.
    pub(crate) fn stop(&mut self) {
        if let Some(tray) = self.tray.take() {
            tray.stop();
        }
        if let Some(socket) = self.socket.take() {
            let _ = std::fs::remove_file(socket);
        }
    }

    fn show(&mut self, ctx: &egui::Context) {
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
        ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
        ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        self.hidden = false;
    }

    fn quit(&mut self, ctx: &egui::Context) {
        self.quitting = true;
        ctx.send_viewport_cmd(egui::ViewportCommand::Close);
    }
}

/// Whether the window is on Wayland (eframe prefers it when both are there).
fn on_wayland() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn closing(ctx: &egui::Context, background: &mut Background, keep: bool) -> egui::FullOutput {
        let mut input = egui::RawInput::default();
        input
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        ctx.run_ui(input, |ui| {
            background.frame(ui.ctx(), keep);
        })
    }

    fn commands(out: &egui::FullOutput) -> Vec<egui::ViewportCommand> {
        out.viewport_output
            .get(&egui::ViewportId::ROOT)
            .map(|v| v.commands.clone())
            .unwrap_or_default()
    }

    /// Whether closing the window now quits Hearth (no CancelClose).
    fn close_quits(ctx: &egui::Context, background: &mut Background, keep: bool) -> bool {
        !commands(&closing(ctx, background, keep)).contains(&egui::ViewportCommand::CancelClose)
    }

    /// What the window does in the frame after `request`.
    fn after(
        ctx: &egui::Context,
        background: &mut Background,
        request: WindowRequest,
    ) -> Vec<egui::ViewportCommand> {
        background.tx.send(request).unwrap();
        let out = ctx.run_ui(egui::RawInput::default(), |ui| {
            background.frame(ui.ctx(), true);
        });
        commands(&out)
    }

    #[test]
    fn without_a_tray_closing_the_window_quits() {
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.state = TrayState::Missing;
        assert!(close_quits(&ctx, &mut background, true));
        assert!(!background.hidden());
    }

    #[test]
    fn with_a_tray_closing_hides_and_the_tray_brings_it_back() {
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.state = TrayState::Shown;
        assert!(!close_quits(&ctx, &mut background, true));
        assert!(background.hidden());

        assert!(
            after(&ctx, &mut background, WindowRequest::Open)
                .contains(&egui::ViewportCommand::Visible(true))
        );
        assert!(!background.hidden());

        // Quit closes for real, even with the tray there.
        assert!(
            after(&ctx, &mut background, WindowRequest::Quit)
                .contains(&egui::ViewportCommand::Close)
        );
        assert!(close_quits(&ctx, &mut background, true));
    }

    #[test]
    fn a_window_hidden_when_the_tray_goes_comes_back() {
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.state = TrayState::Shown;
        closing(&ctx, &mut background, true);
        assert!(background.hidden());
        assert!(
            after(&ctx, &mut background, WindowRequest::TrayGone)
                .contains(&egui::ViewportCommand::Visible(true))
        );
        assert_eq!(background.tray_state(), TrayState::Missing);
        // Now closing quits.
        assert!(close_quits(&ctx, &mut background, true));
    }

    #[test]
    fn the_user_can_choose_to_quit_on_close() {
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.state = TrayState::Shown;
        assert!(close_quits(&ctx, &mut background, false));
    }

    #[test]
    fn a_second_start_shows_the_running_window() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!hand_over(dir.path()), "nothing runs on this profile yet");
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.listen_for_second_start(dir.path(), &ctx);
        assert!(hand_over(dir.path()), "the running window answers");
        match background.requests.recv_timeout(Duration::from_secs(5)) {
            Ok(WindowRequest::Open) => {}
            _ => panic!("the window was not asked to show itself"),
        }
        // Another profile is another window.
        let other = tempfile::tempdir().unwrap();
        assert!(!hand_over(other.path()));
    }

    #[test]
    fn a_socket_left_by_a_crashed_window_is_not_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        // A socket file nobody listens on any more.
        drop(UnixListener::bind(socket_path(dir.path())).unwrap());
        assert!(socket_path(dir.path()).exists());
        assert!(!hand_over(dir.path()));
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.listen_for_second_start(dir.path(), &ctx);
        assert!(hand_over(dir.path()));
        // Quitting takes the socket away with it.
        background.stop();
        assert!(!socket_path(dir.path()).exists());
    }

    /// The tray as a desktop shows it: Hearth's icon on a private session bus,
    /// with this test as the panel (a StatusNotifierWatcher and its host).
    ///
    /// The session bus is the process's environment, so the real test runs in a
    /// child process of this test binary, on a `dbus-daemon` started here.
    #[test]
    fn the_icon_lives_in_the_tray() {
        let Some(bus) = PrivateBus::start() else {
            return;
        };
        run_inner(
            "background::tests::inner_tray_on_a_private_bus",
            &bus.address,
        );
        // No session bus at all: no tray, and closing the window quits.
        run_inner(
            "background::tests::inner_no_session_bus",
            &format!("unix:path={}", bus.dir.path().join("nobody").display()),
        );
    }

    fn run_inner(test: &str, address: &str) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                test,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", address)
            .env("HEARTH_TEST_INNER", "1")
            .output()
            .unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{test} failed:\n{report}");
        assert!(report.contains("1 passed"), "{test} did not run:\n{report}");
    }

    /// A `dbus-daemon` of the test's own, on a socket in a temporary directory,
    /// that activates nothing (a real tray host installed here must not answer).
    struct PrivateBus {
        dir: tempfile::TempDir,
        daemon: std::process::Child,
        address: String,
    }

    impl PrivateBus {
        fn start() -> Option<PrivateBus> {
            use std::io::BufRead;
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("bus.conf");
            std::fs::write(
                &config,
                format!(
                    r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                    dir.path().join("bus").display()
                ),
            )
            .unwrap();
            let spawned = std::process::Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .args(["--nofork", "--print-address=1"])
                .stdout(std::process::Stdio::piped())
                .spawn();
            let mut daemon = match spawned {
                Ok(daemon) => daemon,
                Err(e) => {
                    assert!(
                        std::env::var_os("HEARTH_REQUIRE_DBUS").is_none(),
                        "dbus-daemon is needed here: {e}"
                    );
                    eprintln!("SKIPPED: no dbus-daemon ({e}); CI installs it");
                    return None;
                }
            };
            let mut address = String::new();
            std::io::BufReader::new(daemon.stdout.take().unwrap())
                .read_line(&mut address)
                .unwrap();
            let address = address.trim().to_string();
            assert!(address.starts_with("unix:"), "dbus-daemon said {address:?}");
            Some(PrivateBus {
                dir,
                daemon,
                address,
            })
        }
    }

    impl Drop for PrivateBus {
        fn drop(&mut self) {
            let _ = self.daemon.kill();
            let _ = self.daemon.wait();
        }
    }

    /// The panel's side of the tray: it records the icons registered with it.
    struct Watcher {
        items: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    }

    #[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
    impl Watcher {
        fn register_status_notifier_item(&self, service: String) {
            self.items.lock().unwrap().push(service);
        }

        fn register_status_notifier_host(&self, _service: String) {}

        #[zbus(property)]
        fn registered_status_notifier_items(&self) -> Vec<String> {
            self.items.lock().unwrap().clone()
        }

        #[zbus(property)]
        fn is_status_notifier_host_registered(&self) -> bool {
            true
        }

        #[zbus(property)]
        fn protocol_version(&self) -> i32 {
            0
        }
    }

    fn texts(waiting: &str) -> TrayTexts {
        TrayTexts {
            open: "Open Hearth".into(),
            quit: "Quit".into(),
            waiting: waiting.into(),
        }
    }

    /// Runs frames until `done` holds of one, as the window would while it waits.
    fn frames_until(
        ctx: &egui::Context,
        background: &mut Background,
        what: &str,
        mut done: impl FnMut(&Background, &[egui::ViewportCommand]) -> bool,
    ) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let out = ctx.run_ui(egui::RawInput::default(), |ui| {
                background.frame(ui.ctx(), true);
            });
            if done(background, &commands(&out)) {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    async fn item_proxy<'a>(
        conn: &'a zbus::Connection,
        service: &'a str,
        path: &'a str,
        interface: &'a str,
    ) -> zbus::Proxy<'a> {
        zbus::proxy::Builder::new(conn)
            .destination(service)
            .unwrap()
            .path(path)
            .unwrap()
            .interface(interface)
            .unwrap()
            .cache_properties(zbus::proxy::CacheProperties::No)
            .build()
            .await
            .unwrap()
    }

    type Pixmaps = Vec<(i32, i32, Vec<u8>)>;
    type MenuItems = Vec<(
        i32,
        std::collections::HashMap<String, zbus::zvariant::OwnedValue>,
    )>;

    fn inner_runtime() -> tokio::runtime::Runtime {
        assert!(std::env::var_os("HEARTH_TEST_INNER").is_some());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// Hearth starts its icon where no tray answers: closing the window quits.
    fn starts_without_a_tray(runtime: &tokio::runtime::Runtime) -> (egui::Context, Background) {
        let ctx = egui::Context::default();
        let mut background = Background::new();
        background.start_tray(runtime.handle(), texts(""), &ctx);
        frames_until(&ctx, &mut background, "no tray", |b, _| {
            b.tray_state() == TrayState::Missing
        });
        assert!(close_quits(&ctx, &mut background, true));
        (ctx, background)
    }

    #[test]
    #[ignore = "run by the_icon_lives_in_the_tray, on its own session bus"]
    fn inner_tray_on_a_private_bus() {
        let runtime = inner_runtime();
        // Hearth starts before the panel (at login): no tray yet.
        let (ctx, mut background) = starts_without_a_tray(&runtime);

        // The panel comes: the icon registers with it.
        let items = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let watcher = Watcher {
            items: items.clone(),
        };
        let panel = runtime.block_on(async {
            zbus::connection::Builder::session()
                .unwrap()
                .name("org.kde.StatusNotifierWatcher")
                .unwrap()
                .serve_at("/StatusNotifierWatcher", watcher)
                .unwrap()
                .build()
                .await
                .unwrap()
        });
        frames_until(&ctx, &mut background, "the icon in the tray", |b, _| {
            b.tray_state() == TrayState::Shown && !items.lock().unwrap().is_empty()
        });
        let service = items.lock().unwrap()[0].clone();

        // What the panel draws: Hearth's name and its picture.
        let (title, pixmaps, tooltip) = runtime.block_on(async {
            let item = item_proxy(
                &panel,
                &service,
                "/StatusNotifierItem",
                "org.kde.StatusNotifierItem",
            )
            .await;
            let title: String = item.get_property("Title").await.unwrap();
            let pixmaps: Pixmaps = item.get_property("IconPixmap").await.unwrap();
            let tooltip: (String, Pixmaps, String, String) =
                item.get_property("ToolTip").await.unwrap();
            (title, pixmaps, tooltip)
        });
        assert_eq!(title, "Hearth");
        assert!(!pixmaps.is_empty(), "the icon has a picture");
        for (w, h, data) in &pixmaps {
            assert_eq!(data.len(), (w * h * 4) as usize);
            assert!(data.chunks(4).any(|p| p[0] > 0), "the picture is not blank");
        }
        assert_eq!(tooltip.2, "Hearth");

        // Closing the window hides it; a click on the icon brings it back.
        assert!(!close_quits(&ctx, &mut background, true));
        assert!(background.hidden());
        runtime.block_on(async {
            let item = item_proxy(
                &panel,
                &service,
                "/StatusNotifierItem",
                "org.kde.StatusNotifierItem",
            )
            .await;
            let () = item.call("Activate", &(0i32, 0i32)).await.unwrap();
        });
        frames_until(&ctx, &mut background, "the window back", |b, c| {
            !b.hidden() && c.contains(&egui::ViewportCommand::Visible(true))
        });

        // Messages that came while away show in the icon's tooltip.
        background.set_texts(runtime.handle(), texts("2 new messages"));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let tooltip: (String, Pixmaps, String, String) = runtime.block_on(async {
                item_proxy(
                    &panel,
                    &service,
                    "/StatusNotifierItem",
                    "org.kde.StatusNotifierItem",
                )
                .await
                .get_property("ToolTip")
                .await
                .unwrap()
            });
            if tooltip.3 == "2 new messages" {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "tooltip {tooltip:?}");
            std::thread::sleep(Duration::from_millis(20));
        }

        // The icon's menu: "Open Hearth" and "Quit".
        let menu: MenuItems = runtime.block_on(async {
            let menu = item_proxy(&panel, &service, "/MenuBar", "com.canonical.dbusmenu").await;
            let (items,): (MenuItems,) = menu
                .call(
                    "GetGroupProperties",
                    &(Vec::<i32>::new(), Vec::<String>::new()),
                )
                .await
                .unwrap();
            items
        });
        let label = |props: &std::collections::HashMap<String, zbus::zvariant::OwnedValue>| {
            props
                .get("label")
                .and_then(|v| String::try_from(v.clone()).ok())
        };
        let labels: Vec<String> = menu.iter().filter_map(|(_, p)| label(p)).collect();
        assert!(labels.contains(&"Open Hearth".to_string()), "{labels:?}");
        let quit = menu
            .iter()
            .find(|(_, p)| label(p).as_deref() == Some("Quit"))
            .map(|(id, _)| *id)
            .expect("a Quit entry");

        // The panel goes away while the window is hidden: the window comes back,
        // as nothing else could bring it.
        closing(&ctx, &mut background, true);
        assert!(background.hidden());
        runtime.block_on(async {
            panel
                .release_name("org.kde.StatusNotifierWatcher")
                .await
                .unwrap();
        });
        frames_until(
            &ctx,
            &mut background,
            "the window back without a tray",
            |b, c| {
                b.tray_state() == TrayState::Missing
                    && !b.hidden()
                    && c.contains(&egui::ViewportCommand::Visible(true))
            },
        );
        // And when it is back, so is the icon.
        runtime.block_on(async {
            panel
                .request_name("org.kde.StatusNotifierWatcher")
                .await
                .unwrap();
        });
        frames_until(&ctx, &mut background, "the icon back", |b, _| {
            b.tray_state() == TrayState::Shown
        });

        // "Quit" in the menu quits.
        runtime.block_on(async {
            let menu = item_proxy(&panel, &service, "/MenuBar", "com.canonical.dbusmenu").await;
            let () = menu
                .call(
                    "Event",
                    &(quit, "clicked", zbus::zvariant::Value::I32(0), 0u32),
                )
                .await
                .unwrap();
        });
        frames_until(&ctx, &mut background, "Hearth quitting", |_, c| {
            c.contains(&egui::ViewportCommand::Close)
        });
        background.stop();
    }

    #[test]
    #[ignore = "run by the_icon_lives_in_the_tray, without a session bus"]
    fn inner_no_session_bus() {
        starts_without_a_tray(&inner_runtime());
    }
}
