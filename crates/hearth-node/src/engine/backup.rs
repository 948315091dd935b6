//! The backup room: a profile's history in one encrypted file the user keeps
//! (`hearth_store`'s backup format, `docs/backup.md`), and restoring it into a new
//! profile ([`restore`]).
//!
//! A backup copies, as they stand when it starts: this device's keys and settings,
//! both logs, the acknowledgements, and every whole file that is neither view-once
//! nor expiring. It is written on a blocking thread from a read-only view of the
//! store, so the engine goes on meanwhile; progress comes as
//! [`NodeEvent::BackupProgress`]. Left out: what only makes sense on this machine
//! (listen ports, a rendezvous record, files being sealed, what was left at the
//! mailbox), so a restored device finds its partner and leaves letters anew.
//!
//! A restored profile is this device again, on another machine. Its own log may be
//! behind what the partner holds of it (messages written after the backup): until
//! the partner's device has said how far it holds this log, and it is no further
//! than the backup, nothing is written here, so no message ever reuses a number the
//! partner already has ([`Refusal::RestoredWaiting`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use hearth_core::OpId;
use hearth_store::{BackupError, BackupReader, BackupSummary, BackupWriter, KdfParams, Store};

use super::{Engine, Internal, now_ms};
use crate::Reply;
use crate::types::*;

/// Set in a restored profile until the partner's device confirmed it holds no more
/// of this device's log than the backup did.
pub(super) const SETTING_RESTORED: &str = "restored";

/// Settings a backup leaves out: about this machine, or recomputed.
const NOT_BACKED_UP: [&str; 7] = [
    "listen-ports",
    "rendezvous-newest",
    "files-staging",
    "unpair-notice",
    "mailbox-deposited",
    "mailbox-told",
    "mailbox-files",
];

/// What the backup room can be asked.
pub(crate) enum BackupCommand {
    /// Write a backup to this path under this passphrase.
    Backup {
        path: PathBuf,
        passphrase: String,
        reply: Reply<BackupInfo>,
    },
}

/// What the backup task reports.
pub(crate) enum BackupInternal {
    Progress { done: u64, total: u64 },
}

impl From<BackupInternal> for Internal {
    fn from(message: BackupInternal) -> Internal {
        Internal::Backup(message)
    }
}

fn failure(e: BackupError) -> NodeError {
    NodeError::Backup(match e {
        BackupError::NotABackup => BackupFailure::NotABackup,
        BackupError::NewerFormat(v) => BackupFailure::NewerFormat(v),
        BackupError::WrongPassphrase => BackupFailure::WrongPassphrase,
        BackupError::Damaged(why) => BackupFailure::Damaged(why.to_string()),
        BackupError::Io(e) => BackupFailure::Io(e.to_string()),
        BackupError::Kdf(why) => BackupFailure::Damaged(why),
    })
}

fn info(summary: BackupSummary, path: &Path) -> BackupInfo {
    BackupInfo {
        path: path.display().to_string(),
        messages_and_changes: summary.ops,
        files: summary.files,
        bytes: summary.bytes,
    }
}

impl Engine {
    pub(super) async fn on_backup_command(&mut self, command: BackupCommand) {
        match command {
            BackupCommand::Backup {
                path,
                passphrase,
                reply,
            } => self.backup(path, passphrase, reply),
        }
    }

    pub(super) async fn on_backup_internal(&mut self, message: BackupInternal) {
        match message {
            BackupInternal::Progress { done, total } => {
                self.emit(NodeEvent::BackupProgress { done, total }).await;
            }
        }
    }

    fn backup(&mut self, path: PathBuf, passphrase: String, reply: Reply<BackupInfo>) {
        if passphrase.trim().is_empty() {
            let _ = reply.send(Err(Refusal::BackupNeedsPassphrase.into()));
            return;
        }
        // Said before any work: a backup never replaces a file.
        if path.exists() {
            let _ = reply.send(Err(NodeError::File(format!(
                "{} exists already; choose another name",
                path.display()
            ))));
            return;
        }
        let files = self.files_to_back_up();
        let source = match self.store.backup_source(&NOT_BACKED_UP) {
            Ok(source) => source,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        };
        let total = source.file_bytes(&files);
        let internal = self.internal_tx.clone();
        self.spawn(async move {
            let result = tokio::task::spawn_blocking(move || {
                write_backup(&path, &passphrase, source, &files, |done| {
                    let _ = internal.blocking_send(BackupInternal::Progress { done, total }.into());
                })
                .map(|summary| info(summary, &path))
            })
            .await
            .unwrap_or_else(|e| Err(NodeError::File(e.to_string())));
            let _ = reply.send(result);
        });
    }

    /// Whole files that are neither view-once nor expiring.
    fn files_to_back_up(&self) -> Vec<OpId> {
        let Ok(list) = self.files.blobs.list() else {
            return Vec::new();
        };
        list.into_iter()
            .filter(|status| status.complete)
            .map(|status| status.id)
            .filter(|id| {
                self.store.message(*id).ok().flatten().is_some_and(|m| {
                    !m.file_is_gone(now_ms()) && m.attachment().is_some_and(|a| !a.is_ephemeral())
                })
            })
            .collect()
    }

