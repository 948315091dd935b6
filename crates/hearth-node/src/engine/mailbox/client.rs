//! A device talking to the couple's mailbox on `/hearth/mailbox/1`: one stream per
//! exchange (joining, leaving letters, collecting them), each a request and its
//! answer. These tasks never touch the store's ops: the engine hands them sealed
//! letters and takes back what they collected.

use std::sync::Arc;
use std::time::Duration;

use hearth_core::wire::{self, Letter, MailboxFrame, MailboxRefusal};
use hearth_core::{DeviceId, OpId};
use hearth_crypto::Letters;
use hearth_net::{FramedStream, Net, Protocol};
use hearth_store::BlobStore;
use serde_bytes::ByteBuf;

use super::MailboxLink;
use crate::types::MailboxFailure;

/// How long reaching the mailbox may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the mailbox may take to answer anything but a waiting fetch.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Room in one deposit for letters, below the protocol's limit (each letter adds
/// its length to the encoding).
const DEPOSIT_BYTES: usize = wire::MAX_MAILBOX_FRAME_BYTES - 64 * 1024;
/// What a sealed chunk letter adds to its chunk, at most: the letter's header, the
/// padding (to a multiple of 64 KiB) and the seal.
const CHUNK_LETTER_EXTRA: usize = 64 * 1024 + 256;

/// What one fetch collected.
pub(crate) struct Fetched {
    /// (number, sealed letter), oldest first.
    pub(crate) letters: Vec<(u64, Vec<u8>)>,
    /// More wait beyond these.
    pub(crate) more: bool,
    /// Letters this device left that the partner's device has not collected.
    pub(crate) waiting: u64,
}

async fn connect(net: &Net, link: &MailboxLink) -> Result<FramedStream, String> {
    if !net.is_connected(link.device).await.unwrap_or(false)
        && let Err(e) = net.dial(Some(link.device), link.addrs.clone()).await
    {
        // Another exchange may be dialling it already: the stream below waits for
        // that connection, and says so if none comes.
        tracing::debug!(error = %e, "dialling the mailbox");
    }
    tokio::time::timeout(OPEN_TIMEOUT, net.open(link.device, Protocol::Mailbox))
        .await
        .map_err(|_| "it did not answer".to_string())?
        .map_err(|e| e.to_string())
}

async fn ask(
    stream: &mut FramedStream,
    frame: &MailboxFrame,
    wait: Duration,
) -> Result<MailboxFrame, String> {
    tokio::time::timeout(ANSWER_TIMEOUT, stream.send(&wire::encode(frame)))
        .await
        .map_err(|_| "it stopped answering".to_string())?
        .map_err(|e| e.to_string())?;
    let bytes = tokio::time::timeout(wait, stream.recv())
        .await
        .map_err(|_| "it stopped answering".to_string())?
        .map_err(|e| e.to_string())?;
    wire::decode_mailbox(&bytes).map_err(|e| format!("it answered with nonsense ({e})"))
}

fn refused(why: MailboxRefusal) -> String {
    match why {
        MailboxRefusal::BadInvite | MailboxRefusal::NotMember => {
            "it does not know this device any more".into()
        }
        MailboxRefusal::UnknownRecipient => "the partner's device has not joined it yet".into(),
        MailboxRefusal::Full => "it is full".into(),
        MailboxRefusal::Disk => "it could not write to its disk".into(),
    }
}

