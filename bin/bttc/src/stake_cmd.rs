//! `bttc validator …`, `bttc stake …` and `bttc gov …`: transactions to the staking contracts
//! (`StakeManager` at 0x…1000, `Governance` at 0x…1002) sent over JSON-RPC, and their state
//! read back.
//!
//! Every command signs with `--keystore` + `--password-file` (or `--private-key`), checks the
//! transaction with `eth_estimateGas` first (so a refusal is reported with the contract's own
//! error and nothing is sent), sends it, waits for its receipt and prints the hash and the
//! resulting state (`bttc_getStake` / `bttc_getValidators`).

use crate::keys_cmd;
use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, Bytes, U256, utils::parse_units};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolCall;
use bttc_contracts::{
    GOVERNANCE, STAKE_MANAGER, decode_revert,
    governance::Governance::{self as G, StakingParams},
    stake_manager::StakeManager as SM,
};
use clap::{Args, Subcommand};
use eyre::WrapErr;
use std::path::PathBuf;

/// Who signs and where to send.
#[derive(Debug, Args)]
pub(crate) struct TxArgs {
    /// JSON-RPC endpoint of a node of the chain.
    #[arg(long = "rpc-url", default_value = "http://127.0.0.1:8545")]
    pub(crate) rpc_url: String,
    /// Encrypted keystore of the sending account (the operator, or the delegator).
    #[arg(long, conflicts_with = "private_key")]
    keystore: Option<PathBuf>,
    /// The keystore's password file (else `BTTC_PASSWORD`).
    #[arg(long = "password-file")]
    password_file: Option<PathBuf>,
    /// The sending account's private key (hex); prefer a keystore.
    #[arg(long = "private-key")]
    private_key: Option<String>,
    /// Accept a keystore that group or others can read.
    #[arg(long = "insecure-key-permissions")]
    insecure_key_permissions: bool,
}

impl TxArgs {
    pub(crate) fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        match (&self.keystore, &self.private_key) {
            (Some(path), _) => {
                let password = keys_cmd::password(self.password_file.as_deref())?;
                keys_cmd::load_key(path, &password, self.insecure_key_permissions)
            }
            (None, Some(hex)) => hex
                .trim()
                .parse()
                .map_err(|e| eyre::eyre!("--private-key is not a private key: {e}")),
            (None, None) => {
                eyre::bail!("no signing key: pass --keystore <file> or --private-key <hex>")
            }
        }
    }
}

