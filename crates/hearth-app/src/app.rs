//! The app's state: which screen, the view-model of the chat, and the bridge to the
//! engine.
//!
//! Views draw from this state and return [`Action`]s; [`HearthApp::apply`] carries
//! them out at the end of the frame. It is the one place the UI asks the engine for
//! anything, so every command and its failure message can be found here.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth_node::{
    Author, Delivery, InviteInfo, MailboxStatus, MessageId, MessageView, NetworkOptions, Node,
    NodeConfig, NodeError, NodeEvent, NodeHandle, PairedInfo, Profile, ProfileState, Status,
};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::background::{Background, Notice, TrayState};
use crate::files::{Thumb, clipboard_png};
use crate::i18n::{Lang, Tr};
use crate::prefs::{Pref, Prefs, ThemeChoice};
use crate::tray::TrayTexts;
use crate::views::Action;
use crate::views::pairing::PairScreen;
use crate::views::picker::{Picker, PickerError, PickerMode};
use crate::views::settings::SettingsForm;
use crate::views::welcome::SetupForm;

/// How the app starts: which profile, and the engine's network options.
#[derive(Clone, Debug)]
pub struct AppOptions {
    /// The profile directory.
    pub profile_dir: PathBuf,
    /// Where the engine listens and how it finds the partner.
    pub network: NetworkOptions,
    /// Whether to show desktop notifications at all (tests turn them off).
    pub notifications: bool,
    /// Addresses to connect to once the engine runs (e.g. a partner's device on a
    /// network where mDNS does not reach).
    pub dial: Vec<String>,
    /// When the process started, for the "first frame" log line.
    pub launched: Instant,
    /// Whether this is the user's desktop app: an icon in the tray keeps Hearth
    /// running when the window closes, and a second start on the same profile shows
    /// this window (tests turn it off).
    pub desktop: bool,
}

/// Messages loaded per page of history.
pub(crate) const PAGE: usize = 60;
/// The height a row is assumed to have until it is drawn.
pub(crate) const ROW_ESTIMATE: f32 = 64.0;

/// What background work reports back to the UI thread.
pub(crate) enum UiResult {
    Started(Result<(NodeHandle, mpsc::Receiver<NodeEvent>), NodeError>),
    Status(Status),
    Invite(Result<InviteInfo, NodeError>),
    NearbyCode(Result<String, NodeError>),
    NearbyDevices(Vec<String>),
    Paired(Result<PairedInfo, NodeError>),
    Sent(MessageView),
    History {
        older: bool,
        result: Result<Vec<MessageView>, NodeError>,
    },
    /// The stored choices found, each with its value.
    Prefs(Vec<(Pref, String)>),
    /// A command that answers nothing but success.
    Done,
    /// An attachment's bytes, for the viewer.
    /// An attachment opened for the viewer: the picture decoded off the UI thread
    /// (`None`: not a picture Hearth can show) and its real size.
    Opened {
        id: MessageId,
        result: Result<Option<(egui::ColorImage, [u32; 2])>, NodeError>,
    },
    /// A thumbnail decoded off the UI thread (`None`: not a plausible one).
    Thumb {
        id: MessageId,
        image: Option<egui::ColorImage>,
    },
    Memories(Vec<MessageView>),
    /// The mailbox after joining or leaving it.
    Mailbox(MailboxStatus),
    /// A backup was written.
    BackedUp(hearth_node::BackupInfo),
    /// The couple's days, after asking or changing them.
    Days(hearth_node::DaysView),
    /// The mood strip, after asking.
    Moods(hearth_node::MoodsView),
    /// The boundaries, after asking, proposing or accepting.
    Boundaries(hearth_node::BoundariesView),
    /// A proposal went out.
    Proposed(hearth_node::BoundariesView),
    /// The check-ins, after asking or changing them.
    CheckIns(hearth_node::CheckInsView),
    /// A mood was shared.
    MoodShared(MessageView),
    Saved(PathBuf),
    /// A command failed; the toast says which and why.
    Failed {
        attempt: Attempt,
        error: NodeError,
    },
}

impl UiResult {
    /// `ok` of the value on success, else the failure of `attempt`.
    pub(crate) fn or_failed<T>(
        attempt: Attempt,
        result: Result<T, NodeError>,
        ok: impl FnOnce(T) -> UiResult,
    ) -> UiResult {
        match result {
            Ok(value) => ok(value),
            Err(error) => UiResult::Failed { attempt, error },
        }
    }
}

/// What the app asked of the engine, so that a failure can say what did not happen
/// before it says why.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Attempt {
    Connect,
    Send,
    Edit,
    React,
    Delete,
    MarkRead,
    SaveSetting,
    Status,
    SaveProfile,
    Network,
    Passphrase,
    Memories,
    SaveFile,
    Pause,
    Unpair,
    Mailbox,
    Backup,
    Days,
    Mood,
    Boundaries,
    CheckIns,
}

impl Attempt {
    /// The message that leads in to why, with a `$detail` variable.
    fn lead(self) -> &'static str {
        match self {
            Attempt::Connect => "error-connect",
            Attempt::Send => "error-send",
            Attempt::Edit => "error-edit",
            Attempt::React => "error-react",
            Attempt::Delete => "error-delete",
            Attempt::MarkRead => "error-mark-read",
            Attempt::SaveSetting => "error-save-setting",
            Attempt::Status => "error-status",
            Attempt::SaveProfile => "error-save-profile",
            Attempt::Network => "error-network",
            Attempt::Passphrase => "error-passphrase",
            Attempt::Memories => "error-memories",
            Attempt::SaveFile => "error-save-file",
            Attempt::Pause => "error-pause",
            Attempt::Unpair => "error-unpair",
            Attempt::Mailbox => "error-mailbox",
            Attempt::Backup => "error-backup",
            Attempt::Days => "error-days",
            Attempt::Mood => "error-mood",
            Attempt::Boundaries => "error-boundaries",
            Attempt::CheckIns => "error-checkins",
        }
    }
}

/// The screen shown.
pub(crate) enum Screen {
    Loading,
    Welcome,
    Setup(SetupForm),
    Unlock {
        passphrase: String,
        error: Option<String>,
    },
    Pair(PairScreen),
    Memories,
    SafetyWords(PairedInfo),
    Chat,
    Settings(Box<SettingsForm>),
}

