//! Opening the MDBX environment and starting transactions.

use crate::{Provider, StorageError, StorageResult, Table, provider::Tables};
use signet_libmdbx::{
    DatabaseFlags, Environment, EnvironmentFlags, Geometry, Mode, Ro, Rw, SyncMode,
};
use std::path::{Path, PathBuf};

/// Schema version written by this build.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Options for opening the database.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Maximum size of the memory map in bytes.
    pub max_size: usize,
    /// Growth step in bytes.
    pub growth_step: usize,
    /// Flush to disk on every commit (durable). When false, commits are atomic but the last
    /// ones may be lost on a power failure (not on a process crash).
    pub durable: bool,
    /// Open read-only.
    pub read_only: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self { max_size: 1 << 40, growth_step: 1 << 28, durable: true, read_only: false }
    }
}

impl DbOptions {
    /// Small geometry for tests and throw-away databases.
    pub fn ephemeral() -> Self {
        Self { max_size: 1 << 34, growth_step: 1 << 22, durable: false, read_only: false }
    }
}

/// Size and entry count of one table.
#[derive(Debug, Clone)]
pub struct TableStats {
    /// The table.
    pub table: Table,
    /// Number of entries.
    pub entries: usize,
    /// Bytes in pages used by the table (branch + leaf + overflow).
    pub size_bytes: u64,
    /// B-tree depth.
    pub depth: u32,
}

/// An open database: the MDBX environment and its table handles.
#[derive(Debug, Clone)]
pub struct DatabaseEnv {
    env: Environment,
    tables: Tables,
    path: PathBuf,
}

impl DatabaseEnv {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path, opts: DbOptions) -> StorageResult<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|source| StorageError::Io { path: dir.display().to_string(), source })?;
        let mut builder = Environment::builder();
        if !opts.read_only {
            // Write straight into the memory map: no separate dirty-page buffers.
            builder.write_map();
        }
        builder
            .set_max_dbs(Table::ALL.len() + 4)
            .set_max_readers(4096)
            .set_geometry(Geometry {
                size: Some(0..opts.max_size),
                growth_step: Some(opts.growth_step as isize),
                shrink_threshold: Some(0),
                page_size: None,
            })
            .set_flags(EnvironmentFlags {
                mode: if opts.read_only {
                    Mode::ReadOnly
                } else {
                    Mode::ReadWrite {
                        sync_mode: if opts.durable {
                            SyncMode::Durable
                        } else {
                            SyncMode::SafeNoSync
                        },
                    }
                },
                no_rdahead: true,
                coalesce: true,
                ..Default::default()
            });
        let env = builder.open(dir)?;
        let tables = if opts.read_only {
            let tx = env.begin_ro_unsync()?;
            let mut handles = Vec::with_capacity(Table::ALL.len());
            for t in Table::ALL {
                handles.push(tx.open_db(Some(t.name()))?);
            }
            Tables::new(handles)
        } else {
            let tx = env.begin_rw_unsync()?;
            let mut handles = Vec::with_capacity(Table::ALL.len());
            for t in Table::ALL {
                handles.push(tx.create_db(Some(t.name()), DatabaseFlags::empty())?);
            }
            tx.commit()?;
            Tables::new(handles)
        };
        let db = Self { env, tables, path: dir.to_path_buf() };
        db.check_schema()?;
        Ok(db)
    }

    fn check_schema(&self) -> StorageResult<()> {
        let ro = self.ro()?;
        match ro.meta_u64(crate::provider::META_SCHEMA)? {
            Some(v) if v as u32 != SCHEMA_VERSION => {
                Err(StorageError::SchemaVersion { got: v as u32, expected: SCHEMA_VERSION })
            }
            Some(_) => Ok(()),
            None => {
                drop(ro);
                if self.env.is_read_only().unwrap_or(true) {
                    return Ok(());
                }
                let rw = self.rw()?;
                rw.put_meta(crate::provider::META_SCHEMA, &(SCHEMA_VERSION as u64).to_be_bytes())?;
                rw.commit()
            }
        }
    }

    /// Makes a write to `table` fail after `after` more writes to it succeed (once), in
    /// every provider of this environment: crash-safety tests use it to fail a block in the
    /// middle of being written.
    #[cfg(feature = "fault-injection")]
    pub fn inject_write_fault(&self, table: Table, after: u64) {
        self.tables.faults.arm(table, after);
    }

    /// Directory of the environment.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a read-only transaction.
    pub fn ro(&self) -> StorageResult<Provider<Ro>> {
        Ok(Provider::new(self.env.begin_ro_unsync()?, self.tables.clone()))
    }

    /// Starts the (single) read-write transaction; blocks while another one is open.
    pub fn rw(&self) -> StorageResult<Provider<Rw>> {
        Ok(Provider::new(self.env.begin_rw_unsync()?, self.tables.clone()))
    }

    /// Entry counts and sizes of every table.
    pub fn stats(&self) -> StorageResult<Vec<TableStats>> {
        let ro = self.ro()?;
        Table::ALL.iter().map(|t| ro.table_stats(*t)).collect()
    }

    /// Bytes of the data file.
    pub fn file_size(&self) -> u64 {
        std::fs::metadata(self.path.join("mdbx.dat")).map(|m| m.len()).unwrap_or(0)
    }
}
