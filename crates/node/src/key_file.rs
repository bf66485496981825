//! Files holding secret keys (keystores, `node.key`): created readable by their owner only
//! (0600, in 0700 directories) from the first byte, and refused when group or others can
//! access them, unless the operator insists.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

/// A key file could not be written or may not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Group or others can access the file.
    #[error(
        "{path} is accessible by group or others (mode {mode:04o}); run `chmod 600 {path}`, or pass --insecure-key-permissions to use it anyway",
        path = path.display()
    )]
    Insecure {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Reading, creating or writing failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError + '_ {
    move |source| KeyFileError::Io { path: path.to_path_buf(), source }
}

/// Creates `dir` and its missing parents, each new one with mode 0700 (existing ones are
/// left as they are).
pub fn create_private_dir(dir: &Path) -> Result<(), KeyFileError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(io(dir))
}

/// Creates `path` with mode 0600 (it must not exist yet) and returns it open for writing.
pub fn create_private_file(path: &Path) -> Result<std::fs::File, KeyFileError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(io(path))
}

/// Writes `bytes` to a new file at `path` with mode 0600 (it must not exist yet).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let mut f = create_private_file(path)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(io(path))
}

/// Refuses `path` if group or others can access it, unless `allow_insecure` (then it only
/// warns).
pub fn check_private_file(path: &Path, allow_insecure: bool) -> Result<(), KeyFileError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            if !allow_insecure {
                return Err(KeyFileError::Insecure { path: path.to_path_buf(), mode });
            }
            tracing::warn!(target: "bttc::keys", path = %path.display(), mode = format!("{mode:04o}"), "using a key file others can access (--insecure-key-permissions)");
        }
    }
    #[cfg(not(unix))]
    let _ = (meta, allow_insecure);
    Ok(())
}

/// Reads a key file after [`check_private_file`].
pub fn read_private_file(path: &Path, allow_insecure: bool) -> Result<Vec<u8>, KeyFileError> {
    check_private_file(path, allow_insecure)?;
    std::fs::read(path).map_err(io(path))
}