    /// Whether this profile was restored and has not yet heard from the partner's
    /// device that it holds no more of this log than the backup.
    pub(super) fn restored_waiting(&self) -> bool {
        matches!(self.store.setting::<bool>(SETTING_RESTORED), Ok(Some(true)))
    }

    /// The partner's device says (in its sync Hello, or in a letter at the
    /// mailbox) how far it holds this device's log.
    pub(super) fn partner_holds_of_mine(&mut self, theirs: u64) {
        if self.restored_waiting() {
            self.restore_seen = Some(self.restore_seen.map_or(theirs, |s| s.max(theirs)));
        }
    }

    /// Each tick: a restored profile may write again once the partner's device
    /// holds no more of this log than the backup, and nothing waits for it at the
    /// mailbox (letters there may be the old computer's, written after the backup).
    pub(super) fn maintain_restore(&mut self) {
        let Some(theirs) = self.restore_seen else {
            return;
        };
        if !self.restored_waiting() {
            self.restore_seen = None;
            return;
        }
        let mine = self.store.held(self.me);
        if theirs > mine {
            tracing::warn!(
                theirs,
                mine,
                "the partner's device holds messages of this device written after the backup: writing stays paused"
            );
            self.restore_seen = None;
            return;
        }
        let mailbox = &self.mailbox.status;
        let mailbox_clear = mailbox.peer_id.is_none()
            || (mailbox.last_contact_ms.is_some() && mailbox.waiting_for_partner == 0);
        if !mailbox_clear {
            return;
        }
        tracing::info!(
            "the partner's device holds no more of this log than the backup: writing again"
        );
        match self
            .store
            .remove_setting(SETTING_RESTORED)
            .and_then(|()| self.store.flush())
        {
            Ok(()) => self.restore_seen = None,
            Err(e) => tracing::warn!(error = %e, "could not record that the restore is complete"),
        }
    }
}

/// Writes the backup through a temporary file (mode 0600), renamed into place once
/// whole and on disk.
fn write_backup(
    path: &Path,
    passphrase: &str,
    source: hearth_store::BackupSource,
    files: &[OpId],
    progress: impl FnMut(u64),
) -> Result<BackupSummary, NodeError> {
    let tmp = path.with_extension("hearth-backup-part");
    let mut options = std::fs::OpenOptions::new();
    // Our own temporary file: one a crash left behind is written over.
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&tmp)
        .map_err(|e| NodeError::File(format!("{}: {e}", tmp.display())))?;
    let result = (|| {
        let out = std::io::BufWriter::with_capacity(1 << 20, file);
        let mut writer =
            BackupWriter::new(out, passphrase, KdfParams::default(), now_ms()).map_err(failure)?;
        let summary = source
            .write(&mut writer, files, progress)
            .map_err(failure)?;
        let bytes = writer.written;
        let out = writer.finish().map_err(failure)?;
        let file = out
            .into_inner()
            .map_err(|e| NodeError::File(e.to_string()))?;
        file.sync_all()
            .map_err(|e| NodeError::File(e.to_string()))?;
        if path.exists() {
            return Err(NodeError::File(format!(
                "{} exists already",
                path.display()
            )));
        }
        std::fs::rename(&tmp, path).map_err(|e| NodeError::File(e.to_string()))?;
        Ok(BackupSummary { bytes, ..summary })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Restores a backup into a new profile at `profile_dir` (which must hold no
/// profile), protected by `profile_passphrase` (or a key file without one). Checks
/// every record as it goes; anything wrong restores nothing: the profile is built
/// beside and moved into place only when whole.
pub fn restore(
    backup: &Path,
    passphrase: &str,
    profile_dir: &Path,
    profile_passphrase: Option<&str>,
    mut progress: impl FnMut(u64, u64),
) -> Result<BackupInfo, NodeError> {
    if Store::exists(profile_dir) {
        return Err(Refusal::ProfileExists.into());
    }
    if profile_dir.exists() && std::fs::read_dir(profile_dir).is_ok_and(|mut d| d.next().is_some())
    {
        return Err(Refusal::ProfileExists.into());
    }
    let total = std::fs::metadata(backup)
        .map_err(|e| NodeError::File(format!("{}: {e}", backup.display())))?
        .len();
    let input = std::fs::File::open(backup)
        .map_err(|e| NodeError::File(format!("{}: {e}", backup.display())))?;
    let mut reader = BackupReader::open(
        std::io::BufReader::with_capacity(1 << 20, input),
        passphrase,
    )
    .map_err(failure)?;
    let mut tag = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut tag);
    let name = profile_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "profile".into());
    let building = profile_dir.with_file_name(format!(
        ".{name}.restoring-{}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let result = (|| {
        let mut store = Store::create(&building, profile_passphrase)?;
        let summary = store
            .restore_from(&mut reader, |read| progress(read, total))
            .map_err(failure)?;
        store.set_setting(SETTING_RESTORED, &true)?;
        store.flush()?;
        drop(store);
        if profile_dir.exists() {
            std::fs::remove_dir(profile_dir)
                .map_err(|e| NodeError::File(format!("{}: {e}", profile_dir.display())))?;
        }
        std::fs::rename(&building, profile_dir)
            .map_err(|e| NodeError::File(format!("{}: {e}", profile_dir.display())))?;
        Ok(info(summary, backup))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&building);
    }
    let _ = std::io::stdout().flush();
    result
}
