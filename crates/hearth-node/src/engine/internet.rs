//! Across the internet: the relays and DHT servers in use, how the partner is
//! connected, and the rendezvous records that let the two find each other again
//! after an address changes.
//!
//! Each device publishes where it can be reached (addresses confirmed from outside,
//! circuits on its relays, listen addresses) as a record sealed for its partner,
//! under a key only the two can compute (see [`hearth_crypto::Rendezvous`]). While
//! the partner is away, the other looks the partner's record up every few seconds
//! and dials what it finds.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hearth_core::DeviceId;
use hearth_crypto::{Rendezvous, StaticKeypair};
use hearth_net::{NetworkOptions, Route};
use hearth_store::Store;

use super::presence::{MAX_REMEMBERED_ADDRS, start_net};
use super::{Engine, SETTING_IDENTITY, now_ms};
use crate::NodeConfig;
use crate::types::{Connection, NodeError, NodeEvent, Partner, Refusal};

/// Whether the user wants internet discovery (Settings); on unless turned off.
const SETTING_INTERNET: &str = "internet";
/// The relays remembered (from Settings and invites).
const SETTING_RELAYS: &str = "relays";

/// How often to look the partner up while they are away.
const LOOKUP_EVERY: Duration = Duration::from_secs(10);
/// Relays remembered at most (invites bring them in).
const MAX_RELAYS: usize = 8;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What a rendezvous record holds, sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Whereabouts {
    published_at_ms: i64,
    addrs: Vec<String>,
}

pub(super) struct Internet {
    /// Whether internet discovery is on.
    pub(super) on: bool,
    /// Turned off for this run from the command line (`--no-internet`).
    forced_off: bool,
    upnp: bool,
    /// Relays: from the command line, and remembered from invites.
    pub(super) relays: Vec<String>,
    pub(super) dht: Vec<String>,
    pub(super) connection: Connection,
    /// The best path to every device connected now (a device being paired with is
    /// not the partner yet when its path changes).
    routes: HashMap<DeviceId, Route>,
    rendezvous: Option<Rendezvous>,
    reachable: Vec<String>,
    /// The day of the record last published.
    published_day: Option<i64>,
    lookup_at: Instant,
    /// The newest partner record seen, so an old one replayed is ignored.
    newest_seen_ms: i64,
}

/// The publication time of the newest partner record seen.
pub(super) const SETTING_NEWEST_RECORD: &str = "rendezvous-newest";

impl Internet {
    /// Where this device can be reached now, best first (from the network).
    pub(super) fn reachable(&self) -> &[String] {
        &self.reachable
    }

    pub(super) fn new(
        config: &NodeConfig,
        store: &Store,
        static_key: &StaticKeypair,
        partner: Option<&Partner>,
    ) -> Result<Internet, NodeError> {
        let mut relays: Vec<String> = store.setting(SETTING_RELAYS)?.unwrap_or_default();
        for relay in &config.network.relays {
            if !relays.contains(relay) {
                relays.push(relay.clone());
            }
        }
        if relays.len() > MAX_RELAYS {
            relays.drain(..relays.len() - MAX_RELAYS);
        }
        store.set_setting(SETTING_RELAYS, &relays)?;
        let wanted: bool = store.setting(SETTING_INTERNET)?.unwrap_or(true);
        Ok(Internet {
            on: config.network.internet && wanted,
            forced_off: !config.network.internet,
            upnp: config.network.upnp,
            relays,
            dht: config.network.dht.clone(),
            connection: Connection::Offline,
            routes: HashMap::new(),
            rendezvous: partner.map(|p| Rendezvous::new(static_key, &p.static_key)),
            reachable: Vec::new(),
            published_day: None,
            lookup_at: Instant::now(),
            newest_seen_ms: store.setting(SETTING_NEWEST_RECORD)?.unwrap_or(0),
        })
    }

    pub(super) fn relays_in_use(&self) -> Vec<String> {
        if self.on {
            self.relays.clone()
        } else {
            Vec::new()
        }
    }

    /// Stops the rendezvous with a former partner.
    pub(super) fn forget_partner(&mut self) {
        self.rendezvous = None;
        self.published_day = None;
        self.newest_seen_ms = 0;
    }

    /// The options the network runs with: the user's, with the relays remembered
    /// and internet discovery as set now. UPnP only while there is somewhere on the
    /// internet to be found through.
    pub(super) fn in_effect(&self, user: &NetworkOptions, listen: Vec<String>) -> NetworkOptions {
        NetworkOptions {
            listen,
            mdns: user.mdns,
            internet: self.on,
            relays: self.relays.clone(),
            dht: self.dht.clone(),
            upnp: self.upnp && !(self.relays.is_empty() && self.dht.is_empty()),
        }
    }
}