/// The Hearth window.
pub struct HearthApp {
    options: AppOptions,
    runtime: tokio::runtime::Runtime,
    tasks: JoinSet<()>,
    results_tx: mpsc::Sender<UiResult>,
    results_rx: mpsc::Receiver<UiResult>,
    node: Option<NodeHandle>,
    events: Option<mpsc::Receiver<NodeEvent>>,
    pub(crate) ctx: egui::Context,
    pub(crate) tr: Tr,
    pub(crate) screen: Screen,
    pub(crate) status: Option<Status>,
    /// Whether Hearth starts when this user logs in (an XDG autostart entry).
    pub(crate) start_at_login: bool,
    /// Loaded messages in timeline order.
    pub(crate) messages: Vec<MessageView>,
    /// The drawn height of each loaded message's row (estimated until first drawn),
    /// so the timeline lays out only the rows in view.
    pub(crate) row_heights: Vec<f32>,
    /// The width the heights were measured at; a new width measures again.
    pub(crate) row_width: f32,
    /// Rows just put in front of the timeline by paging, whose height the scroll
    /// offset must move by so the view stays where it was.
    pub(crate) prepended: usize,
    pub(crate) has_older: bool,
    pub(crate) loading_older: bool,
    pub(crate) composer: String,
    pub(crate) replying_to: Option<MessageId>,
    pub(crate) editing: Option<MessageId>,
    pub(crate) partner_typing_until: Option<Instant>,
    last_typing_sent: Option<Instant>,
    /// The first message that arrived while the window was not focused.
    pub(crate) unread_from: Option<MessageId>,
    last_read_marked: Option<MessageId>,
    /// The user's stored choices.
    pub(crate) prefs: Prefs,
    /// Whether `prefs` were asked of the store yet.
    prefs_loaded: bool,
    pub(crate) scroll_to_bottom: bool,
    pending_notifications: usize,
    /// The desktop notification showing the partner's unread messages, replaced
    /// by the next one rather than stacked under it.
    last_notification: Option<u32>,
    pub(crate) toast: Option<(String, Instant)>,
    /// Files on their way, by message id: bytes done, size, when last heard of.
    pub(crate) transfers: HashMap<MessageId, (u64, u64, Instant)>,
    /// An earlier sample of each transfer, to tell its speed.
    pub(crate) transfer_rates: HashMap<MessageId, (u64, Instant)>,
    pub(crate) picker: Option<Picker>,
    pub(crate) viewer: Option<crate::views::viewer::Viewer>,
    /// Decoded thumbnails by message id (`None`: not decodable).
    pub(crate) thumbs: std::cell::RefCell<HashMap<MessageId, Thumb>>,
    /// Loaded Memories, oldest first.
    pub(crate) memories: Vec<MessageView>,
    /// The couple's days, as the engine last told them.
    pub(crate) days: Option<hearth_node::DaysView>,
    /// The mood strip, as the engine last told it.
    pub(crate) moods: Option<hearth_node::MoodsView>,
    /// The "how I feel today" window, when open.
    pub(crate) mood_form: Option<crate::views::moods::MoodForm>,
    /// The boundaries, as the engine last told them.
    pub(crate) boundaries: Option<hearth_node::BoundariesView>,
    /// The "our boundaries" window, when open.
    pub(crate) boundary_form: Option<crate::views::boundaries::BoundaryForm>,
    /// The next message rings through the partner's quiet hours.
    pub(crate) urgent: bool,
    /// The check-ins, as the engine last told them.
    pub(crate) checkins: Option<hearth_node::CheckInsView>,
    /// The time typed in "send later" (`HH:MM`, my clock).
    pub(crate) later_time: String,
    /// A picture pasted from the clipboard, waiting for "send".
    pub(crate) pasted: Option<Vec<u8>>,
    /// Startup milestones logged so far: first frame, first frame with history.
    milestones: u8,
    /// With `HEARTH_FRAME_STATS` set: CPU time of recent frames, logged every 300.
    frame_times: Option<Vec<f32>>,
    /// The tray icon, the hidden window and quitting.
    pub(crate) background: Background,
}

