//! The `/hearth/pair/2` conversation around the pairing handshake: probing who is
//! waiting to pair, carrying the handshake's messages, and saying why it stopped.

use std::time::Duration;

use hearth_core::DeviceId;
use hearth_core::wire::{self, PairFrame};
use hearth_crypto::{Pairing, PairingError, PairingInput, Progress, StaticKeypair};
use hearth_net::{FramedStream, Net, Protocol};

use crate::types::Profile;

/// How long a whole pairing may take before it is abandoned.
pub(crate) const PAIRING_TIMEOUT: Duration = Duration::from_secs(30);
/// How long reaching the other device may take before we say it is unreachable.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a device that opened a pairing stream may take to say what it wants.
const FIRST_FRAME: Duration = Duration::from_secs(3);
/// How long the other device may take over each later step of the handshake.
const STEP: Duration = Duration::from_secs(5);
/// How many attempts this device answers at once as the responder. Attempts run side
/// by side, so a device that opens one and stalls holds nobody up; the code's tries
/// are counted by the engine when an attempt brings its guess (message 3), so running
/// several at once gives no extra guesses.
const MAX_LIVE: usize = 8;
/// How many attempts one peer may start in [`RATE_WINDOW`]: a person retyping a
/// code starts a few; each start costs this device a SPAKE2 and a Noise handshake.
const STARTS_PER_PEER: usize = 10;
/// How long an attempt must have waited on its peer before a newcomer may take its
/// place when all are taken.
const STALL_GRACE: Duration = Duration::from_secs(1);
/// Peers whose recent starts are remembered; past this, new ones are not (only a
/// flood of new identities gets there).
const REMEMBERED_PEERS: usize = 4096;
const RATE_WINDOW: Duration = Duration::from_secs(60);

/// The attempts this device is answering as the responder.
#[derive(Default)]
pub(crate) struct Attempts {
    inner: std::sync::Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    live: Vec<Holder>,
    /// When each peer started its recent attempts, within [`RATE_WINDOW`].
    started: std::collections::HashMap<DeviceId, Vec<std::time::Instant>>,
}

struct Holder {
    attempt: u64,
    peer: DeviceId,
    /// Since when it has waited on its peer's next message; `None` while working.
    waiting_since: Option<std::time::Instant>,
    cancel: std::sync::Arc<tokio::sync::Notify>,
}

impl Attempts {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind: keep using it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes room for `attempt` from `peer`: an earlier attempt of the same peer ends
    /// (a real initiator runs one at a time, and starts again after a failure); when
    /// [`MAX_LIVE`] are under way, the one that has waited on its peer longest ends.
    /// A real handshake waits for one round trip at a time, so the one waiting
    /// longest is the likeliest to be stalling. `None` if every attempt is working,
    /// or `peer` started [`STARTS_PER_PEER`] attempts within the last minute.
    fn take(&self, attempt: u64, peer: DeviceId) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        let mut inner = self.inner();
        let now = std::time::Instant::now();
        inner.started.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < RATE_WINDOW);
            !times.is_empty()
        });

        if inner
            .started
            .get(&peer)
            .is_some_and(|times| times.len() >= STARTS_PER_PEER)
        {
            return None;
        }
        let live = &mut inner.live;
        live.retain(|holder| {
            let same = holder.peer == peer;
            if same {
                holder.cancel.notify_one();
            }
            !same
        });
        if live.len() >= MAX_LIVE {
            // Only one that has waited past a round trip's worth: a real handshake
            // waiting on its peer for a moment is never pushed out.
            let longest = live
                .iter()
                .enumerate()
                .filter_map(|(i, h)| h.waiting_since.map(|since| (since, i)))
                .filter(|(since, _)| since.elapsed() >= STALL_GRACE)
                .min()
                .map(|(_, i)| i)?;
            live.swap_remove(longest).cancel.notify_one();
        }
        let cancel = std::sync::Arc::new(tokio::sync::Notify::new());
        live.push(Holder {
            attempt,
            peer,
            waiting_since: None,
            cancel: cancel.clone(),
        });
        // Past the bound, only peers already remembered are counted: a flood of new
        // identities does not wipe what the others did.
        if inner.started.len() < REMEMBERED_PEERS || inner.started.contains_key(&peer) {
            inner.started.entry(peer).or_default().push(now);
        }
        Some(cancel)
    }

    fn waiting(&self, attempt: u64, waiting: bool) {
        if let Some(holder) = self.inner().live.iter_mut().find(|h| h.attempt == attempt) {
            holder.waiting_since = waiting.then(std::time::Instant::now);
        }
    }

    /// Forgets `attempt`. Called once the engine has been told how it ended.
    pub(crate) fn release(&self, attempt: u64) {
        self.inner().live.retain(|h| h.attempt != attempt);
    }
}

