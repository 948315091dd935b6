//! Hearth's icon in the desktop's tray: a StatusNotifierItem on the session D-Bus
//! (KDE Plasma, GNOME with the AppIndicator extension, XFCE, most Wayland panels).
//!
//! It lets the window close while the engine goes on receiving: clicking the icon,
//! or "Open Hearth" in its menu, brings the window back; "Quit" really quits. The
//! icon says how many messages came while the window was away. The tray runs on the
//! engine's runtime and only sends [`WindowRequest`]s to the UI thread (waking it), so no
//! D-Bus call ever waits on a frame.
//!
//! Where no tray host runs (no StatusNotifierWatcher on the session bus, or no
//! session bus at all), the app says that closing the window quits Hearth; a host
//! that starts later (a panel that comes up after Hearth at login) gets the icon.

use std::sync::mpsc;

use ksni::TrayMethods;

use crate::background::WindowRequest;

/// The texts the tray shows, in the window's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrayTexts {
    pub(crate) open: String,
    pub(crate) quit: String,
    /// The tooltip's line under "Hearth": how many messages are waiting, or empty.
    pub(crate) waiting: String,
}

/// The running icon.
pub(crate) struct TrayIcon {
    handle: ksni::Handle<HearthTray>,
}

impl TrayIcon {
    /// Shows new texts (another language, a new count of waiting messages).
    pub(crate) fn set_texts(&self, runtime: &tokio::runtime::Handle, texts: TrayTexts) {
        let handle = self.handle.clone();
        runtime.spawn(async move {
            handle.update(move |tray| tray.texts = texts).await;
        });
    }

    /// Takes the icon off the tray.
    pub(crate) fn stop(&self) {
        // The awaiter only tells when it is done; the icon goes either way.
        drop(self.handle.shutdown());
    }
}

/// Puts Hearth's icon in the tray, or says why it cannot.
pub(crate) async fn start(
    texts: TrayTexts,
    tx: mpsc::Sender<WindowRequest>,
    wake: egui::Context,
) -> Result<TrayIcon, ksni::Error> {
    let tray = HearthTray {
        texts,
        icon: icon(),
        tx,
        wake,
    };
    // A tray host that is not there yet (Hearth started at login before the panel)
    // is not an error: the icon appears when it comes, and until then closing the
    // window quits.
    let handle = tray.assume_sni_available(true).spawn().await?;
    Ok(TrayIcon { handle })
}

struct HearthTray {
    texts: TrayTexts,
    icon: Vec<ksni::Icon>,
    tx: mpsc::Sender<WindowRequest>,
    wake: egui::Context,
}

impl HearthTray {
    fn send(&self, event: WindowRequest) {
        // The window is gone only when Hearth quits, and the tray with it.
        let _ = self.tx.send(event);
        self.wake.request_repaint();
    }
}

impl ksni::Tray for HearthTray {
    fn id(&self) -> String {
        "hearth".into()
    }

    fn title(&self) -> String {
        "Hearth".into()
    }

    fn icon_name(&self) -> String {
        // The icon `hearth install-desktop` puts in the theme; the pixmap otherwise.
        "hearth".into()
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        self.icon.clone()
    }

    fn tool_tip(&self) -> ksni::ToolTip {
        ksni::ToolTip {
            title: "Hearth".into(),
            description: self.texts.waiting.clone(),
            ..Default::default()
        }
    }

    fn activate(&mut self, _x: i32, _y: i32) {
        self.send(WindowRequest::Open);
    }

    fn menu(&self) -> Vec<ksni::MenuItem<Self>> {
        use ksni::menu::StandardItem;
        vec![
            StandardItem {
                label: self.texts.open.clone(),
                activate: Box::new(|tray: &mut HearthTray| tray.send(WindowRequest::Open)),
                ..Default::default()
            }
            .into(),
            ksni::MenuItem::Separator,
            StandardItem {
                label: self.texts.quit.clone(),
                icon_name: "application-exit".into(),
                activate: Box::new(|tray: &mut HearthTray| tray.send(WindowRequest::Quit)),
                ..Default::default()
            }
            .into(),
        ]
    }

    fn watcher_online(&self) {
        self.send(WindowRequest::TrayBack);
    }

    fn watcher_offline(&self, _reason: ksni::OfflineReason) -> bool {
        self.send(WindowRequest::TrayGone);
        // Keep the service: the icon comes back if a tray host starts again.
        true
    }
}

/// Hearth's icon at the sizes trays draw, as ARGB32 in network byte order.
fn icon() -> Vec<ksni::Icon> {
    let Ok(image) = image::load_from_memory(include_bytes!("../../../assets/icon.png")) else {
        return Vec::new();
    };
    [32u32, 64]
        .into_iter()
        .map(|side| {
            let rgba = image
                .resize_exact(side, side, image::imageops::FilterType::Triangle)
                .to_rgba8();
            let data = rgba
                .pixels()
                .flat_map(|p| [p[3], p[0], p[1], p[2]])
                .collect();
            ksni::Icon {
                width: side as i32,
                height: side as i32,
                data,
            }
        })
        .collect()
}