/// Shows the mailbox the proof of its invite.
pub(super) async fn join(
    net: &Net,
    link: &MailboxLink,
    proof: [u8; 32],
) -> Result<(), MailboxFailure> {
    // A connection that closes under the first try (one the device's other
    // exchanges with the mailbox opened a moment before, say) is tried again; a
    // refusal is the mailbox's answer and is not.
    let mut tries = 0;
    loop {
        tries += 1;
        match join_once(net, link, proof).await {
            Err(MailboxFailure::Unreachable(why)) if tries < JOIN_TRIES => {
                tracing::debug!(%why, "joining the mailbox; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            result => return result,
        }
    }
}

/// Tries at reaching the mailbox to join it.
const JOIN_TRIES: u32 = 3;

async fn join_once(net: &Net, link: &MailboxLink, proof: [u8; 32]) -> Result<(), MailboxFailure> {
    let mut stream = connect(net, link)
        .await
        .map_err(MailboxFailure::Unreachable)?;
    match ask(&mut stream, &MailboxFrame::Join { proof }, ANSWER_TIMEOUT).await {
        Ok(MailboxFrame::Joined) => Ok(()),
        Ok(MailboxFrame::Refused(_)) => Err(MailboxFailure::Refused),
        Ok(_) => Err(MailboxFailure::Unreachable(
            "it answered with nonsense".into(),
        )),
        Err(why) => Err(MailboxFailure::Unreachable(why)),
    }
}

/// Why letters were not left.
pub(crate) enum DepositError {
    /// The mailbox holds as much as it may for the partner's device.
    Full,
    /// This device could not read its own file to leave it.
    Unreadable(String),
    /// Anything else: reaching it, its disk.
    Failed(String),
}

impl From<String> for DepositError {
    fn from(why: String) -> DepositError {
        DepositError::Failed(why)
    }
}

/// Leaves `letters` for device `to`, in order, packed into as few deposits as fit.
pub(super) async fn deposit(
    net: &Net,
    link: &MailboxLink,
    to: DeviceId,
    letters: Vec<Vec<u8>>,
) -> Result<(), DepositError> {
    let mut stream = connect(net, link).await?;
    let mut packed: Vec<ByteBuf> = Vec::new();
    let mut bytes = 0;
    for letter in letters {
        if !packed.is_empty() && bytes + letter.len() > DEPOSIT_BYTES {
            put(&mut stream, to, std::mem::take(&mut packed)).await?;
            bytes = 0;
        }
        bytes += letter.len();
        packed.push(ByteBuf::from(letter));
    }
    if !packed.is_empty() {
        put(&mut stream, to, packed).await?;
    }
    Ok(())
}

/// Leaves the next part of file `id` for device `to`: its chunk hashes when
/// starting (`from == 0`), and a few chunks from `from` on, read and sealed on a
/// blocking thread. Returns the next chunk to leave, and the number of chunks.
pub(super) async fn deposit_file(
    net: &Net,
    link: &MailboxLink,
    to: DeviceId,
    id: OpId,
    from: u32,
    blobs: BlobStore,
    seal: Arc<Letters>,
) -> Result<(u32, u32), DepositError> {
    let mut stream = connect(net, link).await?;
    let sealed =
        tokio::task::spawn_blocking(move || -> Result<(Vec<ByteBuf>, u32, u32), String> {
            let hashes = blobs
                .manifest(id)
                .map_err(|e| e.to_string())?
                .ok_or("the file is no longer here")?;
            let count = hashes.len() as u32;
            let mut letters = Vec::new();
            if from == 0 {
                let manifest = wire::encode(&Letter::Manifest { id, hashes });
                letters.push(ByteBuf::from(seal.seal(&manifest)));
            }
            let reader = blobs.reader(id).map_err(|e| e.to_string())?;
            // As many chunks as fit one deposit, at least one.
            let mut bytes: usize = letters.iter().map(|l| l.len()).sum();
            let mut next = from;
            while next < count {
                let estimate = reader.chunk_len(next) as usize + CHUNK_LETTER_EXTRA;
                if next > from && bytes + estimate > DEPOSIT_BYTES {
                    break;
                }
                let data = reader.chunk(next).map_err(|e| e.to_string())?;
                let letter = seal.seal(&wire::encode(&Letter::Chunk {
                    id,
                    index: next,
                    data,
                }));
                bytes += letter.len();
                letters.push(ByteBuf::from(letter));
                next += 1;
            }
            Ok((letters, next, count))
        })
        .await
        .map_err(|e| e.to_string())?
        // Everything that fails in there is this device's own disk.
        .map_err(DepositError::Unreadable)?;
    let (letters, next, count) = sealed;
    put(&mut stream, to, letters).await?;
    Ok((next, count))
}

async fn put(
    stream: &mut FramedStream,
    to: DeviceId,
    letters: Vec<ByteBuf>,
) -> Result<(), DepositError> {
    match ask(
        stream,
        &MailboxFrame::Deposit { to, letters },
        ANSWER_TIMEOUT,
    )
    .await?
    {
        MailboxFrame::Stored => Ok(()),
        MailboxFrame::Refused(MailboxRefusal::Full) => Err(DepositError::Full),
        MailboxFrame::Refused(why) => Err(refused(why).into()),
        _ => Err(DepositError::Failed("it answered with nonsense".into())),
    }
}

/// Tells the mailbox this device stops using it: it forgets the device and every
/// letter kept for it.
pub(super) async fn leave(net: &Net, link: &MailboxLink) -> Result<(), String> {
    let mut stream = connect(net, link).await?;
    match ask(&mut stream, &MailboxFrame::Leave, ANSWER_TIMEOUT).await? {
        MailboxFrame::Left => Ok(()),
        MailboxFrame::Refused(why) => Err(refused(why)),
        _ => Err("it answered with nonsense".into()),
    }
}

/// Acknowledges the letters up to `ack` and collects the next ones, waiting up to
/// `wait` for one to arrive.
pub(super) async fn fetch(
    net: &Net,
    link: &MailboxLink,
    ack: u64,
    wait: Duration,
) -> Result<Fetched, String> {
    let mut stream = connect(net, link).await?;
    let frame = MailboxFrame::Fetch {
        ack,
        wait_ms: u32::try_from(wait.as_millis()).unwrap_or(u32::MAX),
    };
    match ask(&mut stream, &frame, wait + ANSWER_TIMEOUT).await? {
        MailboxFrame::Letters {
            letters,
            more,
            waiting,
        } => Ok(Fetched {
            letters: letters
                .into_iter()
                .map(|(n, l)| (n, l.into_vec()))
                .collect(),
            more,
            waiting,
        }),
        MailboxFrame::Refused(why) => Err(refused(why)),
        _ => Err("it answered with nonsense".into()),
    }
}