pub(crate) use hearth_core::wire::PairRefusal as Refusal;

pub(crate) use crate::types::PairingFailure as PairFail;

impl From<Refusal> for PairFail {
    fn from(r: Refusal) -> PairFail {
        match r {
            Refusal::NotPairing => PairFail::NotPairing,
            Refusal::Expired => PairFail::Expired,
            Refusal::TooManyTries => PairFail::TooManyTries,
            Refusal::Busy => PairFail::Busy,
        }
    }
}

/// Everything one side brings to a pairing.
pub(crate) struct PairSetup {
    pub(crate) code: Vec<u8>,
    pub(crate) me: DeviceId,
    pub(crate) them: DeviceId,
    pub(crate) static_key: StaticKeypair,
    pub(crate) profile: Profile,
    /// On the responding side: the code is six digits on screen (not an invite).
    pub(crate) showing_code: bool,
}

/// What a successful pairing yields.
#[derive(Debug)]
pub(crate) struct PairOutcome {
    pub(crate) partner: DeviceId,
    pub(crate) partner_static: [u8; 32],
    pub(crate) partner_profile: Profile,
    pub(crate) safety_words: Vec<String>,
}

/// What an inbound pairing stream came to.
#[derive(Debug)]
pub(crate) enum Responded {
    /// It only asked whether this device is waiting.
    Probed,
    /// It ran the handshake. `code_right`: its guess was read and was right,
    /// whatever happened after (the last message may still have failed to go out).
    Handshake {
        result: Result<PairOutcome, PairFail>,
        code_right: bool,
    },
}

async fn send(stream: &mut FramedStream, frame: &PairFrame) -> Result<(), PairFail> {
    stream
        .send(&wire::encode(frame))
        .await
        .map_err(|e| PairFail::Unreachable(e.to_string()))
}

async fn recv(stream: &mut FramedStream) -> Result<PairFrame, PairFail> {
    // A device that finds the codes differ closes the stream; a connection that
    // drops mid-handshake is something else, and says so.
    let bytes = stream.recv().await.map_err(|e| match e {
        hearth_net::FrameError::Closed => PairFail::Abandoned,
        other => PairFail::Unreachable(other.to_string()),
    })?;
    wire::decode_pair(&bytes).map_err(|_| PairFail::Protocol)
}

fn input<'a>(
    setup: &'a PairSetup,
    initiator: &'a [u8],
    responder: &'a [u8],
) -> Result<PairingInput<'a>, PairFail> {
    Ok(PairingInput {
        code: &setup.code,
        initiator,
        responder,
        local_static: &setup.static_key,
        profile: wire::encode(&setup.profile),
    })
}

fn peer_bytes(device: DeviceId) -> Result<Vec<u8>, PairFail> {
    hearth_net::peer_id_bytes(device).map_err(|_| PairFail::Protocol)
}

fn outcome(partner: DeviceId, paired: hearth_crypto::Paired) -> Result<PairOutcome, PairFail> {
    let partner_profile: Profile =
        wire::decode(&paired.partner_profile, wire::MAX_PAIR_FRAME_BYTES)
            .map_err(|_| PairFail::Protocol)?;
    Ok(PairOutcome {
        partner,
        partner_static: paired.partner_static,
        partner_profile,
        safety_words: paired
            .safety_words
            .0
            .iter()
            .map(|w| w.to_string())
            .collect(),
    })
}

