//! Which chain a swarm serves. Every protocol name and gossip topic of both of a node's swarms
//! (Malachite's consensus swarm and the transaction-gossip swarm) is derived from the chain id
//! and the genesis hash, so that nodes of two networks never take each other for peers: a
//! peer that identifies with another chain's protocol version is dropped at the handshake,
//! and the per-chain stream protocols (gossipsub, sync, discovery) do not even negotiate.

use alloy_primitives::B256;

/// The chain a node serves: its chain id and genesis block hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainIdentity {
    /// The chain id (EIP-155).
    pub chain_id: u64,
    /// The hash of block 0.
    pub genesis_hash: B256,
}

impl ChainIdentity {
    /// `chain_id` with genesis `genesis_hash`.
    pub const fn new(chain_id: u64, genesis_hash: B256) -> Self {
        Self { chain_id, genesis_hash }
    }

    /// The prefix of every protocol name and topic of this chain:
    /// `/bttc/<chain id>/<first 8 bytes of the genesis hash, hex>`, at most 43 bytes (so that
    /// a name under it fits libp2p-scatter's 64-byte topics).
    pub fn prefix(&self) -> String {
        format!(
            "/bttc/{}/{}",
            self.chain_id,
            alloy_primitives::hex::encode(&self.genesis_hash[..8])
        )
    }

    /// `<prefix>/<name>`.
    pub fn protocol(&self, name: &str) -> String {
        format!("{}/{name}", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_differ_by_chain_id_and_by_genesis() {
        let a = ChainIdentity::new(4242, B256::repeat_byte(0xab));
        assert_eq!(a.protocol("txs/1"), "/bttc/4242/abababababababab/txs/1");
        let other_genesis = ChainIdentity::new(4242, B256::repeat_byte(0xac));
        let other_id = ChainIdentity::new(4243, B256::repeat_byte(0xab));
        assert_ne!(a.prefix(), other_genesis.prefix());
        assert_ne!(a.prefix(), other_id.prefix());
        assert!(ChainIdentity::new(u64::MAX, B256::ZERO).prefix().len() <= 43);
    }
}