fn today() -> i64 {
    now_ms().div_euclid(DAY_MS)
}

impl Engine {
    /// Settings: internet discovery on or off, and the relays to use. Saved, then
    /// the network restarts with them.
    pub(super) async fn set_network(
        &mut self,
        internet: bool,
        relays: Vec<String>,
    ) -> Result<(), NodeError> {
        if internet && self.internet.forced_off {
            return Err(Refusal::InternetForcedOff.into());
        }
        let mut cleaned: Vec<String> = Vec::new();
        for relay in relays {
            let relay = relay.trim().to_string();
            hearth_net::check_full_address(&relay)?;
            if !cleaned.contains(&relay) {
                cleaned.push(relay);
            }
        }
        if cleaned.len() > MAX_RELAYS {
            return Err(Refusal::TooManyRelays { max: MAX_RELAYS }.into());
        }
        self.store.set_setting(SETTING_INTERNET, &internet)?;
        self.store.set_setting(SETTING_RELAYS, &cleaned)?;
        self.flush()?;
        self.internet.on = internet;
        self.internet.relays = cleaned;
        self.restart_net().await
    }

    /// Replaces the network with a new one on the current settings. Connections
    /// drop and come back; messages wait meanwhile, as on any disconnect.
    pub(super) async fn restart_net(&mut self) -> Result<(), NodeError> {
        tracing::info!(internet = self.internet.on, relays = ?self.internet.relays, "restarting the network");
        self.net.shutdown().await;
        let identity: [u8; 32] = self
            .store
            .setting(SETTING_IDENTITY)?
            .ok_or(Refusal::Damaged("the profile has no device key"))?;
        let (net, events) = start_net(
            &self.config,
            &self.store,
            identity,
            &self.internet,
            self.partner.as_ref(),
            self.mailbox.device(),
        )
        .await?;
        self.net = net;
        self.net_events = events;
        self.presence.reset();
        self.pairing.nearby.clear();
        self.internet.routes.clear();
        self.internet.reachable.clear();
        self.internet.published_day = None;
        self.internet.lookup_at = Instant::now();
        self.show_route(None).await;
        self.partner_offline().await;
        self.presence.redial_soon();
        Ok(())
    }

    /// Whether an invite made now would carry every address worth carrying: one to
    /// listen on at least, and a circuit on a relay if there are relays.
    pub(super) fn ready_to_invite(&self) -> bool {
        if self.presence.listen.is_empty() {
            return false;
        }
        self.internet.relays_in_use().is_empty()
            || self
                .presence
                .listen
                .iter()
                .any(|a| hearth_net::relay_of(a).is_some())
    }

    /// After pairing: use the relays the partner's invite came through (so this
    /// device is reachable the same way), and start the rendezvous records.
    pub(super) async fn paired_over_internet(&mut self) {
        let Some(partner) = &self.partner else {
            return;
        };
        self.internet.rendezvous = Some(Rendezvous::new(&self.static_key, &partner.static_key));
        let learned: Vec<String> = partner
            .addrs
            .iter()
            .filter_map(|a| hearth_net::relay_of(a))
            .filter(|r| !self.internet.relays.contains(r))
            .collect();
        if !learned.is_empty() {
            tracing::info!(relays = ?learned, "using the relays the invite came through");
            self.internet.relays.extend(learned.iter().cloned());
            let excess = self.internet.relays.len().saturating_sub(MAX_RELAYS);
            self.internet.relays.drain(..excess);
            if let Err(e) = self
                .store
                .set_setting(SETTING_RELAYS, &self.internet.relays)
            {
                tracing::warn!(error = %e, "could not remember the relays");
            }
            if self.internet.on
                && let Err(e) = self.net.add_relays(learned).await
            {
                tracing::warn!(error = %e, "could not add the relays");
            }
        }
        let route = self.internet.routes.get(&partner.device).copied();
        self.show_route(route).await;
        self.publish_whereabouts().await;
    }

    pub(super) async fn on_route(&mut self, peer: DeviceId, route: Option<Route>) {
        match route {
            Some(route) => self.internet.routes.insert(peer, route),
            None => self.internet.routes.remove(&peer),
        };
        if self.partner.as_ref().is_some_and(|p| p.device == peer) {
            self.show_route(route).await;
        }
    }

