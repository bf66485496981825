//! Errors of the storage layer.

use crate::Table;

/// Result alias of this crate.
pub type StorageResult<T> = Result<T, StorageError>;

/// A storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// MDBX itself failed (I/O, map full, corruption detected by MDBX).
    #[error("mdbx: {0}")]
    Mdbx(#[from] signet_libmdbx::MdbxError),
    /// MDBX failed while reading.
    #[error("mdbx read: {0}")]
    Read(#[from] signet_libmdbx::ReadError),
    /// A stored value could not be decoded.
    #[error("table {table}: cannot decode value for key 0x{key}: {reason}")]
    Decode {
        /// Table the value came from.
        table: Table,
        /// Hex of the key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The database directory could not be prepared.
    #[error("database directory {path}: {source}")]
    Io {
        /// Directory.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The database was written by an incompatible version.
    #[error("database schema version {got}, this build reads version {expected}")]
    SchemaVersion {
        /// Version found on disk.
        got: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// A write failed because a test injected the failure (feature `fault-injection`).
    #[error("injected write failure on table {table}")]
    InjectedFault {
        /// The table written.
        table: Table,
    },
    /// An invariant between tables is broken.
    #[error("inconsistent database: {0}")]
    Inconsistent(String),
}

impl StorageError {
    pub(crate) fn decode(table: Table, key: &[u8], reason: impl ToString) -> Self {
        Self::Decode { table, key: alloy_primitives::hex::encode(key), reason: reason.to_string() }
    }
}

impl From<StorageError> for bttc_trie::TrieError {
    fn from(e: StorageError) -> Self {
        Self::Store(e.to_string())
    }
}
