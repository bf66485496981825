//! `bttc keys new` and the keystore helpers the node and the devnet use.

use alloy_signer_local::PrivateKeySigner;
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
    },
}

/// Options of `bttc keys new`.
#[derive(Debug, Args)]
pub(crate) struct NewKeyArgs {
    /// Directory to write the keystore into.
    #[arg(long = "keystore-dir", default_value = "keystore")]
    dir: PathBuf,
    /// File name of the keystore (default: a UUID).
    #[arg(long)]
    name: Option<String>,
    /// File holding the password (else the BTTC_PASSWORD environment variable).
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
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

/// Decrypts a keystore.
pub(crate) fn load_key(keystore: &Path, password: &str) -> eyre::Result<PrivateKeySigner> {
    PrivateKeySigner::decrypt_keystore(keystore, password)
        .map_err(|e| eyre::eyre!("cannot decrypt keystore {}: {e}", keystore.display()))
}

/// Writes a new random key into `dir/name`; returns the signer and the file path.
pub(crate) fn new_key(
    dir: &Path,
    name: Option<&str>,
    password: &str,
) -> eyre::Result<(PrivateKeySigner, PathBuf)> {
    std::fs::create_dir_all(dir).wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    let (signer, file) =
        PrivateKeySigner::new_keystore(dir, &mut rand08::thread_rng(), password, name)
            .map_err(|e| eyre::eyre!("cannot write keystore: {e}"))?;
    Ok((signer, dir.join(file)))
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
            let (signer, path) = new_key(&a.dir, a.name.as_deref(), &pw)?;
            println!("address:    {}", signer.address());
            println!("public key: {}", public_key_hex(&signer));
            println!("keystore:   {}", path.display());
        }
        KeysCommand::Inspect { keystore, password_file } => {
            let pw = password(password_file.as_deref())?;
            let signer = load_key(&keystore, &pw)?;
            println!("address:    {}", signer.address());
            println!("public key: {}", public_key_hex(&signer));
        }
    }
    Ok(())
}
