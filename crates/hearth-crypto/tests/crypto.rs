//! Pairing as two devices would run it, message by message, and invites as text.

// Test helpers outside #[test] functions may panic on failure: that is the failure.
#![allow(clippy::unwrap_used)]

use hearth_crypto::{
    Invite, InviteError, Paired, Pairing, PairingError, PairingInput, Progress, StaticKeypair,
    nearby_code,
};

const ALICE: &[u8] = b"alice-peer-id";
const BOB: &[u8] = b"bob-peer-id";

/// Runs a whole pairing, optionally letting `tamper` change message `n` in flight.
/// Returns (initiator's result, responder's result).
fn run(
    code_a: &[u8],
    code_b: &[u8],
    tamper: Option<usize>,
) -> (Result<Paired, PairingError>, Result<Paired, PairingError>) {
    let (ka, kb) = (
        StaticKeypair::generate().unwrap(),
        StaticKeypair::generate().unwrap(),
    );
    let input = |code, key, profile: &str| PairingInput {
        code,
        initiator: ALICE,
        responder: BOB,
        local_static: key,
        profile: profile.as_bytes().to_vec(),
    };
    let (mut alice, first) = Pairing::initiator(input(code_a, &ka, "Alice")).unwrap();
    let mut bob = Pairing::responder(input(code_b, &kb, "Bob")).unwrap();
    let mut msg = first;
    let mut n = 0;
    let mut to_bob = true;
    loop {
        n += 1;
        if tamper == Some(n) {
            let last = msg.len() - 1;
            msg[last] ^= 1;
        }
        let (me, other_result) = if to_bob {
            (&mut bob, 'b')
        } else {
            (&mut alice, 'a')
        };
        match me.receive(&msg) {
            Ok(Progress::Send(next)) => msg = next,
            Ok(Progress::Done { send, paired }) => {
                let Some(last) = send else {
                    // The initiator finished: the responder finished before it.
                    unreachable!("the responder always finishes last-but-one");
                };
                // Responder done; deliver its last message to the initiator.
                let alice_result = match alice.receive(&last) {
                    Ok(Progress::Done { paired, .. }) => Ok(paired),
                    Ok(_) => Err(PairingError::Protocol),
                    Err(e) => Err(e),
                };
                return (alice_result, Ok(paired));
            }
            Err(e) => {
                // The failing side closes the stream; the other side sees an empty
                // message and fails too.
                let other = if other_result == 'b' {
                    &mut alice
                } else {
                    &mut bob
                };
                let other_err = match other.receive(&[]) {
                    Err(e) => e,
                    Ok(_) => PairingError::Protocol,
                };
                return if other_result == 'b' {
                    (Err(other_err), Err(e))
                } else {
                    (Err(e), Err(other_err))
                };
            }
        }
        to_bob = !to_bob;
    }
}

#[test]
fn same_code_pairs_with_equal_safety_words() {
    let (alice, bob) = run(b"123456", b"123456", None);
    let (alice, bob) = (alice.unwrap(), bob.unwrap());
    assert_eq!(alice.safety_words, bob.safety_words);
    assert_eq!(alice.safety_words.0.len(), 5);
    assert_eq!(alice.partner_profile, b"Bob");
    assert_eq!(bob.partner_profile, b"Alice");
    assert_ne!(alice.partner_static, bob.partner_static);
}

#[test]
fn different_codes_fail_on_both_sides() {
    let (alice, bob) = run(b"123456", b"123457", None);
    assert!(matches!(bob, Err(PairingError::CodeMismatch)), "{bob:?}");
    assert!(alice.is_err());
    assert_eq!(
        PairingError::CodeMismatch.to_string(),
        "the codes did not match"
    );
}

#[test]
fn a_tampered_message_fails() {
    // Messages 3, 4 and 5 are Noise messages; changing any byte breaks the handshake.
    for n in 3..=5 {
        let (alice, bob) = run(b"secret", b"secret", Some(n));
        assert!(
            alice.is_err() || bob.is_err(),
            "tampering with message {n} went unseen"
        );
        assert!(alice.is_err(), "message {n}: the initiator must not finish");
    }
}

#[test]
fn each_pairing_has_its_own_words() {
    let (first, _) = run(b"same", b"same", None);
    let (second, _) = run(b"same", b"same", None);
    assert_ne!(first.unwrap().safety_words, second.unwrap().safety_words);
}