/// `bttc stake …`.
#[derive(Debug, Subcommand)]
pub(crate) enum StakeCommand {
    /// Delegate BTT to a validator.
    Delegate {
        /// The validator's id (see `bttc validator info`).
        #[arg(long)]
        validator: u64,
        /// BTT to delegate (decimals allowed).
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Start unbonding a delegation; withdraw it after the unbonding period.
    Undelegate {
        /// The validator's id.
        #[arg(long)]
        validator: u64,
        /// BTT to undelegate, or `all`.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Move a delegation to another validator at once.
    Redelegate {
        /// The validator delegated to now.
        #[arg(long)]
        from: u64,
        /// The validator to delegate to.
        #[arg(long)]
        to: u64,
        /// BTT to move, or `all`.
        #[arg(long)]
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Claim the rewards of a delegation (and the commission, for the validator's operator).
    Claim {
        /// The validator's id.
        #[arg(long)]
        validator: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Withdraw every unbonding entry that has matured.
    Withdraw {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// An account's delegations, unbonding entries and rewards.
    Info {
        /// The account.
        #[arg(long)]
        address: Address,
        /// JSON-RPC endpoint.
        #[arg(long = "rpc-url", default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
    },
}

/// `bttc validator …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ValidatorCommand {
    /// Register a validator: the sender becomes its operator and stakes `--stake` BTT; the
    /// consensus key (the one `bttc node --validator-key` runs with) proves it is held.
    Create {
        /// Keystore of the consensus key (from `bttc keys new`).
        #[arg(long = "signer-keystore")]
        signer_keystore: PathBuf,
        /// Its password file (else `BTTC_SIGNER_PASSWORD`).
        #[arg(long = "signer-password-file")]
        signer_password_file: Option<PathBuf>,
        /// Self-stake in BTT.
        #[arg(long)]
        stake: String,
        /// Commission on delegators' rewards, in basis points.
        #[arg(long = "commission-bps", default_value_t = 500)]
        commission_bps: u16,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Change the commission (limited per edit, once per epoch).
    Edit {
        /// The new commission in basis points.
        #[arg(long = "commission-bps")]
        commission_bps: u16,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Ask to be elected again after a jail time.
    Unjail {
        #[command(flatten)]
        tx: TxArgs,
    },
    /// The validator set that signs the latest block.
    Info {
        /// JSON-RPC endpoint.
        #[arg(long = "rpc-url", default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
    },
}

/// BTT (decimals allowed) in wei; `all` when `allow_all`.
pub(crate) fn amount(s: &str, allow_all: bool) -> eyre::Result<U256> {
    if allow_all && s.eq_ignore_ascii_case("all") {
        return Ok(U256::MAX);
    }
    let wei: U256 = parse_units(s.trim(), 18)
        .map_err(|e| eyre::eyre!("amount {s:?} is not a number of BTT: {e}"))?
        .into();
    if wei.is_zero() {
        eyre::bail!("amount {s:?} is zero");
    }
    Ok(wei)
}

pub(crate) fn runtime() -> eyre::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().wrap_err("tokio runtime")
}

/// `--rpc-url` parsed.
pub(crate) fn rpc_url(url: &str) -> eyre::Result<reqwest::Url> {
    url.parse().wrap_err_with(|| format!("--rpc-url {url:?} is not a URL"))
}

/// Reads StakeManager's view `call` with `eth_call`.
async fn view<C: SolCall>(url: &str, call: C) -> eyre::Result<C::Return> {
    let provider = ProviderBuilder::new().connect_http(rpc_url(url)?);
    let req = TransactionRequest::default()
        .with_to(STAKE_MANAGER)
        .with_input(Bytes::from(call.abi_encode()));
    let out = provider.call(req).await.wrap_err_with(|| {
        format!("reading StakeManager.{} (is this a bttc chain with staking?)", C::SIGNATURE)
    })?;
    Ok(C::abi_decode_returns(&out)?)
}

/// Checks, sends and waits for a call to StakeManager; prints what happened.
async fn send(tx: &TxArgs, data: Vec<u8>, value: U256) -> eyre::Result<Address> {
    send_to(tx, STAKE_MANAGER, data, value).await.map(|s| s.from)
}

/// A transaction that was sent and mined.
pub(crate) struct Sent {
    /// Who sent it.
    pub(crate) from: Address,
    /// Its hash.
    pub(crate) hash: alloy_primitives::B256,
}

/// Checks, sends and waits for a call to `to`; prints what happened.
pub(crate) async fn send_to(
    tx: &TxArgs,
    to: Address,
    data: Vec<u8>,
    value: U256,
) -> eyre::Result<Sent> {
    let signer = tx.signer()?;
    let from = signer.address();
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_http(rpc_url(&tx.rpc_url)?);
    let req = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(Bytes::from(data))
        .with_value(value);
    // A refusal is reported with the contract's error before anything is sent; the estimate
    // gets a 25% margin, as the block the transaction lands in may cost more than the
    // state it was estimated on (a staking transaction landing after an epoch's blockEnd).
    let estimate = provider.estimate_gas(req.clone()).await;
    if let Err(e) = estimate {
        let reason = e
            .as_error_resp()
            .and_then(|r| r.as_revert_data())
            .map(|d| decode_revert(&d))
            .unwrap_or_else(|| e.to_string());
        let name = match to {
            GOVERNANCE => "Governance".to_string(),
            STAKE_MANAGER => "StakeManager".to_string(),
            other => format!("the contract at {other}"),
        };
        eyre::bail!("{name} refuses the transaction: {reason}");
    }
    let gas = estimate.expect("refusals returned above");
    let req = req.with_gas_limit(gas.saturating_add(gas / 4));
    let pending = provider.send_transaction(req).await.wrap_err("sending the transaction")?;
    let hash = *pending.tx_hash();
    println!("sent {hash} from {from}");
    let receipt = pending.get_receipt().await.wrap_err("waiting for the receipt")?;
    if !receipt.status() {
        eyre::bail!("transaction {hash} failed in block {:?}", receipt.block_number);
    }
    println!("included in block {}", receipt.block_number.unwrap_or_default());
    Ok(Sent { from, hash })
}

async fn rpc(
    url: &str,
    method: &'static str,
    params: serde_json::Value,
) -> eyre::Result<serde_json::Value> {
    let provider = ProviderBuilder::new().connect_http(rpc_url(url)?);
    let v: serde_json::Value =
        provider.raw_request(method.into(), params).await.wrap_err(method)?;
    if v.is_null() {
        eyre::bail!("{method}: this chain has no staking contract");
    }
    Ok(v)
}

async fn print_stake(url: &str, who: Address) -> eyre::Result<()> {
    let v = rpc(url, "bttc_getStake", serde_json::json!([who, "latest"])).await?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

pub(crate) fn run_stake(cmd: StakeCommand) -> eyre::Result<()> {
    runtime()?.block_on(async move {
        let (tx, data, value) = match cmd {
            StakeCommand::Info { address, rpc_url } => return print_stake(&rpc_url, address).await,
            StakeCommand::Delegate { validator, amount: a, tx } => {
                (tx, SM::delegateCall { id: validator }.abi_encode(), amount(&a, false)?)
            }
            StakeCommand::Undelegate { validator, amount: a, tx } => {
                let data =
                    SM::undelegateCall { id: validator, amount: amount(&a, true)? }.abi_encode();
                (tx, data, U256::ZERO)
            }
            StakeCommand::Redelegate { from, to, amount: a, tx } => {
                let data = SM::redelegateCall { src: from, dst: to, amount: amount(&a, true)? }
                    .abi_encode();
                (tx, data, U256::ZERO)
            }
            StakeCommand::Claim { validator, tx } => {
                (tx, SM::claimRewardsCall { id: validator }.abi_encode(), U256::ZERO)
            }
            StakeCommand::Withdraw { tx } => (tx, SM::withdrawCall {}.abi_encode(), U256::ZERO),
        };
        let from = send(&tx, data, value).await?;
        print_stake(&tx.rpc_url, from).await
    })
}

pub(crate) fn run_validator(cmd: ValidatorCommand) -> eyre::Result<()> {
    runtime()?.block_on(async move {
        let (tx, data, value) = match cmd {
            ValidatorCommand::Info { rpc_url } => {
                let v = rpc(&rpc_url, "bttc_getValidators", serde_json::json!(["latest"])).await?;
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            ValidatorCommand::Create { signer_keystore, signer_password_file, stake, commission_bps, tx } => {
                let password = match signer_password_file {
                    Some(f) => keys_cmd::password(Some(&f))?,
                    None => std::env::var("BTTC_SIGNER_PASSWORD").map_err(|_| {
                        eyre::eyre!("no signer password: pass --signer-password-file or set BTTC_SIGNER_PASSWORD")
                    })?,
                };
                let consensus = keys_cmd::load_key(&signer_keystore, &password, tx.insecure_key_permissions)?;
                let operator = tx.signer()?.address();
                let pop = view(&tx.rpc_url, SM::popHashCall { operator }).await?;
                let sig = bttc_consensus::signing::EthSignature::sign(consensus.credential(), &pop);
                let point = consensus.credential().verifying_key().to_encoded_point(false);
                let data = SM::createValidatorCall {
                    pubkey: Bytes::copy_from_slice(&point.as_bytes()[1..]),
                    proof: Bytes::copy_from_slice(&sig.0),
                    commissionBps: commission_bps,
                }
                .abi_encode();
                println!("consensus signer {}", consensus.address());
                (tx, data, amount(&stake, false)?)
            }
            ValidatorCommand::Edit { commission_bps, tx } => {
                (tx, SM::editCommissionCall { commissionBps: commission_bps }.abi_encode(), U256::ZERO)
            }
            ValidatorCommand::Unjail { tx } => (tx, SM::unjailCall {}.abi_encode(), U256::ZERO),
        };
        let from = send(&tx, data, value).await?;
        print_stake(&tx.rpc_url, from).await
    })
}

/// `bttc gov …`.
#[derive(Debug, Subcommand)]
pub(crate) enum GovCommand {
    /// Propose new staking parameters: the current ones with each `--set` applied.
    Propose {
        /// A parameter to change, `name=value` with the names of `config.bttc` / StakeManager
        /// (`stakingApyBps=1300`, `maxValidators=50`; stakes in wei). Repeat for each.
        #[arg(long = "set", required = true)]
        set: Vec<String>,
        /// What and why, for voters.
        #[arg(long, default_value = "")]
        description: String,
        /// Deposit in BTT (at least 1,000; refunded unless the proposal misses quorum or is
        /// vetoed).
        #[arg(long, default_value = "1000")]
        deposit: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Vote on a proposal: yes, no, veto (NoWithVeto) or abstain.
    Vote {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        /// yes | no | veto | abstain.
        #[arg(long)]
        option: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Count a proposal's votes once its voting period is over, and apply it if it passed.
    Finalize {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Every proposal, with its status and tally.
    Info {
        /// JSON-RPC endpoint.
        #[arg(long = "rpc-url", default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
    },
}

/// The current parameters with `name=value` changes applied.
fn apply_sets(p: SM::paramsReturn, sets: &[String]) -> eyre::Result<StakingParams> {
    let mut q = StakingParams::from(p);
    for s in sets {
        let (name, value) =
            s.split_once('=').ok_or_else(|| eyre::eyre!("--set {s:?}: expected name=value"))?;
        let bad = |e: &dyn std::fmt::Display| eyre::eyre!("--set {s:?}: {e}");
        let v = value.trim();
        match name.trim() {
            "minSelfStake" => q.minSelfStake = v.parse().map_err(|e| bad(&e))?,
            "minDelegation" => q.minDelegation = v.parse().map_err(|e| bad(&e))?,
            "maxValidators" => q.maxValidators = v.parse().map_err(|e| bad(&e))?,
            "minValidators" => q.minValidators = v.parse().map_err(|e| bad(&e))?,
            "epochLength" => q.epochLength = v.parse().map_err(|e| bad(&e))?,
            "unbondingEpochs" => q.unbondingEpochs = v.parse().map_err(|e| bad(&e))?,
            "maxCommissionBps" => q.maxCommissionBps = v.parse().map_err(|e| bad(&e))?,
            "maxCommissionChangeBps" => {
                q.maxCommissionChangeBps = v.parse().map_err(|e| bad(&e))?
            }
            "stakingApyBps" => q.stakingApyBps = v.parse().map_err(|e| bad(&e))?,
            "blocksPerYear" => q.blocksPerYear = v.parse().map_err(|e| bad(&e))?,
            "signedBlocksWindow" => q.signedBlocksWindow = v.parse().map_err(|e| bad(&e))?,
            "downtimeJailBlocks" => q.downtimeJailBlocks = v.parse().map_err(|e| bad(&e))?,
            "downtimeSlashBps" => q.downtimeSlashBps = v.parse().map_err(|e| bad(&e))?,
            "doubleSignSlashBps" => q.doubleSignSlashBps = v.parse().map_err(|e| bad(&e))?,
            "evidenceMaxAge" => q.evidenceMaxAge = v.parse().map_err(|e| bad(&e))?,
            "reporterRewardBps" => q.reporterRewardBps = v.parse().map_err(|e| bad(&e))?,
            other => eyre::bail!("--set {s:?}: unknown parameter {other:?}"),
        }
    }
    Ok(q)
}

async fn print_proposals(url: &str) -> eyre::Result<()> {
    let v = rpc(url, "bttc_getProposals", serde_json::json!(["latest"])).await?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

pub(crate) fn run_gov(cmd: GovCommand) -> eyre::Result<()> {
    runtime()?.block_on(async move {
        let (tx, data, value) = match cmd {
            GovCommand::Info { rpc_url } => return print_proposals(&rpc_url).await,
            GovCommand::Propose { set, description, deposit, tx } => {
                let current = view(&tx.rpc_url, SM::paramsCall {}).await?;
                let params = apply_sets(current, &set)?;
                (
                    tx,
                    G::proposeCall { p: params, description }.abi_encode(),
                    amount(&deposit, false)?,
                )
            }
            GovCommand::Vote { proposal, option, tx } => {
                let option = match option.to_ascii_lowercase().as_str() {
                    "yes" => 1u8,
                    "no" => 2,
                    "veto" | "nowithveto" => 3,
                    "abstain" => 4,
                    other => eyre::bail!("--option {other:?}: expected yes, no, veto or abstain"),
                };
                (tx, G::voteCall { id: U256::from(proposal), option }.abi_encode(), U256::ZERO)
            }
            GovCommand::Finalize { proposal, tx } => {
                (tx, G::finalizeCall { id: U256::from(proposal) }.abi_encode(), U256::ZERO)
            }
        };
        send_to(&tx, GOVERNANCE, data, value).await?;
        print_proposals(&tx.rpc_url).await
    })
}