impl HearthApp {
    /// Creates the app and starts opening the profile.
    pub fn new(ctx: &egui::Context, options: AppOptions) -> HearthApp {
        crate::theme::install(ctx);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hearth_engine")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the engine's runtime: {e}"));
        let (results_tx, results_rx) = mpsc::channel(256);
        let lang = system_lang();
        let mut app = HearthApp {
            options,
            runtime,
            tasks: JoinSet::new(),
            results_tx,
            results_rx,
            node: None,
            events: None,
            ctx: ctx.clone(),
            tr: Tr::new(lang),
            screen: Screen::Loading,
            status: None,
            messages: Vec::new(),
            row_heights: Vec::new(),
            row_width: 0.0,
            prepended: 0,
            has_older: false,
            loading_older: false,
            composer: String::new(),
            replying_to: None,
            editing: None,
            partner_typing_until: None,
            last_typing_sent: None,
            unread_from: None,
            last_read_marked: None,
            prefs: Prefs::default(),
            prefs_loaded: false,
            scroll_to_bottom: true,
            pending_notifications: 0,
            last_notification: None,
            days: None,
            moods: None,
            mood_form: None,
            boundaries: None,
            boundary_form: None,
            urgent: false,
            checkins: None,
            later_time: String::new(),
            toast: None,
            transfers: HashMap::new(),
            start_at_login: crate::desktop::starts_at_login(),
            transfer_rates: HashMap::new(),
            picker: None,
            viewer: None,
            thumbs: Default::default(),
            memories: Vec::new(),
            pasted: None,
            milestones: 0,
            frame_times: std::env::var_os("HEARTH_FRAME_STATS").map(|_| Vec::new()),
            background: Background::new(),
        };
        if app.options.desktop {
            let texts = app.tray_texts();
            app.background
                .start_tray(app.runtime.handle(), texts, &app.ctx);
            app.background
                .listen_for_second_start(&app.options.profile_dir, &app.ctx);
        }
        match hearth_node::profile_state(&app.options.profile_dir) {
            Ok(ProfileState::New) => app.screen = Screen::Welcome,
            Ok(ProfileState::KeyFile) => app.start_engine(None),
            Ok(ProfileState::Passphrase) => {
                app.screen = Screen::Unlock {
                    passphrase: String::new(),
                    error: None,
                }
            }
            Err(e) => {
                let message = app.tr.failure("error-start", &e);
                app.toast(message);
            }
        }
        app
    }

    /// Runs `work` on the engine's runtime and sends its result to the UI.
    fn spawn<F>(&mut self, work: F)
    where
        F: std::future::Future<Output = UiResult> + Send + 'static,
    {
        let tx = self.results_tx.clone();
        let ctx = self.ctx.clone();
        self.tasks.spawn_on(
            async move {
                let result = work.await;
                let _ = tx.send(result).await;
                ctx.request_repaint();
            },
            self.runtime.handle(),
        );
    }

    /// Runs CPU work (decoding a picture) on a blocking thread, never the UI's;
    /// its result comes back through [`UiResult`] like any task's. Takes `&self`
    /// so drawing code can start it.
    pub(crate) fn in_background<F>(&self, work: F)
    where
        F: FnOnce() -> UiResult + Send + 'static,
    {
        let tx = self.results_tx.clone();
        let ctx = self.ctx.clone();
        self.runtime.spawn_blocking(move || {
            let _ = tx.blocking_send(work());
            ctx.request_repaint();
        });
    }

    /// Runs a command on the engine, if it is running. Only the app side (this
    /// module and `files`) calls it: views return [`Action`]s instead.
    pub(crate) fn with_node<F, Fut>(&mut self, work: F)
    where
        F: FnOnce(NodeHandle) -> Fut,
        Fut: std::future::Future<Output = UiResult> + Send + 'static,
    {
        if let Some(node) = self.node.clone() {
            self.spawn(work(node));
        }
    }

    /// The engine's configuration for this window: its profile, network options,
    /// and a wake-up for each event.
    fn node_config(&self, passphrase: Option<String>) -> NodeConfig {
        let mut config = NodeConfig::new(&self.options.profile_dir);
        config.passphrase = passphrase;
        config.network = self.options.network.clone();
        let ctx = self.ctx.clone();
        config.on_event = Some(Arc::new(move || ctx.request_repaint()));
        config
    }

    fn start_engine(&mut self, passphrase: Option<String>) {
        let config = self.node_config(passphrase);
        if !matches!(self.screen, Screen::Unlock { .. }) {
            self.screen = Screen::Loading;
        }
        self.spawn(async move { UiResult::Started(Node::start(config).await) });
    }

    fn refresh_status(&mut self) {
        self.with_node(|node| async move {
            UiResult::or_failed(Attempt::Status, node.status().await, UiResult::Status)
        });
    }

    fn toast(&mut self, message: String) {
        self.toast = Some((message, Instant::now()));
    }

    fn set_lang(&mut self, lang: Lang) {
        if self.tr.lang() != lang {
            self.tr = Tr::new(lang);
        }
    }

    pub(crate) fn partner_name(&self) -> String {
        let status = self.status.as_ref();
        status
            .and_then(|s| s.partner.as_ref())
            .map(|p| p.name.clone())
            .or_else(|| {
                status
                    .and_then(|s| s.ended.as_ref())
                    .map(|e| e.partner_name.clone())
            })
            .unwrap_or_default()
    }

    pub(crate) fn online(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.online)
    }

    /// Shows the theme the user chose.
    fn show_theme(&self) {
        self.ctx.set_theme(match self.prefs.theme {
            ThemeChoice::Light => egui::ThemePreference::Light,
            ThemeChoice::Dark => egui::ThemePreference::Dark,
            ThemeChoice::System => egui::ThemePreference::System,
        });
    }

    /// Stores one choice as it is in `prefs` now.
    fn save_pref(&mut self, pref: Pref) {
        let value = self.prefs.value(pref);
        self.with_node(move |node| async move {
            let result = node.set_app_setting(pref.key(), value).await;
            UiResult::or_failed(Attempt::SaveSetting, result, |()| UiResult::Done)
        });
    }

    /// Reads every stored choice, once.
    fn load_prefs(&mut self) {
        if std::mem::replace(&mut self.prefs_loaded, true) {
            return;
        }
        self.with_node(move |node| async move {
            let mut found = Vec::new();
            for pref in Pref::ALL {
                if let Ok(Some(value)) = node.app_setting(pref.key()).await {
                    found.push((pref, value));
                }
            }
            UiResult::Prefs(found)
        });
    }

    /// Loads the newest page, or the page before the oldest loaded message.
    fn load_history(&mut self, older: bool) {
        let before = if older {
            self.messages.first().map(|m| m.id)
        } else {
            None
        };
        if older {
            self.loading_older = true;
        }
        self.with_node(move |node| async move {
            UiResult::History {
                older,
                result: node.history(PAGE, before).await,
            }
        });
    }

    fn send_composer(&mut self) {
        let text = self.composer.trim().to_string();
        if text.is_empty() {
            return;
        }
        self.composer.clear();
        self.scroll_to_bottom = true;
        if let Some(id) = self.editing.take() {
            self.with_node(move |node| async move {
                UiResult::or_failed(Attempt::Edit, node.edit(id, text).await, |()| {
                    UiResult::Done
                })
            });
        } else {
            let reply_to = self.replying_to.take();
            let urgent = std::mem::take(&mut self.urgent);
            self.with_node(move |node| async move {
                let sent = if urgent {
                    node.send_urgent(text, reply_to).await
                } else {
                    node.send(text, reply_to).await
                };
                UiResult::or_failed(Attempt::Send, sent, UiResult::Sent)
            });
        }
    }

    /// Sends the composer's text to show on the partner's device at `at`.
    fn send_composer_later(&mut self, at: hearth_node::SendAt) {
        let text = self.composer.trim().to_string();
        if text.is_empty() || self.editing.is_some() {
            return;
        }
        self.composer.clear();
        self.scroll_to_bottom = true;
        let reply_to = self.replying_to.take();
        self.with_node(move |node| async move {
            UiResult::or_failed(
                Attempt::Send,
                node.send_later(text, reply_to, at).await,
                UiResult::Sent,
            )
        });
    }

    fn typing(&mut self) {
        let due = self
            .last_typing_sent
            .is_none_or(|t| t.elapsed() > Duration::from_secs(3));
        if due {
            self.last_typing_sent = Some(Instant::now());
            self.with_node(|node| async move {
                let _ = node.typing().await;
                UiResult::Done
            });
        }
    }

    /// Carries out what a view asked for. The one place views' wishes reach the
    /// engine.
    fn apply(&mut self, action: Action) {
        match action {
            Action::SetLang(lang) => self.set_lang(lang),
            Action::BeginSetup => {
                self.screen = Screen::Setup(SetupForm {
                    time_zone: system_time_zone(),
                    ..SetupForm::default()
                });
            }
            Action::CreateProfile => self.create_profile(),
            Action::Unlock(passphrase) => self.start_engine(Some(passphrase)),
            Action::RequestInvite => {
                self.with_node(|node| async move { UiResult::Invite(node.invite().await) });
            }
            Action::RequestNearbyCode => {
                self.with_node(|node| async move { UiResult::NearbyCode(node.nearby_code().await) })
            }
            Action::RefreshNearby => self.with_node(|node| async move {
                UiResult::NearbyDevices(node.nearby_devices().await.unwrap_or_default())
            }),
            Action::Pair(code) => {
                self.with_node(|node| async move { UiResult::Paired(node.pair(code).await) });
            }
            Action::EnterChat => self.enter_chat(),
            Action::Uncouple { delete_history } => {
                if let Screen::Settings(_) = self.screen {
                    self.screen = Screen::Chat;
                }
                self.with_node(move |node| async move {
                    UiResult::or_failed(
                        Attempt::Unpair,
                        node.uncouple(delete_history).await,
                        |_| UiResult::Done,
                    )
                });
            }
            Action::PairAnew => {
                self.messages.clear();
                self.memories.clear();
                self.screen = Screen::Pair(PairScreen::new());
            }
            Action::RejectPairing => self.with_node(|node| async move {
                UiResult::or_failed(Attempt::Unpair, node.reject_pairing().await, |()| {
                    UiResult::Done
                })
            }),
            Action::OpenSettings => {
                let profile = self
                    .status
                    .as_ref()
                    .and_then(|s| s.profile.clone())
                    .unwrap_or_default();
                let mut form = SettingsForm::new(profile);
                form.fill_days(self.days.as_ref());
                self.screen = Screen::Settings(Box::new(form));
            }
            Action::OpenMemories => {
                self.screen = Screen::Memories;
                self.with_node(|node| async move {
                    UiResult::or_failed(
                        Attempt::Memories,
                        node.memories(500, None).await,
                        UiResult::Memories,
                    )
                });
            }
            Action::BackToChat => {
                self.screen = Screen::Chat;
                self.scroll_to_bottom = true;
            }
            Action::Send => self.send_composer(),
            Action::Typing => self.typing(),
            Action::CancelCompose => {
                self.replying_to = None;
                if self.editing.take().is_some() {
                    self.composer.clear();
                }
            }
            Action::Attach => {
                let mut picker = Picker::new(PickerMode::Send, String::new());
                // As the two agreed: view-once unless the sender unticks it.
                picker.view_once = crate::views::boundaries::view_once_agreed(self);
                self.picker = Some(picker);
            }
            Action::LoadOlder => self.load_history(true),
            Action::React { id, emoji } => self.with_node(move |node| async move {
                UiResult::or_failed(Attempt::React, node.react(id, emoji).await, |()| {
                    UiResult::Done
                })
            }),
            Action::Reply(id) => self.replying_to = Some(id),
            Action::Edit { id, text } => {
                self.editing = Some(id);
                self.composer = text;
            }
            Action::Delete(id) => self.with_node(move |node| async move {
                UiResult::or_failed(Attempt::Delete, node.delete(id).await, |()| UiResult::Done)
            }),
            Action::File { id, action } => self.file_action(id, action),
            Action::SendFiles { sources, options } => self.send_files(sources, options),
            Action::SaveFile { id, path } => self.with_node(move |node| async move {
                let result = node.save_file(id, path.clone()).await;
                UiResult::or_failed(Attempt::SaveFile, result, |()| UiResult::Saved(path))
            }),
            Action::PastePicture => match clipboard_png() {
                Some(png) => {
                    self.pasted = Some(png);
                    self.picker = None;
                }
                None => {
                    if let Some(picker) = &mut self.picker {
                        picker.error = Some(PickerError::NoPicture);
                    }
                }
            },
            Action::SendPasted { view_once } => self.send_pasted(view_once),
            Action::DropPasted => self.pasted = None,
            Action::OpenViewer { ids, at } => self.open_viewer(ids, at),
            Action::CloseViewer => self.viewer = None,
            Action::SaveProfile { name, time_zone } => {
                let language = self.tr.lang().code().to_string();
                if let Screen::Settings(form) = &mut self.screen {
                    form.saved = true;
                }
                let profile = Profile {
                    name,
                    language,
                    time_zone,
                };
                self.with_node(move |node| async move {
                    UiResult::or_failed(
                        Attempt::SaveProfile,
                        node.init(profile).await,
                        UiResult::Status,
                    )
                });
            }
            Action::SetDay {
                kind,
                id,
                date,
                title,
            } => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.days_error = None;
                }
                self.with_node(move |node| async move {
                    let result = node.set_day(kind, id, date, title).await;
                    UiResult::or_failed(Attempt::Days, result, UiResult::Days)
                });
            }
            Action::OpenBoundaries => {
                self.boundary_form = Some(crate::views::boundaries::BoundaryForm::of(
                    self.boundaries.as_ref(),
                ));
                self.refresh_boundaries();
            }
            Action::ProposeBoundaries(change) => self.with_node(move |node| async move {
                let result = node.propose_boundaries(change).await;
                UiResult::or_failed(Attempt::Boundaries, result, UiResult::Proposed)
            }),
            Action::AcceptBoundaries(id) => self.with_node(move |node| async move {
                let result = node.accept_boundaries(id).await;
                UiResult::or_failed(Attempt::Boundaries, result, UiResult::Boundaries)
            }),
            Action::SetUrgent(urgent) => self.urgent = urgent,
            Action::SendLater(at) => self.send_composer_later(at),
            Action::CancelScheduled(id) => self.with_node(move |node| async move {
                UiResult::or_failed(Attempt::Send, node.cancel_scheduled(id).await, |()| {
                    UiResult::Done
                })
            }),
            Action::AddCheckIn {
                weekdays,
                time,
                time_zone,
            } => self.with_node(move |node| async move {
                let result = node.add_checkin(weekdays, time, time_zone).await;
                UiResult::or_failed(Attempt::CheckIns, result, UiResult::CheckIns)
            }),
            Action::RemoveCheckIn(id) => self.with_node(move |node| async move {
                let result = node.remove_checkin(id).await;
                UiResult::or_failed(Attempt::CheckIns, result, UiResult::CheckIns)
            }),
            Action::OpenMoods => {
                self.mood_form = Some(crate::views::moods::MoodForm::default());
                self.refresh_moods();
            }
            Action::ShareMood { mood, note } => {
                self.with_node(move |node| async move {
                    let result = node.share_mood(mood, note).await;
                    UiResult::or_failed(Attempt::Mood, result, UiResult::MoodShared)
                });
            }
            Action::RemoveDay(id) => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.days_error = None;
                }
                self.with_node(move |node| async move {
                    let result = node.remove_day(id).await;
                    UiResult::or_failed(Attempt::Days, result, UiResult::Days)
                });
            }
            Action::SetNetwork { internet, relays } => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.network_error = None;
                }
                self.with_node(move |node| async move {
                    let result = node.set_network(internet, relays).await;
                    UiResult::or_failed(Attempt::Network, result, UiResult::Status)
                });
            }
            Action::JoinMailbox(code) => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.mailbox_error = None;
                }
                self.with_node(move |node| async move {
                    let result = node.mailbox_join(code).await;
                    UiResult::or_failed(Attempt::Mailbox, result, UiResult::Mailbox)
                });
            }
            Action::LeaveMailbox => self.with_node(|node| async move {
                UiResult::or_failed(
                    Attempt::Mailbox,
                    node.mailbox_leave().await,
                    UiResult::Mailbox,
                )
            }),
            Action::ChangePassphrase(passphrase) => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.passphrase_saved = true;
                }
                self.with_node(move |node| async move {
                    let result = node.change_passphrase(passphrase).await;
                    UiResult::or_failed(Attempt::Passphrase, result, UiResult::Status)
                });
            }
            Action::Backup { path, passphrase } => self.with_node(move |node| async move {
                UiResult::or_failed(
                    Attempt::Backup,
                    node.backup(path, passphrase).await,
                    UiResult::BackedUp,
                )
            }),
            Action::SetStartAtLogin(on) => {
                self.start_at_login = on;
                self.spawn(async move {
                    let set =
                        tokio::task::spawn_blocking(move || crate::desktop::set_start_at_login(on))
                            .await;
                    match set {
                        Ok(Ok(())) => UiResult::Done,
                        Ok(Err(e)) => UiResult::Failed {
                            attempt: Attempt::SaveSetting,
                            error: NodeError::File(e.to_string()),
                        },
                        Err(e) => UiResult::Failed {
                            attempt: Attempt::SaveSetting,
                            error: NodeError::File(e.to_string()),
                        },
                    }
                });
            }
            Action::SetTheme(choice) => {
                self.prefs.theme = choice;
                self.show_theme();
                self.save_pref(Pref::Theme);
            }
            Action::SetNotifications(on) => {
                self.prefs.notifications = on;
                self.save_pref(Pref::Notifications);
            }
            Action::SetHideText(on) => {
                self.prefs.hide_text = on;
                self.save_pref(Pref::HideText);
            }
            Action::SetKeepRunning(on) => {
                self.prefs.keep_running = on;
                self.save_pref(Pref::KeepRunning);
            }
        }
    }

    /// Applies finished work and engine events. Called at the start of each frame.
    fn drain(&mut self) {
        while let Some(finished) = self.tasks.try_join_next() {
            if let Err(e) = finished
                && e.is_panic()
            {
                tracing::error!("a background task panicked");
            }
        }
        while let Ok(result) = self.results_rx.try_recv() {
            self.apply_result(result);
        }
        let mut events = Vec::new();
        if let Some(rx) = &mut self.events {
            while let Ok(event) = rx.try_recv() {
                events.push(event);
            }
        }
        for event in events {
            self.apply_event(event);
        }
    }

    fn apply_result(&mut self, result: UiResult) {
        match result {
            UiResult::Started(Ok((node, events))) => {
                self.node = Some(node);
                self.events = Some(events);
                self.refresh_status();
                self.refresh_days();
                self.refresh_moods();
                self.refresh_boundaries();
                for addr in self.options.dial.clone() {
                    self.with_node(move |node| async move {
                        UiResult::or_failed(Attempt::Connect, node.dial(addr).await, |()| {
                            UiResult::Done
                        })
                    });
                }
            }
            UiResult::Started(Err(e)) => {
                // A wrong passphrase or a profile open elsewhere is said in full;
                // anything else follows a lead-in.
                let message = match e.code() {
                    "wrong_passphrase" | "profile_locked" => self.tr.node_error(&e),
                    _ => self.tr.failure("error-start", &e),
                };
                match &mut self.screen {
                    Screen::Unlock { error, passphrase } => {
                        passphrase.clear();
                        *error = Some(message);
                    }
                    _ => {
                        self.screen = Screen::Welcome;
                        self.toast(message);
                    }
                }
            }
            UiResult::Status(status) => self.apply_status(status),
            UiResult::Days(days) => {
                // After a change the form shows what is set now, the new date's
                // fields empty again.
                if let Screen::Settings(form) = &mut self.screen {
                    form.fill_days(Some(&days));
                }
                self.days = Some(days);
            }
            UiResult::Moods(moods) => self.moods = Some(moods),
            UiResult::Boundaries(view) => self.boundaries = Some(view),
            UiResult::CheckIns(view) => self.checkins = Some(view),
            UiResult::Proposed(view) => {
                if let Some(form) = &mut self.boundary_form {
                    form.proposed = true;
                }
                self.boundaries = Some(view);
            }
            UiResult::MoodShared(message) => {
                // Shared: the window closes, the mood is in the timeline.
                self.mood_form = None;
                self.scroll_to_bottom = true;
                self.upsert(message);
            }
            UiResult::BackedUp(info) => {
                if let Screen::Settings(form) = &mut self.screen {
                    form.backup_state = Some(self.tr.t2(
                        "backup-done",
                        ("files", info.files.into()),
                        ("size", self.tr.size(info.bytes).into()),
                    ));
                }
            }
            UiResult::Mailbox(mailbox) => {
                if let Screen::Settings(form) = &mut self.screen
                    && mailbox.peer_id.is_some()
                {
                    form.mailbox_code.clear();
                }
                if let Some(status) = &mut self.status {
                    status.mailbox = mailbox;
                }
            }
            UiResult::Failed { attempt, error } => {
                let message = self.tr.failure(attempt.lead(), &error);
                match (&mut self.screen, attempt) {
                    // Said beside the relay field, which a toast would cover.
                    (Screen::Settings(form), Attempt::Network) => {
                        form.network_error = Some(message);
                    }
                    (Screen::Settings(form), Attempt::Mailbox) => {
                        form.mailbox_error = Some(message);
                    }
                    (Screen::Settings(form), Attempt::Backup) => {
                        form.backup_state = Some(message);
                    }
                    (Screen::Settings(form), Attempt::Days) => {
                        form.days_error = Some(message);
                    }
                    (_, Attempt::CheckIns) if self.boundary_form.is_some() => {
                        if let Some(form) = &mut self.boundary_form {
                            form.checkin_error = Some(message);
                        }
                    }
                    (_, Attempt::Boundaries) if self.boundary_form.is_some() => {
                        if let Some(form) = &mut self.boundary_form {
                            form.error = Some(message);
                        }
                    }
                    (_, Attempt::Mood) if self.mood_form.is_some() => {
                        if let Some(form) = &mut self.mood_form {
                            form.error = Some(message);
                        }
                    }
                    _ => self.toast(message),
                }
            }
            UiResult::Invite(result) => {
                let error = result
                    .as_ref()
                    .err()
                    .map(|e| self.tr.failure("error-invite", e));
                if let Screen::Pair(pair) = &mut self.screen {
                    match result {
                        Ok(invite) => pair.invite = Some(invite),
                        Err(_) => pair.error = error,
                    }
                }
            }
            UiResult::NearbyCode(result) => {
                let error = result
                    .as_ref()
                    .err()
                    .map(|e| self.tr.failure("error-nearby-code", e));
                if let Screen::Pair(pair) = &mut self.screen {
                    match result {
                        Ok(code) => pair.nearby_code = Some(code),
                        Err(_) => pair.error = error,
                    }
                }
            }
            UiResult::NearbyDevices(names) => {
                if let Screen::Pair(pair) = &mut self.screen {
                    pair.nearby = names;
                }
            }
            UiResult::Paired(Ok(info)) => self.paired(info),
            UiResult::Paired(Err(e)) => {
                let message = self.tr.t1("pair-failed", "reason", self.tr.node_error(&e));
                if let Screen::Pair(pair) = &mut self.screen {
                    pair.busy = false;
                    pair.error = Some(message);
                }
            }
            UiResult::Sent(message) => self.upsert(message),
            UiResult::History { older, result } => {
                self.loading_older = false;
                match result {
                    Ok(page) => {
                        self.has_older = page.len() == PAGE;
                        let mut heights = vec![ROW_ESTIMATE; page.len()];
                        if older {
                            self.prepended = page.len();
                            let mut page = page;
                            page.append(&mut self.messages);
                            self.messages = page;
                            heights.append(&mut self.row_heights);
                        } else {
                            self.messages = page;
                            self.scroll_to_bottom = true;
                        }
                        self.row_heights = heights;
                    }
                    Err(e) => {
                        let message = self.tr.failure("error-history", &e);
                        self.toast(message);
                    }
                }
            }
            UiResult::Done => {}
            UiResult::Opened { id, result } => self.show_opened(id, result),
            UiResult::Thumb { id, image } => self.thumb_decoded(id, image),
            UiResult::Memories(list) => self.memories = list,
            UiResult::Saved(path) => {
                let message = self.tr.t1("file-saved", "path", path.display().to_string());
                self.toast(message);
            }
            UiResult::Prefs(found) => {
                for (pref, value) in found {
                    self.prefs.set(pref, &value);
                }
                self.show_theme();
                if self.composer.is_empty() {
                    self.composer = self.prefs.draft.clone();
                }
            }
        }
    }

    fn apply_status(&mut self, status: Status) {
        if let Some(profile) = &status.profile {
            self.set_lang(Lang::from_code(&profile.language));
        }
        let first = self.status.is_none();
        let (has_profile, paired) = (status.profile.is_some(), status.paired);
        // An ended pairing whose history stays: the chat, to read.
        let kept = !paired && status.ended.as_ref().is_some_and(|e| !e.delete_history);
        // A relay typed in Settings is cleared once it is in use, not before: a
        // mistyped one stays there to be corrected.
        if let Screen::Settings(form) = &mut self.screen
            && status.relays.iter().any(|r| r == form.relay.trim())
        {
            form.relay.clear();
        }
        self.status = Some(status);
        match &self.screen {
            Screen::Loading | Screen::Unlock { .. } | Screen::Setup(_) if !has_profile => {
                self.screen = Screen::Setup(SetupForm {
                    time_zone: system_time_zone(),
                    store_exists: true,
                    ..SetupForm::default()
                });
            }
            Screen::Loading | Screen::Unlock { .. } | Screen::Setup(_) if !paired && !kept => {
                self.screen = Screen::Pair(PairScreen::new());
            }
            Screen::Loading | Screen::Unlock { .. } if paired || kept => self.enter_chat(),
            _ => {}
        }
        if first && paired {
            self.load_prefs();
        }
    }

    fn enter_chat(&mut self) {
        self.screen = Screen::Chat;
        self.load_history(false);
        self.load_prefs();
    }

    /// The pairing ended (the safety words differed, here or on the partner's
    /// device): everything shared is gone; start over.
    fn unpaired(&mut self, by_partner: bool) {
        self.messages.clear();
        self.memories.clear();
        self.thumbs.borrow_mut().clear();
        self.viewer = None;
        let mut pair = PairScreen::new();
        // Ended by choice (and the history deleted), or because the words differed.
        let ended = self.status.as_ref().and_then(|s| s.ended.clone());
        pair.error = Some(match ended {
            Some(ended) if by_partner => self.tr.t1(
                "uncoupled-deleted-by-partner",
                "name",
                ended.partner_name.as_str(),
            ),
            Some(_) => self.tr.t("uncoupled-deleted"),
            None if by_partner => self.tr.t("pair-rejected-by-partner"),
            None => self.tr.t("pair-rejected"),
        });
        self.screen = Screen::Pair(pair);
        self.refresh_status();
    }

    fn paired(&mut self, info: PairedInfo) {
        self.screen = Screen::SafetyWords(info);
        self.refresh_status();
        self.refresh_days();
        self.refresh_moods();
        self.refresh_boundaries();
    }

    fn refresh_boundaries(&mut self) {
        self.with_node(|node| async move {
            let result = node.boundaries().await;
            UiResult::or_failed(Attempt::Boundaries, result, UiResult::Boundaries)
        });
        self.with_node(|node| async move {
            let result = node.checkins().await;
            UiResult::or_failed(Attempt::CheckIns, result, UiResult::CheckIns)
        });
    }

    fn refresh_moods(&mut self) {
        self.with_node(|node| async move {
            let result = node.moods(crate::views::moods::STRIP_DAYS).await;
            UiResult::or_failed(Attempt::Mood, result, UiResult::Moods)
        });
    }

    fn refresh_days(&mut self) {
        self.with_node(|node| async move {
            UiResult::or_failed(Attempt::Days, node.days().await, UiResult::Days)
        });
    }

    /// A reminder of one of the couple's days: a notification, and a word in the
    /// window.
    fn remind(&mut self, day: &hearth_node::DayView) {
        let text = crate::views::day_reminder(&self.tr, day, &self.partner_name());
        if self.options.notifications && self.prefs.notifications {
            self.desktop_notification("Hearth", &text);
        }
        self.toast(text);
    }

    fn create_profile(&mut self) {
        let Screen::Setup(form) = &mut self.screen else {
            return;
        };
        let name = form.name.trim().to_string();
        if name.is_empty() {
            form.error = Some(self.tr.t("error-name-required"));
            return;
        }
        if jiff::tz::TimeZone::get(form.time_zone.trim()).is_err() {
            form.error = Some(self.tr.t("error-time-zone"));
            return;
        }
        if !form.store_exists && form.passphrase != form.repeat {
            form.error = Some(self.tr.t("error-passphrase-mismatch"));
            return;
        }
        let profile = Profile {
            name,
            language: self.tr.lang().code().to_string(),
            time_zone: form.time_zone.trim().to_string(),
        };
        let passphrase = (!form.passphrase.is_empty()).then(|| form.passphrase.clone());
        let store_exists = form.store_exists;
        form.error = None;
        if store_exists {
            self.with_node(move |node| async move {
                UiResult::or_failed(
                    Attempt::SaveProfile,
                    node.init(profile).await,
                    UiResult::Status,
                )
            });
            return;
        }
        let config = self.node_config(passphrase);
        self.spawn(async move {
            match Node::start(config).await {
                Ok((node, events)) => match node.init(profile).await {
                    Ok(_) => UiResult::Started(Ok((node, events))),
                    Err(e) => UiResult::Started(Err(e)),
                },
                Err(e) => UiResult::Started(Err(e)),
            }
        });
    }

    /// Puts a message in the loaded timeline, replacing an older copy of it.
    fn upsert(&mut self, message: MessageView) {
        if let Some(existing) = self.messages.iter_mut().find(|m| m.id == message.id) {
            *existing = message;
            return;
        }
        let at = self.messages.partition_point(|m| m.pos < message.pos);
        self.messages.insert(at, message);
        self.row_heights.insert(at, ROW_ESTIMATE);
    }

    fn apply_event(&mut self, event: NodeEvent) {
        match event {
            NodeEvent::Message(message) => {
                let theirs = message.author == Author::Partner;
                if theirs {
                    self.partner_typing_until = None;
                    if !self.in_view() && self.unread_from.is_none() {
                        self.unread_from = Some(message.id);
                    }
                }
                self.scroll_to_bottom = true;
                self.upsert(message);
            }
            NodeEvent::MessageChanged(message) => {
                if let Some(existing) = self.memories.iter_mut().find(|m| m.id == message.id) {
                    *existing = message.clone();
                }
                match self.messages.iter().position(|m| m.id == message.id) {
                    // A message sent for later moved to where it showed.
                    Some(at) if self.messages[at].pos != message.pos => {
                        self.messages.remove(at);
                        self.row_heights.remove(at);
                        self.upsert(message);
                    }
                    Some(at) => self.messages[at] = message,
                    None => {}
                }
            }
            NodeEvent::Delivery { id, state } => {
                if let Some(message) = self.messages.iter_mut().find(|m| m.id == id) {
                    message.delivery = Some(state);
                }
            }
            NodeEvent::Presence { online } => {
                if let Some(status) = &mut self.status {
                    status.online = online;
                }
            }
            NodeEvent::Connection(connection) => {
                if let Some(status) = &mut self.status {
                    status.connection = connection;
                }
            }
            NodeEvent::Typing => {
                self.partner_typing_until = Some(Instant::now() + Duration::from_secs(5));
                self.ctx.request_repaint_after(Duration::from_secs(5));
            }
            NodeEvent::Paired(info) => self.paired(info),
            NodeEvent::Unpaired { by_partner } => self.unpaired(by_partner),
            NodeEvent::PairingFailed(failure) => {
                let reason = self.tr.pairing_failure(&failure);
                let message = self.tr.t1("pair-failed", "reason", reason);
                if let Screen::Pair(pair) = &mut self.screen {
                    pair.error = Some(message);
                }
            }
            NodeEvent::PartnerProfile(profile) => {
                if let Some(status) = &mut self.status {
                    status.partner = Some(profile);
                }
            }
            NodeEvent::Listening(_) => self.refresh_status(),
            NodeEvent::BackupProgress { done, total } => {
                if let Screen::Settings(form) = &mut self.screen
                    && total > 0
                {
                    let percent = (done * 100 / total).min(100);
                    form.backup_state = Some(self.tr.t1("backup-progress", "percent", percent));
                }
            }
            NodeEvent::Ended(ended) => {
                if let Some(status) = &mut self.status {
                    status.ended = Some(ended);
                }
                self.refresh_status();
            }
            NodeEvent::Mailbox(mailbox) => {
                if let Some(status) = &mut self.status {
                    status.mailbox = mailbox;
                }
            }
            NodeEvent::Transfer {
                id, done, total, ..
            } => {
                self.transfers.insert(id, (done, total, Instant::now()));
                crate::files::note_progress(self, &id);
            }
            NodeEvent::TransferDone { id, .. } => {
                self.transfers.remove(&id);
            }
            NodeEvent::TransferFailed { id, reason } => {
                let name = self
                    .find_message(&id)
                    .and_then(|m| m.attachment.as_ref())
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| self.tr.t("file-unnamed"));
                let message = self.tr.t2(
                    "file-fetch-failed",
                    ("name", name.into()),
                    ("detail", self.tr.transfer_failure(&reason).into()),
                );
                self.toast(message);
            }
            NodeEvent::Days(days) => self.days = Some(days),
            NodeEvent::Moods(moods) => self.moods = Some(moods),
            NodeEvent::Boundaries(view) => self.boundaries = Some(view),
            NodeEvent::CheckIns(view) => self.checkins = Some(view),
            NodeEvent::CheckInReminder { checkin, missed } => {
                let text = crate::views::boundaries::checkin_reminder(
                    &self.tr,
                    &checkin,
                    missed,
                    &self.partner_name(),
                );
                if self.options.notifications && self.prefs.notifications {
                    self.desktop_notification("Hearth", &text);
                }
                self.toast(text);
                self.refresh_boundaries();
            }
            // The composer says it already, while the partner's quiet hours last.
            NodeEvent::PartnerQuiet { .. } => {}
            // Its message event, or change, says so.
            NodeEvent::Revealed { .. } => {}
            NodeEvent::ManyWaiting { count } => {
                let text = self.tr.t2(
                    "bounds-many-waiting",
                    ("name", self.partner_name().into()),
                    ("count", count.into()),
                );
                self.toast(text);
            }
            NodeEvent::Notification(notice) => self.on_notice(notice),
            NodeEvent::Reminder(day) => self.remind(&day),
            NodeEvent::Error(detail) => {
                let message = self.tr.t1("error-engine", "detail", detail);
                self.toast(message);
            }
        }
    }

    /// The engine decided on a notification: shown unless the window is in view,
    /// nothing while held for quiet hours, the summary once they end.
    fn on_notice(&mut self, notice: hearth_node::Notice) {
        match notice {
            hearth_node::Notice::Message {
                message,
                held: false,
                urgent,
                unread,
                ..
            } => {
                if !self.in_view() {
                    self.notify(&message, urgent, unread);
                }
            }
            hearth_node::Notice::Message { held: true, .. } => {}
            hearth_node::Notice::Summary { from, count } => {
                if self.options.notifications && self.prefs.notifications && !self.in_view() {
                    let body = self.tr.t1("notify-quiet-summary", "count", count);
                    self.desktop_notification(&from, &body);
                }
            }
        }
    }

    /// One notification for the partner's unread messages: several in a row
    /// replace it ("Arta: 6 new messages") instead of piling up.
    fn notify(&mut self, message: &MessageView, urgent: bool, unread: u32) {
        if !(self.options.notifications && self.prefs.notifications) {
            return;
        }
        self.pending_notifications += 1;
        let name = self.partner_name();
        let many = usize::try_from(unread)
            .unwrap_or(usize::MAX)
            .max(self.pending_notifications);
        let title = match (urgent, many) {
            (true, _) => self.tr.t1("notify-urgent", "name", name),
            (false, 1) => name,
            (false, n) => self
                .tr
                .t2("notify-many", ("name", name.into()), ("count", n.into())),
        };
        let body = if self.prefs.hide_text {
            self.tr.t1("notify-hidden", "count", many)
        } else if let Some(mood) = &message.mood {
            crate::views::moods::mood_notification(&self.tr, mood)
        } else if let Some(attachment) = &message.attachment {
            self.tr.t1("notify-file", "name", attachment.name.as_str())
        } else {
            message.text.clone().unwrap_or_default()
        };
        // Urgent stands on its own; the others replace the last one shown.
        let replace = if urgent { None } else { self.last_notification };
        let shown = self.show_notification(&title, &body, replace);
        if !urgent {
            self.last_notification = shown.or(self.last_notification);
        }
    }

    /// Shows a desktop notification, replacing `replace` if given; its id.
    fn show_notification(&self, title: &str, body: &str, replace: Option<u32>) -> Option<u32> {
        if !self.options.notifications {
            return None;
        }
        let mut notification = notify_rust::Notification::new();
        notification.summary(title).body(body).appname("Hearth");
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Some(id) = replace {
            notification.id(id);
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = replace;
        match notification.show() {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => Some(handle.id()),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => None,
            Err(e) => {
                tracing::debug!(error = %e, "no notification service");
                None
            }
        }
    }

    fn desktop_notification(&self, title: &str, body: &str) {
        // A desktop without a notification service simply shows nothing.
        let _ = self.show_notification(title, body, None);
    }

    /// What the tray icon says, in the window's language.
    fn tray_texts(&self) -> TrayTexts {
        TrayTexts {
            open: self.tr.t("tray-open"),
            quit: self.tr.t("tray-quit"),
            waiting: match self.pending_notifications {
                0 => String::new(),
                n => self.tr.t1("notify-hidden", "count", n),
            },
        }
    }

    /// Whether the user can see the window: focused, and not hidden in the tray (a
    /// window manager may leave focus on a window it has just unmapped).
    fn in_view(&self) -> bool {
        self.ctx.input(|i| i.focused) && !self.background.hidden()
    }

    /// Marks the partner's newest loaded message read while the chat is in view.
    fn mark_read(&mut self) {
        if !matches!(self.screen, Screen::Chat) || !self.in_view() {
            return;
        }
        self.pending_notifications = 0;
        self.last_notification = None;
        let Some(latest) = self
            .messages
            .iter()
            .rev()
            .find(|m| m.author == Author::Partner)
        else {
            return;
        };
        if self.last_read_marked == Some(latest.id) {
            return;
        }
        let id = latest.id;
        self.last_read_marked = Some(id);
        self.with_node(move |node| async move {
            UiResult::or_failed(Attempt::MarkRead, node.read(id).await, |()| UiResult::Done)
        });
    }

    fn save_draft_if_changed(&mut self) {
        if matches!(self.screen, Screen::Chat)
            && self.composer != self.prefs.draft
            && self.node.is_some()
        {
            self.prefs.draft = self.composer.clone();
            self.save_pref(Pref::Draft);
        }
    }

    /// Logs how long startup took, and frame times when asked to.
    fn measure(&mut self, frame: &eframe::Frame) {
        let since_launch = self.options.launched.elapsed().as_secs_f64() * 1e3;
        if self.milestones == 0 {
            self.milestones = 1;
            tracing::info!(ms = since_launch, "first frame");
        }
        if self.milestones == 1 && matches!(self.screen, Screen::Chat) && !self.messages.is_empty()
        {
            self.milestones = 2;
            tracing::info!(
                ms = since_launch,
                messages = self.messages.len(),
                "first frame with history"
            );
        }
        if let (Some(times), Some(cpu)) = (&mut self.frame_times, frame.info().cpu_usage) {
            times.push(cpu * 1e3);
            if times.len() >= 300 {
                times.sort_by(f32::total_cmp);
                let at = |p: f32| times[((times.len() - 1) as f32 * p) as usize];
                tracing::info!(
                    p50_ms = at(0.5),
                    p99_ms = at(0.99),
                    max_ms = at(1.0),
                    "frame times over 300 frames"
                );
                times.clear();
            }
        }
    }

    /// The delivery state label of one of my messages.
    pub(crate) fn delivery_label(&self, delivery: Delivery) -> String {
        match delivery {
            Delivery::Queued => format!("🕓 {}", self.tr.t("chat-queued")),
            Delivery::AtMailbox => format!("✉ {}", self.tr.t("chat-at-mailbox")),
            Delivery::Delivered => format!("✔ {}", self.tr.t("chat-delivered")),
            Delivery::Read => format!("✔✔ {}", self.tr.t("chat-read")),
        }
    }
}