    async fn show_route(&mut self, route: Option<Route>) {
        let connection = match route {
            None => Connection::Offline,
            Some(Route::Relayed) => Connection::Relay,
            Some(Route::Direct) => Connection::Direct,
            Some(Route::Nearby) => Connection::Nearby,
        };
        if connection != self.internet.connection {
            tracing::info!(?connection, "the path to the partner changed");
            self.internet.connection = connection;
            self.emit(NodeEvent::Connection(connection)).await;
        }
    }

    pub(super) async fn on_reachable(&mut self, addrs: Vec<String>) {
        // A new circuit means a relay (and DHT server) just answered — perhaps back
        // after an outage: a good moment to look the partner up and dial again,
        // rather than at the next round of the backoff.
        if addrs
            .iter()
            .any(|a| hearth_net::relay_of(a).is_some() && !self.internet.reachable.contains(a))
        {
            self.internet.lookup_at = Instant::now();
            self.presence.redial_soon();
        }
        // Waiting invites need nothing here: a circuit also arrives as a listen
        // address, which serves them.
        self.internet.reachable = addrs;
        self.send_whereabouts();
        self.publish_whereabouts().await;
    }

    /// Seals where this device can be reached and leaves it on the DHT servers.
    async fn publish_whereabouts(&mut self) {
        let Some(rendezvous) = &self.internet.rendezvous else {
            return;
        };
        if !self.internet.on || self.internet.reachable.is_empty() {
            return;
        }
        let day = today();
        let record = Whereabouts {
            published_at_ms: now_ms(),
            addrs: self
                .internet
                .reachable
                .iter()
                .take(MAX_REMEMBERED_ADDRS)
                .cloned()
                .collect(),
        };
        let Ok(payload) = postcard::to_allocvec(&record) else {
            return;
        };
        let (key, value) = (rendezvous.my_key(day), rendezvous.seal(day, &payload));
        if let Err(e) = self.net.publish(key, value).await {
            tracing::debug!(error = %e, "could not publish the rendezvous record");
        }
        self.internet.published_day = Some(day);
    }

    /// A record found on the DHT: if it is the partner's, remember the addresses in
    /// it (newest first) and dial them now.
    pub(super) fn on_found(&mut self, key: &[u8], value: &[u8]) {
        let Some(rendezvous) = &self.internet.rendezvous else {
            return;
        };
        let today = today();
        let Some(day) = (today - 1..=today + 1).find(|&d| rendezvous.partner_key(d) == key) else {
            return;
        };
        let Some(found) = rendezvous
            .open(day, value)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<Whereabouts>(&bytes).ok())
        else {
            tracing::warn!("a record under the partner's key did not open; ignored");
            return;
        };
        // A time more than a day ahead would shut out every later record.
        if found.published_at_ms <= self.internet.newest_seen_ms
            || found.published_at_ms > now_ms() + DAY_MS
        {
            return;
        }
        self.internet.newest_seen_ms = found.published_at_ms;
        // Kept across restarts: an older record replayed later is still old.
        if let Err(e) = self
            .store
            .set_setting(SETTING_NEWEST_RECORD, &found.published_at_ms)
        {
            tracing::debug!(error = %e, "could not remember the newest record");
        }
        let addrs: Vec<String> = found
            .addrs
            .into_iter()
            .filter(|a| hearth_net::addr_to_bytes(a).is_ok())
            .collect();
        tracing::info!(addrs = addrs.len(), "found the partner's record on the DHT");
        self.remember_partner_addrs(addrs);
        self.presence.redial_soon();
    }

    /// Every tick: publish again when the day turns, look the partner up while away.
    pub(super) async fn maintain_internet(&mut self) {
        if !self.internet.on || self.internet.rendezvous.is_none() {
            return;
        }
        if self.internet.published_day != Some(today()) {
            self.publish_whereabouts().await;
        }
        if self.presence.online || Instant::now() < self.internet.lookup_at {
            return;
        }
        self.internet.lookup_at = Instant::now() + LOOKUP_EVERY;
        let keys: Vec<Vec<u8>> = match &self.internet.rendezvous {
            Some(rendezvous) => {
                let day = today();
                (day - 1..=day + 1)
                    .map(|d| rendezvous.partner_key(d))
                    .collect()
            }
            None => return,
        };
        for key in keys {
            if let Err(e) = self.net.lookup(key).await {
                tracing::debug!(error = %e, "could not look the partner up");
            }
        }
    }
}
