//! Gossipsub peer scoring of the transaction topic: a peer that relays transactions this node
//! rejects as malformed (`Reject`) loses score, quadratically in the number of them; below
//! the gossip, publish and graylist thresholds it gets no gossip, is not published to, and
//! is ignored altogether. Delivering valid transactions first earns a little credit. Mesh
//! delivery rates are not scored: transaction traffic comes in bursts, and an idle network
//! must not penalise anyone.

use libp2p::gossipsub::{PeerScoreParams, PeerScoreThresholds, TopicHash, TopicScoreParams};
use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

/// Score lost per rejected message, times the square of their (decaying) count: with the
/// default thresholds (gossip -10, publish -50, graylist -80) two malformed messages (-40)
/// cost the peer gossip, three (-90) make it ignored altogether.
pub const INVALID_MESSAGE_WEIGHT: f64 = -10.0;
/// Per-second decay of the count of rejected messages: about ten minutes to forget five.
pub const INVALID_MESSAGE_DECAY: f64 = 0.999;

/// The scoring parameters for the transaction topic `topic`.
pub fn peer_score_params(topic: TopicHash) -> PeerScoreParams {
    let topic_params = TopicScoreParams {
        topic_weight: 1.0,
        time_in_mesh_weight: 0.0,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 0.0,
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.9,
        first_message_deliveries_cap: 50.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 1.0,
        mesh_message_deliveries_threshold: 1.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: Duration::from_secs(5),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: INVALID_MESSAGE_DECAY,
    };
    PeerScoreParams {
        topics: [(topic, topic_params)].into_iter().collect(),
        // Many peers on one address are suspicious, except on this machine (local networks,
        // tests).
        ip_colocation_factor_whitelist: [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

/// The thresholds (libp2p's defaults, which the weights above are scaled to).
pub fn peer_score_thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use libp2p::gossipsub::IdentTopic;

    #[test]
    fn the_parameters_are_valid_and_three_rejections_graylist() {
        let params = peer_score_params(IdentTopic::new("/t").hash());
        params.validate().unwrap();
        peer_score_thresholds().validate().unwrap();
        let t = peer_score_thresholds();
        let score = |n: f64| INVALID_MESSAGE_WEIGHT * n * n;
        assert!(score(2.0) < t.gossip_threshold && score(2.0) > t.graylist_threshold);
        assert!(score(3.0) < t.graylist_threshold);
    }
}
