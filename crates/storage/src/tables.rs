//! The table list and key encodings.

use alloy_primitives::{Address, B256};

macro_rules! tables {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// Every table of the database.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Table {
            $($(#[$doc])* $name,)*
        }

        impl Table {
            /// All tables, in declaration order.
            pub const ALL: &'static [Table] = &[$(Table::$name,)*];

            /// The MDBX name of the table.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Table::$name => stringify!($name),)*
                }
            }
        }
    };
}

tables! {
    /// Named values: genesis, head, schema version.
    Meta,
    /// Block number → RLP header.
    Headers,
    /// Block number → canonical block hash.
    CanonicalHashes,
    /// Block hash → block number.
    HeaderNumbers,
    /// Block number → first transaction number (8) ‖ transaction count (8).
    BlockBodyIndices,
    /// Block number → RLP list of ommer headers (only when non-empty).
    BlockOmmers,
    /// Block number → RLP list of withdrawals (only for blocks that carry the field).
    BlockWithdrawals,
    /// Transaction number → EIP-2718 encoded transaction.
    Transactions,
    /// Transaction number → recovered sender.
    TransactionSenders,
    /// Transaction hash → transaction number.
    TransactionHashNumbers,
    /// Last transaction number of a block → block number.
    TransactionBlocks,
    /// Transaction number → EIP-2718 encoded receipt.
    Receipts,
    /// Code hash → bytecode.
    Bytecodes,
    /// Address → account.
    PlainAccountState,
    /// Address ‖ slot → value (big-endian, no leading zeros).
    PlainStorageState,
    /// Block ‖ address → account before the block (0x00 = did not exist, 0x01 ‖ account).
    AccountChangeSets,
    /// Block ‖ address ‖ slot → value before the block.
    StorageChangeSets,
    /// Address ‖ block: the account changed in that block.
    AccountsHistory,
    /// Address ‖ slot ‖ block: the slot changed in that block.
    StoragesHistory,
    /// Account-trie node path → node.
    AccountsTrie,
    /// Hashed address ‖ node path → storage-trie node.
    StoragesTrie,
    /// Block number → the commit certificate that decided it (consensus codec).
    Certificates,
    /// Height ‖ block hash → a proposed, not yet decided block with its proposal metadata
    /// (consensus-owned encoding); pruned once the height is decided.
    ProposedBlocks,
    /// Epoch number → the validator set that runs it, with its first height and starting
    /// proposer priorities (staking-owned encoding).
    EpochSets,
    /// Last block of a checkpoint → the checkpoint with the signatures gathered for it
    /// (checkpoint-owned encoding).
    Checkpoints,
    /// Block number → RLP list of the logs its system calls emitted for users (state-sync
    /// deliveries; only for blocks that have some).
    SystemLogs,
}

impl core::fmt::Display for Table {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn num_key(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub(crate) fn decode_num(table: Table, b: &[u8]) -> crate::StorageResult<u64> {
    let arr: [u8; 8] = b
        .try_into()
        .map_err(|_| crate::StorageError::decode(table, b, "expected 8-byte number"))?;
    Ok(u64::from_be_bytes(arr))
}

pub(crate) fn storage_key(addr: &Address, slot: &B256) -> [u8; 52] {
    let mut k = [0u8; 52];
    k[..20].copy_from_slice(addr.as_slice());
    k[20..].copy_from_slice(slot.as_slice());
    k
}

pub(crate) fn trie_path_key(path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 1);
    k.push(path.len() as u8);
    k.extend_from_slice(path);
    k
}

pub(crate) fn storage_trie_key(owner: &B256, path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33 + path.len());
    k.extend_from_slice(owner.as_slice());
    k.push(path.len() as u8);
    k.extend_from_slice(path);
    k
}

/// Big-endian without leading zeros (empty for zero).
pub(crate) fn encode_u256(v: &alloy_primitives::U256) -> Vec<u8> {
    let b = v.to_be_bytes::<32>();
    let z = b.iter().position(|x| *x != 0).unwrap_or(32);
    b[z..].to_vec()
}

pub(crate) fn decode_u256(
    table: Table,
    key: &[u8],
    b: &[u8],
) -> crate::StorageResult<alloy_primitives::U256> {
    if b.len() > 32 {
        return Err(crate::StorageError::decode(
            table,
            key,
            format!("value of {} bytes exceeds 32", b.len()),
        ));
    }
    Ok(alloy_primitives::U256::from_be_slice(b))
}
