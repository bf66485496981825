//! `bttc keys new` and the keystore helpers the node and the devnet use.
//!
//! Keystores are written 0600 into 0700 directories from the start and are refused when
//! group or others can access them (`--insecure-key-permissions` overrides); `keys new`
//! refuses an empty password unless `--allow-empty-password`.

use alloy_signer_local::PrivateKeySigner;
use bttc_node::key_file;
use clap::{Args, Subcommand};
use eyre::WrapErr;
use std::path::{Path, PathBuf};

/// `bttc keys`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new secp256k1 key in an encrypted keystore (Ethereum keystore v3 JSON).
    New(NewKeyArgs),
    /// Decrypt a keystore and print its address and public key.
    Inspect {
        /// The keystore file.
        keystore: PathBuf,
        /// File holding the password.
        #[arg(long = "password-file")]
        password_file: Option<PathBuf>,
        /// Use a keystore that group or others can access.
        #[arg(long = "insecure-key-permissions")]
        insecure_key_permissions: bool,
    },
}

/// Options of `bttc keys new`.
#[derive(Debug, Args)]
pub(crate) struct NewKeyArgs {
    /// Directory to write the keystore into (created with mode 0700).
    #[arg(long = "keystore-dir", default_value = "keystore")]
    dir: PathBuf,
    /// File name of the keystore (default: a UUID); an existing file is never overwritten.
    #[arg(long)]
    name: Option<String>,
    /// File holding the password (else the BTTC_PASSWORD environment variable).
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    /// Accept an empty password (the keystore is then as good as unencrypted).
    #[arg(long = "allow-empty-password")]
    allow_empty_password: bool,
}

/// The keystore password: the file's first line, else `BTTC_PASSWORD`.
pub(crate) fn password(file: Option<&Path>) -> eyre::Result<String> {
    if let Some(f) = file {
        let s = std::fs::read_to_string(f)
            .wrap_err_with(|| format!("cannot read password file {}", f.display()))?;
        return Ok(s.lines().next().unwrap_or_default().to_string());
    }
    std::env::var("BTTC_PASSWORD")
        .map_err(|_| eyre::eyre!("no password: pass --password-file <file> or set BTTC_PASSWORD"))
}

/// Decrypts a keystore, refusing it if group or others can access it (unless
/// `allow_insecure`).
pub(crate) fn load_key(
    keystore: &Path,
    password: &str,
    allow_insecure: bool,
) -> eyre::Result<PrivateKeySigner> {
    key_file::check_private_file(keystore, allow_insecure)?;
    PrivateKeySigner::decrypt_keystore(keystore, password)
        .map_err(|e| eyre::eyre!("cannot decrypt keystore {}: {e}", keystore.display()))
}

/// Writes a new random key into `dir/name` (a new file, mode 0600; `dir` is created 0700);
/// returns the signer and the file path.
pub(crate) fn new_key(
    dir: &Path,
    name: Option<&str>,
    password: &str,
) -> eyre::Result<(PrivateKeySigner, PathBuf)> {
    write_key(dir, name, password, None)
}

/// Writes `key` (32 bytes) into the keystore `dir/name`, as [`new_key`] does a random one.
pub(crate) fn import_key(
    dir: &Path,
    name: &str,
    key: &[u8],
    password: &str,
) -> eyre::Result<(PrivateKeySigner, PathBuf)> {
    write_key(dir, Some(name), password, Some(key))
}

fn write_key(
    dir: &Path,
    name: Option<&str>,
    password: &str,
    key: Option<&[u8]>,
) -> eyre::Result<(PrivateKeySigner, PathBuf)> {
    key_file::create_private_dir(dir)?;
    let name = name.map_or_else(uuid_v4, str::to_string);
    let path = dir.join(&name);
    // The file is created here, private, before a byte of the key is in it; the keystore
    // writer then fills it (it truncates and writes, keeping the mode).
    drop(key_file::create_private_file(&path)?);
    let rng = &mut rand08::thread_rng();
    let written = match key {
        None => PrivateKeySigner::new_keystore(dir, rng, password, Some(&name)).map(|(s, _)| s),
        Some(k) => {
            PrivateKeySigner::encrypt_keystore(dir, rng, k, password, Some(&name)).map(|(s, _)| s)
        }
    };
    match written {
        Ok(signer) => Ok((signer, path)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(eyre::eyre!("cannot write keystore {}: {e}", path.display()))
        }
    }
}

/// A random UUID (version 4) in its text form, the keystore writer's default file name.
fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand08::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = alloy_primitives::hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The compressed SEC1 public key of a signer, hex.
pub(crate) fn public_key_hex(signer: &PrivateKeySigner) -> String {
    let point = signer.credential().verifying_key().to_encoded_point(true);
    format!("0x{}", alloy_primitives::hex::encode(point.as_bytes()))
}

pub(crate) fn run(cmd: KeysCommand) -> eyre::Result<()> {
    match cmd {
        KeysCommand::New(a) => {
            let pw = password(a.password_file.as_deref())?;
            if pw.is_empty() && !a.allow_empty_password {
                eyre::bail!(
                    "refusing an empty password (anyone who gets the keystore gets the key): \
                     put one in --password-file or BTTC_PASSWORD, or pass --allow-empty-password"
                );
            }
            let (signer, path) = new_key(&a.dir, a.name.as_deref(), &pw)?;
            println!("address:    {}", signer.address());
            println!("public key: {}", public_key_hex(&signer));
            println!("keystore:   {}", path.display());
        }
        KeysCommand::Inspect { keystore, password_file, insecure_key_permissions } => {
            let pw = password(password_file.as_deref())?;
            let signer = load_key(&keystore, &pw, insecure_key_permissions)?;
            println!("address:    {}", signer.address());
            println!("public key: {}", public_key_hex(&signer));
        }
    }
    Ok(())
}
