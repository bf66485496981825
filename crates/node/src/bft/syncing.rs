//! What `eth_syncing` reports on a BFT node.
//!
//! Every peer announces its tip (the last height it decided) in value-sync status messages,
//! about once a second. [`StatusWatcher`] subscribes to the consensus network's events and
//! keeps, in a [`SyncTracker`], the last tip of each connected peer. The node is catching
//! up while the highest of them is more than [`SYNC_SLACK`] blocks above its head; the
//! head at the moment it fell behind is the `startingBlock`.

use bttc_consensus::{
    BttcContext,
    engine_channel::app::engine::network::{Msg, NetworkEvent, NetworkRef},
};
use bttc_rpc::{SyncProgress, SyncSource};
use malachitebft_network::PeerId;
use parking_lot::Mutex;
use ractor::{Actor, ActorProcessingErr, ActorRef};
use std::{collections::HashMap, sync::Arc};
use tracing::debug;

/// How far a peer's tip may be ahead of the head before the node counts as catching up:
/// peers announce their tip about once a second, so a node at the tip sees one block ahead
/// now and then.
pub(crate) const SYNC_SLACK: u64 = 2;

/// The peers' announced tips and where the current catch-up started.
#[derive(Debug, Default)]
pub(crate) struct SyncTracker {
    state: Mutex<TrackerState>,
}

#[derive(Debug, Default)]
struct TrackerState {
    /// Last announced tip of each connected peer.
    tips: HashMap<PeerId, u64>,
    /// The head when the node fell behind; `None` while caught up.
    starting: Option<u64>,
}

impl SyncTracker {
    /// `peer` announced `tip`; the head is `head`.
    pub(crate) fn on_status(&self, peer: PeerId, tip: u64, head: u64) {
        let mut st = self.state.lock();
        st.tips.insert(peer, tip);
        st.update(head);
    }

    /// `peer` went away: its tip no longer counts.
    pub(crate) fn on_disconnect(&self, peer: &PeerId) {
        self.state.lock().tips.remove(peer);
    }
}

impl TrackerState {
    fn highest(&self) -> Option<u64> {
        self.tips.values().copied().max()
    }

    /// Progress with head `head`, starting or ending a catch-up as needed.
    fn update(&mut self, head: u64) -> Option<SyncProgress> {
        match self.highest() {
            Some(highest) if highest > head.saturating_add(SYNC_SLACK) => {
                let starting = *self.starting.get_or_insert(head);
                Some(SyncProgress {
                    starting_block: starting,
                    current_block: head,
                    highest_block: highest,
                })
            }
            _ => {
                self.starting = None;
                None
            }
        }
    }
}

impl SyncSource for SyncTracker {
    fn progress(&self, current: u64) -> Option<SyncProgress> {
        self.state.lock().update(current)
    }
}

/// What the watcher receives.
pub(crate) type WatchedEvent = NetworkEvent<BttcContext>;

/// The actor that feeds a [`SyncTracker`] from the consensus network's events.
pub(crate) struct StatusWatcher;

/// What the watcher reads: the tracker to update and the chain whose head it compares.
pub(crate) struct WatcherArgs {
    pub(crate) tracker: Arc<SyncTracker>,
    pub(crate) chain: bttc_staking::NodeChain,
}

#[ractor::async_trait]
impl Actor for StatusWatcher {
    type Msg = NetworkEvent<BttcContext>;
    type State = WatcherArgs;
    type Arguments = WatcherArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: WatcherArgs,
    ) -> Result<WatcherArgs, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        event: Self::Msg,
        state: &mut WatcherArgs,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            NetworkEvent::Status(peer, status) => {
                let head = state.chain.db().ro()?.head()?.map_or(0, |h| h.number);
                debug!(target: "bttc::consensus", %peer, tip = status.tip_height.0, head, "peer status");
                state.tracker.on_status(peer, status.tip_height.0, head);
            }
            NetworkEvent::PeerDisconnected(peer) => state.tracker.on_disconnect(&peer),
            _ => {}
        }
        Ok(())
    }
}