impl eframe::App for HearthApp {
    /// Runs every frame, also while the window is hidden in the tray: the engine's
    /// events (and their notifications) are taken here, not in `ui`.
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.drain();
        if let Some(Notice::StillRunning) = self.background.frame(ctx, self.prefs.keep_running) {
            let body = self.tr.t("tray-still-running");
            self.desktop_notification("Hearth", &body);
        }
        if self.background.tray_state() == TrayState::Shown {
            let texts = self.tray_texts();
            self.background.set_texts(self.runtime.handle(), texts);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.take_dropped_and_pasted(&ui.ctx().clone());
        for action in crate::views::show(self, ui) {
            self.apply(action);
        }
        self.mark_read();
        self.save_draft_if_changed();
        self.measure(frame);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.background.stop();
        if let Some(node) = self.node.take() {
            let draft = self.composer.clone();
            self.runtime.block_on(async move {
                let _ = node.set_app_setting(Pref::Draft.key(), draft).await;
                node.shutdown().await;
            });
        }
    }
}

/// English or Albanian, from the environment's locale.
fn system_lang() -> Lang {
    let locale = std::env::var("LC_ALL")
        .or_else(|_| std::env::var("LC_MESSAGES"))
        .or_else(|_| std::env::var("LANG"))
        .unwrap_or_default();
    if locale.starts_with("sq") {
        Lang::Sq
    } else {
        Lang::En
    }
}

/// The system's time zone name, or UTC.
pub(crate) fn system_time_zone() -> String {
    jiff::tz::TimeZone::system()
        .iana_name()
        .map(str::to_string)
        .unwrap_or_else(|| "UTC".to_string())
}