/// How often, and how far apart, to ask again a device that is busy finishing a
/// previous attempt.
const BUSY_RETRIES: u32 = 40;
const BUSY_WAIT: Duration = Duration::from_millis(200);

/// Asks `peer` whether it is waiting to pair; returns its name, and whether it shows
/// a six-digit code, if so. A device busy finishing a previous attempt is asked again
/// a moment later.
pub(crate) async fn probe(net: &Net, peer: DeviceId) -> Result<(String, bool), PairFail> {
    let mut result = probe_once(net, peer).await;
    for _ in 0..BUSY_RETRIES {
        if !matches!(result, Err(PairFail::Busy)) {
            break;
        }
        tokio::time::sleep(BUSY_WAIT).await;
        result = probe_once(net, peer).await;
    }
    result
}

async fn probe_once(net: &Net, peer: DeviceId) -> Result<(String, bool), PairFail> {
    let run = async {
        let mut stream = net
            .open(peer, Protocol::Pair)
            .await
            .map_err(|e| PairFail::Unreachable(e.to_string()))?;
        send(&mut stream, &PairFrame::Probe).await?;
        match recv(&mut stream).await? {
            PairFrame::Available { name, showing_code } => Ok((name, showing_code)),
            PairFrame::Unavailable(refusal) => Err(refusal.into()),
            _ => Err(PairFail::Protocol),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .map_err(|_| PairFail::Timeout)?
}

/// Runs the handshake as the device that dials, asking again a moment later if the
/// other device is busy finishing a previous attempt.
pub(crate) async fn initiate(net: Net, setup: PairSetup) -> Result<PairOutcome, PairFail> {
    let mut result = initiate_once(&net, &setup).await;
    for _ in 0..BUSY_RETRIES {
        if !matches!(result, Err(PairFail::Busy)) {
            break;
        }
        tokio::time::sleep(BUSY_WAIT).await;
        result = initiate_once(&net, &setup).await;
    }
    result
}

async fn initiate_once(net: &Net, setup: &PairSetup) -> Result<PairOutcome, PairFail> {
    let run = async {
        let (me, them) = (peer_bytes(setup.me)?, peer_bytes(setup.them)?);
        let mut stream = tokio::time::timeout(OPEN_TIMEOUT, net.open(setup.them, Protocol::Pair))
            .await
            .map_err(|_| PairFail::Unreachable("no connection".into()))?
            .map_err(|e| PairFail::Unreachable(e.to_string()))?;
        let (mut pairing, first) =
            Pairing::initiator(input(setup, &me, &them)?).map_err(|_| PairFail::Protocol)?;
        send(&mut stream, &PairFrame::Start(first)).await?;
        loop {
            let msg = match recv(&mut stream).await? {
                PairFrame::Step(msg) => msg,
                PairFrame::Unavailable(refusal) => return Err(refusal.into()),
                PairFrame::Failed => return Err(PairFail::CodeMismatch),
                _ => return Err(PairFail::Protocol),
            };
            match pairing.receive(&msg) {
                Ok(Progress::Send(next)) => send(&mut stream, &PairFrame::Step(next)).await?,
                Ok(Progress::Done { paired, .. }) => {
                    let _ = stream.close().await;
                    return outcome(setup.them, paired);
                }
                Err(e) => {
                    let _ = send(&mut stream, &PairFrame::Failed).await;
                    return Err(crypto_fail(e));
                }
            }
        }
    };
    tokio::time::timeout(PAIRING_TIMEOUT, run)
        .await
        .map_err(|_| PairFail::Timeout)?
}

/// Answers an inbound pairing stream. `offer` is whether this device is taking
/// pairings now, for answering a probe (never with the user's name, which goes only to
/// the device that completes the handshake). A start takes a place among the
/// [`Attempts`] (or is told this device is busy) and only then asks the engine,
/// through `ask`, for the code as it stands; before the guess is read, it asks the
/// engine again for one of the code's tries. A code that has been tried too often,
/// expired or been replaced is never used, however many attempts run at once.
pub(crate) async fn respond(
    mut stream: FramedStream,
    offer: Result<bool, Refusal>,
    ask: impl AskEngine,
    attempts: std::sync::Arc<Attempts>,
    peer: DeviceId,
    attempt: u64,
) -> Responded {
    // A stream that says nothing in time, or closes first, tried no code.
    let Ok(Ok(first)) = tokio::time::timeout(FIRST_FRAME, recv(&mut stream)).await else {
        return Responded::Probed;
    };
    let code_right = std::sync::atomic::AtomicBool::new(false);
    let handshake = |result| Responded::Handshake {
        result,
        code_right: code_right.load(std::sync::atomic::Ordering::SeqCst),
    };
    let run = async {
        let first = match (first, offer) {
            (PairFrame::Probe, Ok(showing_code)) => {
                let available = PairFrame::Available {
                    name: String::new(),
                    showing_code,
                };
                let _ = send(&mut stream, &available).await;
                let _ = stream.close().await;
                return Responded::Probed;
            }
            (PairFrame::Probe, Err(refusal)) => {
                let _ = send(&mut stream, &PairFrame::Unavailable(refusal)).await;
                let _ = stream.close().await;
                return Responded::Probed;
            }
            (PairFrame::Start(_), Err(refusal)) => {
                let _ = send(&mut stream, &PairFrame::Unavailable(refusal)).await;
                let _ = stream.close().await;
                return Responded::Probed;
            }
            (PairFrame::Start(msg), Ok(_)) => msg,
            _ => return handshake(Err(PairFail::Protocol)),
        };
        let Some(cancel) = attempts.take(attempt, peer) else {
            let _ = send(&mut stream, &PairFrame::Unavailable(Refusal::Busy)).await;
            let _ = stream.close().await;
            return Responded::Probed;
        };
        let setup = match ask.setup().await {
            Ok(setup) => setup,
            Err(refusal) => {
                let _ = send(&mut stream, &PairFrame::Unavailable(refusal)).await;
                let _ = stream.close().await;
                return Responded::Probed;
            }
        };
        // The handshake first: one that has its guess in hand finishes (and its
        // guess counts) even if it is asked to make room meanwhile.
        let result = tokio::select! {
            biased;
            result = respond_handshake(&mut stream, first, setup, &ask, &attempts, attempt, &code_right) => result,
            () = cancel.notified() => Err(PairFail::Abandoned),
        };
        handshake(result)
    };
    match tokio::time::timeout(PAIRING_TIMEOUT, run).await {
        Ok(responded) => responded,
        Err(_) => handshake(Err(PairFail::Timeout)),
    }
}

/// What an answering attempt asks of the engine, which alone holds the code and
/// counts its tries.
pub(crate) trait AskEngine {
    /// The code as it stands, if this device takes pairings now.
    fn setup(&self) -> impl std::future::Future<Output = Result<PairSetup, Refusal>> + Send;
    /// One of the code's tries, for the guess this attempt is about to read; refused
    /// when the tries are spent (or promised to attempts under way), or the code
    /// this attempt was given is no longer the one on screen.
    fn guess(&self) -> impl std::future::Future<Output = Result<(), Refusal>> + Send;
}

async fn respond_handshake(
    stream: &mut FramedStream,
    first: Vec<u8>,
    setup: PairSetup,
    ask: &impl AskEngine,
    attempts: &Attempts,
    attempt: u64,
    code_right: &std::sync::atomic::AtomicBool,
) -> Result<PairOutcome, PairFail> {
    let (me, them) = (peer_bytes(setup.me)?, peer_bytes(setup.them)?);
    let mut pairing =
        Pairing::responder(input(&setup, &them, &me)?).map_err(|_| PairFail::Protocol)?;
    let mut msg = first;
    loop {
        if pairing.next_tries_the_code()
            && let Err(refusal) = ask.guess().await
        {
            let _ = send(stream, &PairFrame::Unavailable(refusal)).await;
            let _ = stream.close().await;
            // No guess was read: nothing the user needs to see.
            return Err(PairFail::Abandoned);
        }
        match pairing.receive(&msg) {
            Ok(Progress::Send(next)) => send(stream, &PairFrame::Step(next)).await?,
            Ok(Progress::Done { send: last, paired }) => {
                code_right.store(true, std::sync::atomic::Ordering::SeqCst);
                if let Some(last) = last {
                    send(stream, &PairFrame::Step(last)).await?;
                }
                let _ = stream.close().await;
                return outcome(setup.them, paired);
            }
            Err(e) => {
                let _ = send(stream, &PairFrame::Failed).await;
                let _ = stream.close().await;
                return Err(crypto_fail(e));
            }
        }
        attempts.waiting(attempt, true);
        let next = tokio::time::timeout(STEP, recv(stream)).await;
        attempts.waiting(attempt, false);
        msg = match next.map_err(|_| PairFail::Timeout)?? {
            PairFrame::Step(msg) => msg,
            // The initiator gave up before sending its guess.
            PairFrame::Failed => return Err(PairFail::Abandoned),
            _ => return Err(PairFail::Protocol),
        };
    }
}

fn crypto_fail(e: PairingError) -> PairFail {
    match e {
        PairingError::CodeMismatch => PairFail::CodeMismatch,
        _ => PairFail::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use hearth_core::DeviceId;
    use tokio::sync::Notify;

    use super::{Attempts, MAX_LIVE};

    async fn ended(cancel: &Arc<Notify>) -> bool {
        tokio::time::timeout(Duration::from_millis(20), cancel.notified())
            .await
            .is_ok()
    }

    /// Attempts run side by side; a peer's new attempt ends its old one; when all
    /// are taken, the one that has waited longest (past a grace) makes room, and if
    /// none has, the newcomer is told this device is busy.
    #[tokio::test]
    async fn attempts_make_room_for_each_other() {
        let attempts = Attempts::default();
        let first = attempts.take(1, DeviceId([1; 32])).unwrap();
        let second = attempts.take(2, DeviceId([2; 32])).unwrap();
        assert!(
            !ended(&first).await && !ended(&second).await,
            "side by side"
        );

        let again = attempts.take(3, DeviceId([1; 32])).unwrap();
        assert!(ended(&first).await, "the same peer's old attempt ends");
        assert!(!ended(&second).await);

        let mut others = Vec::new();
        for n in 4..4 + MAX_LIVE as u64 - 2 {
            others.push(attempts.take(n, DeviceId([n as u8; 32])).unwrap());
        }
        assert!(
            attempts.take(99, DeviceId([99; 32])).is_none(),
            "all working: busy"
        );
        attempts.waiting(2, true);
        assert!(
            attempts.take(99, DeviceId([99; 32])).is_none(),
            "one waiting a moment is not pushed out"
        );
        tokio::time::sleep(super::STALL_GRACE + Duration::from_millis(50)).await;
        attempts.waiting(3, true);
        let newcomer = attempts.take(100, DeviceId([100; 32])).unwrap();
        assert!(ended(&second).await, "the one waiting longest made room");
        assert!(!ended(&again).await, "the one waiting less is kept");
        for other in &others {
            assert!(!ended(other).await);
        }
        attempts.release(100);
        assert!(
            attempts.take(101, DeviceId([101; 32])).is_some(),
            "a place freed"
        );
        assert!(!ended(&newcomer).await);
    }

    /// One peer starts at most a few attempts a minute; others are not held back.
    #[test]
    fn a_peer_starting_attempt_after_attempt_is_held_back() {
        let attempts = Attempts::default();
        let peer = DeviceId([1; 32]);
        for n in 0..super::STARTS_PER_PEER as u64 {
            assert!(attempts.take(n, peer).is_some(), "start {n}");
            attempts.release(n);
        }
        assert!(attempts.take(99, peer).is_none(), "one too many");
        assert!(attempts.take(100, DeviceId([2; 32])).is_some());
    }
}