/// Starts a [`StatusWatcher`] on `network`'s events: `eth_syncing` reads the returned
/// tracker; stop the returned actor with the node.
pub(crate) async fn watch(
    network: &NetworkRef<BttcContext>,
    chain: bttc_staking::NodeChain,
) -> Result<(Arc<SyncTracker>, ActorRef<WatchedEvent>), ractor::SpawnErr> {
    let tracker = Arc::new(SyncTracker::default());
    let args = WatcherArgs { tracker: tracker.clone(), chain };
    let (watcher, _) = Actor::spawn(None, StatusWatcher, args).await?;
    let _ = network.cast(Msg::Subscribe(Box::new(watcher.clone())));
    Ok((tracker, watcher))
}

#[cfg(test)]
mod tests {
    use super::*;
    use malachitebft_network::PeerIdExt;

    fn peer(i: u8) -> PeerId {
        let key = libp2p_identity::Keypair::ed25519_from_bytes([i; 32]).unwrap();
        PeerId::from_libp2p(&key.public().to_peer_id())
    }

    #[test]
    fn catching_up_is_reported_from_the_highest_peer_tip_until_the_head_reaches_it() {
        let t = SyncTracker::default();
        assert_eq!(t.progress(5), None, "no peers: nothing to catch up with");
        t.on_status(peer(1), 6, 5);
        t.on_status(peer(2), 5 + SYNC_SLACK, 5);
        assert_eq!(t.progress(5), None, "within the slack of a node at the tip");
        t.on_status(peer(3), 100, 5);
        let p = SyncProgress { starting_block: 5, current_block: 5, highest_block: 100 };
        assert_eq!(t.progress(5), Some(p));
        // The head moves; the catch-up started at 5.
        let p = SyncProgress { starting_block: 5, current_block: 60, highest_block: 100 };
        assert_eq!(t.progress(60), Some(p));
        t.on_status(peer(1), 120, 60);
        assert_eq!(t.progress(61).map(|p| (p.starting_block, p.highest_block)), Some((5, 120)));
        // Caught up: false again, and the next catch-up starts from its own head.
        assert_eq!(t.progress(119), None);
        t.on_status(peer(2), 200, 119);
        assert_eq!(t.progress(119).map(|p| p.starting_block), Some(119));
        // A peer that leaves no longer counts.
        t.on_disconnect(&peer(2));
        assert_eq!(t.progress(119), None);
    }

    #[tokio::test]
    async fn the_watcher_follows_status_and_disconnect_events() {
        use bttc_consensus::{BlockHeight, engine_channel::app::engine::network::Status};
        let dir = tempfile::tempdir().unwrap();
        let db = bttc_storage::DatabaseEnv::open(dir.path(), bttc_storage::DbOptions::ephemeral())
            .unwrap();
        let genesis = crate::dev_genesis(7, &crate::dev_accounts(1), Default::default()).unwrap();
        bttc_chain::init_genesis(&db, &genesis).unwrap();
        let chain = bttc_staking::open_chain(db).unwrap();
        let tracker = Arc::new(SyncTracker::default());
        let args = WatcherArgs { tracker: tracker.clone(), chain };
        let (watcher, handle) = Actor::spawn(None, StatusWatcher, args).await.unwrap();
        let status = Status::new(BlockHeight(40), BlockHeight(0));
        watcher.cast(NetworkEvent::Status(peer(1), status)).unwrap();
        let progress = || tracker.progress(0);
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while progress().is_none() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the status reaches the tracker");
        let want = SyncProgress { starting_block: 0, current_block: 0, highest_block: 40 };
        assert_eq!(progress(), Some(want));
        watcher.cast(NetworkEvent::PeerDisconnected(peer(1))).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(30), async {
            while progress().is_some() {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the disconnect reaches the tracker");
        watcher.stop(None);
        handle.await.unwrap();
    }
}