#[test]
fn invites_survive_being_pasted() {
    let invite = Invite {
        peer: b"12D3KooWpeer".to_vec(),
        addrs: vec![b"/ip4/127.0.0.1/tcp/4001".to_vec()],
        secret: [42; 16],
        expires_at_ms: 1_800_000_000_000,
    };
    let text = invite.to_text();
    assert!(text.starts_with("hearth:"));
    // Pasted with a line break and surrounding spaces, in upper case.
    let (a, b) = text.split_at(30);
    let pasted = format!(
        "  {a}\n{}  ",
        b.to_uppercase().replace("HEARTH:", "hearth:")
    );
    assert_eq!(Invite::from_text(&pasted), Ok(invite.clone()));
    assert_eq!(Invite::from_bytes(&invite.to_bytes()), Ok(invite));

    let mut damaged: Vec<char> = text.chars().collect();
    let i = damaged.len() / 2;
    damaged[i] = if damaged[i] == 'a' { 'b' } else { 'a' };
    let damaged: String = damaged.into_iter().collect();
    assert_eq!(Invite::from_text(&damaged), Err(InviteError::Damaged));
    assert_eq!(Invite::from_text("hello"), Err(InviteError::NotAnInvite));
    assert_eq!(
        Invite::from_text(&text[..text.len() - 3]),
        Err(InviteError::Damaged)
    );
}

#[test]
fn nearby_codes_are_six_digits() {
    for _ in 0..100 {
        let code = nearby_code();
        assert_eq!(code.len(), 6);
        assert!(code.chars().all(|c| c.is_ascii_digit()));
    }
}

#[test]
fn rendezvous_records_open_only_for_the_partner_and_keys_change_daily() {
    use hearth_crypto::Rendezvous;
    let alice = StaticKeypair::generate().unwrap();
    let bob = StaticKeypair::generate().unwrap();
    let eve = StaticKeypair::generate().unwrap();
    let at_alice = Rendezvous::new(&alice, &bob.public);
    let at_bob = Rendezvous::new(&bob, &alice.public);
    let at_eve = Rendezvous::new(&eve, &alice.public);

    // Both derive the same names for each other's records.
    assert_eq!(at_alice.my_key(20_000), at_bob.partner_key(20_000));
    assert_eq!(at_bob.my_key(20_000), at_alice.partner_key(20_000));
    assert_ne!(at_alice.my_key(20_000), at_bob.my_key(20_000));
    assert_ne!(at_alice.my_key(20_000), at_alice.my_key(20_001));
    // Someone else paired with Alice's key derives other names.
    assert_ne!(at_eve.partner_key(20_000), at_bob.partner_key(20_000));

    let record = at_alice.seal(20_000, b"/ip4/203.0.113.7/udp/4001/quic-v1");
    assert!(
        !record.windows(4).any(|w| w == b"/ip4"),
        "the address is sealed"
    );
    assert_eq!(
        at_bob.open(20_000, &record).unwrap(),
        b"/ip4/203.0.113.7/udp/4001/quic-v1"
    );
    assert!(
        at_eve.open(20_000, &record).is_err(),
        "only the partner opens it"
    );
    // A record is bound to its day: replayed under another day's key, it does not
    // open.
    assert!(at_bob.open(20_001, &record).is_err());
    // Bob cannot pass his own record off as Alice's, nor can a tampered one open.
    assert!(at_bob.open(20_000, &at_bob.seal(20_000, b"x")).is_err());
    let mut tampered = record.clone();
    *tampered.last_mut().unwrap() ^= 1;
    assert!(at_bob.open(20_000, &tampered).is_err());
    assert!(at_bob.open(20_000, &[0u8; 10]).is_err());
}

/// The responder can tell which message carries the guess before reading it, so a
/// device counts a try exactly when a code is tried: the message after which a wrong
/// code fails.
#[test]
fn the_responder_knows_which_message_tries_the_code() {
    let (ka, kb) = (
        StaticKeypair::generate().unwrap(),
        StaticKeypair::generate().unwrap(),
    );
    let input = |code: &'static [u8], key| PairingInput {
        code,
        initiator: ALICE,
        responder: BOB,
        local_static: key,
        profile: Vec::new(),
    };
    let (mut alice, first) = Pairing::initiator(input(b"111111", &ka)).unwrap();
    let mut bob = Pairing::responder(input(b"222222", &kb)).unwrap();
    let mut msg = first;
    let mut tried_at = Vec::new();
    for n in 1.. {
        let tries = bob.next_tries_the_code();
        tried_at.push(tries);
        let reply = match bob.receive(&msg) {
            Ok(Progress::Send(reply)) => reply,
            Err(PairingError::CodeMismatch) => {
                assert!(tries, "message {n} failed on the code without trying it");
                break;
            }
            other => panic!("message {n}: {other:?}"),
        };
        assert!(!alice.next_tries_the_code(), "the initiator never counts");
        msg = match alice.receive(&reply) {
            Ok(Progress::Send(next)) => next,
            other => panic!("the initiator at message {n}: {other:?}"),
        };
    }
    assert_eq!(tried_at, [false, false, true]);
}
