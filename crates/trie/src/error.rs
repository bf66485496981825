//! Errors of the trie.

/// A trie operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrieError {
    /// The store failed.
    #[error("trie store: {0}")]
    Store(String),
    /// A stored node could not be decoded.
    #[error("corrupt trie node at path {path} (owner {owner}): {reason}")]
    Corrupt {
        /// Nibble path, hex.
        path: String,
        /// Storage-trie owner, or "account trie".
        owner: String,
        /// What is wrong.
        reason: String,
    },
    /// A parent references a child that is not stored.
    #[error("missing trie node at path {path} (owner {owner}) referenced by its parent")]
    MissingNode {
        /// Nibble path, hex.
        path: String,
        /// Storage-trie owner, or "account trie".
        owner: String,
    },
    /// A stored account leaf is not a valid account RLP.
    #[error("account leaf {key} does not decode: {reason}")]
    BadAccountLeaf {
        /// Hashed address.
        key: String,
        /// Why.
        reason: String,
    },
}
