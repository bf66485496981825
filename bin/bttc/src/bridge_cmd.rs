//! `bttc bridge …`: withdrawals from bttc to a root chain.
//!
//! - `withdraw`: burns a bridged token (`--token <ChildERC20>`) or locks native BTT
//!   (`--token btt`) on bttc; the receipt's `WithdrawTo` log is the withdrawal.
//! - `status`: where a withdrawal stands: waiting for a checkpoint, ready to exit on a root
//!   (its header block id), exited.
//! - `exit`: asks a bttc node for the exit payload (`bttc_getExitPayload`) and sends
//!   `RootChainManager.exit(payload)` on the root; an exit already made is reported, not sent.
//!
//! Deposits (root to bttc) come with the node's delivery of root records; see docs/bridge.md.

use crate::stake_cmd::{TxArgs, amount, rpc_url, runtime, send_to};
use alloy_network::TransactionBuilder;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_sol_types::SolCall;
use bttc_contracts::{
    BTT_TOKEN,
    bridge::{ChildERC20, RootChainManager as RCM},
    btt::BTT,
};
use clap::Subcommand;
use eyre::WrapErr;

/// `bttc bridge …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BridgeCommand {
    /// Withdraw to a root chain: burn a bridged token, or lock native BTT, on bttc (`--rpc-url`
    /// is the bttc node). Exit on the root once a checkpoint covers it (`bttc bridge exit`).
    Withdraw {
        /// `btt` for native BTT, or the bridged token's address on bttc.
        #[arg(long)]
        token: String,
        /// Amount in whole tokens of 18 decimals (decimals allowed).
        #[arg(long)]
        amount: String,
        /// Who receives it on the root chain (default: the sender).
        #[arg(long)]
        to: Option<Address>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Where a withdrawal stands.
    Status {
        /// The withdrawal's transaction on bttc.
        #[arg(long = "tx")]
        tx_hash: B256,
        /// A bttc node's JSON-RPC.
        #[arg(long = "child-rpc", default_value = "http://127.0.0.1:8545")]
        child_rpc: String,
        /// The root chain's JSON-RPC, to tell whether the exit was made.
        #[arg(long = "rpc-url")]
        rpc_url: Option<String>,
        /// `RootChainManager` on that root.
        #[arg(long)]
        manager: Option<Address>,
        /// The root's name on the bttc node (default: the first it knows the checkpoint on).
        #[arg(long)]
        root: Option<String>,
    },
    /// Exit a withdrawal on a root chain (`--rpc-url` is the root; the caller pays the gas,
    /// the tokens go to the withdrawal's recipient).
    Exit {
        /// The withdrawal's transaction on bttc.
        #[arg(long = "tx")]
        tx_hash: B256,
        /// A bttc node's JSON-RPC.
        #[arg(long = "child-rpc", default_value = "http://127.0.0.1:8545")]
        child_rpc: String,
        /// `RootChainManager` on the root.
        #[arg(long)]
        manager: Address,
        /// The root's name on the bttc node (default: the first it knows the checkpoint on).
        #[arg(long)]
        root: Option<String>,
        /// The log to exit, by its index in the receipt (default: the first `WithdrawTo`).
        #[arg(long = "log-index")]
        log_index: Option<u64>,
        #[command(flatten)]
        tx: TxArgs,
    },
}

/// `WithdrawTo(address,address,uint256)`: BTTC's burn event.
fn withdraw_to_sig() -> B256 {
    keccak256("WithdrawTo(address,address,uint256)")
}

/// The index (within its receipt) of the first `WithdrawTo` log of `tx`, and its block.
async fn withdrawal_log(child: &str, tx: B256) -> eyre::Result<(u64, u64)> {
    let p = ProviderBuilder::new().connect_http(rpc_url(child)?);
    let r = p
        .get_transaction_receipt(tx)
        .await
        .wrap_err("--child-rpc: eth_getTransactionReceipt")?
        .ok_or_else(|| eyre::eyre!("transaction {tx} is not on the bttc chain at {child}"))?;
    let block = r.block_number.unwrap_or_default();
    let i = r
        .inner
        .logs()
        .iter()
        .position(|l| l.topics().first() == Some(&withdraw_to_sig()))
        .ok_or_else(|| {
            eyre::eyre!("transaction {tx} logs no WithdrawTo: it is not a withdrawal")
        })?;
    Ok((i as u64, block))
}

/// `bttc_getExitPayload`: `Ok(Err(reason))` while it is not ready.
async fn exit_payload(
    child: &str,
    tx: B256,
    log: u64,
    root: &Option<String>,
) -> eyre::Result<Result<serde_json::Value, String>> {
    let p = ProviderBuilder::new().connect_http(rpc_url(child)?);
    let params = match root {
        Some(r) => serde_json::json!([tx, log, r]),
        None => serde_json::json!([tx, log]),
    };
    match p.raw_request::<_, serde_json::Value>("bttc_getExitPayload".into(), params).await {
        Ok(v) if v.is_null() => eyre::bail!("transaction {tx} is unknown to {child}"),
        Ok(v) => Ok(Ok(v)),
        Err(e) => match e.as_error_resp() {
            Some(resp) if resp.code == -32000 => Ok(Err(resp.message.to_string())),
            _ => Err(e).wrap_err("--child-rpc: bttc_getExitPayload"),
        },
    }
}

/// Whether `RootChainManager` at `manager` has done exit `id`.
async fn exited(root: &str, manager: Address, id: B256) -> eyre::Result<bool> {
    let p = ProviderBuilder::new().connect_http(rpc_url(root)?);
    let req = TransactionRequest::default()
        .with_to(manager)
        .with_input(Bytes::from(RCM::processedExitsCall(id).abi_encode()));
    let out = p.call(req).await.wrap_err("root: RootChainManager.processedExits")?;
    Ok(RCM::processedExitsCall::abi_decode_returns(&out)?)
}

pub(crate) fn run(cmd: BridgeCommand) -> eyre::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            BridgeCommand::Withdraw { token, amount: a, to, tx } => {
                let wei = amount(&a, false)?;
                let to = match to {
                    Some(t) => t,
                    None => tx.signer()?.address(),
                };
                let sent = if token.eq_ignore_ascii_case("btt") {
                    let call = BTT::withdrawToCall { to, amount: wei };
                    send_to(&tx, BTT_TOKEN, call.abi_encode(), wei).await?
                } else {
                    let addr: Address =
                        token.parse().wrap_err("--token is neither `btt` nor an address")?;
                    let call = ChildERC20::withdrawToCall { to, amount: wei };
                    send_to(&tx, addr, call.abi_encode(), U256::ZERO).await?
                };
                println!(
                    "withdrawal {} of {a} to {to}: exit on the root once a checkpoint covers it \
                     (bttc bridge status --tx {0} --child-rpc {1})",
                    sent.hash, tx.rpc_url
                );
            }
            BridgeCommand::Status { tx_hash, child_rpc, rpc_url: root_rpc, manager, root } => {
                let (log, block) = withdrawal_log(&child_rpc, tx_hash).await?;
                let mut out = serde_json::json!({
                    "transaction": tx_hash, "block": block, "logIndex": log,
                });
                match exit_payload(&child_rpc, tx_hash, log, &root).await? {
                    Err(reason) => {
                        out["status"] = "waiting for a checkpoint".into();
                        out["reason"] = reason.into();
                    }
                    Ok(p) => {
                        out["status"] = "ready to exit".into();
                        out["root"] = p["root"].clone();
                        out["headerBlockId"] = p["headerBlockId"].clone();
                        out["checkpoint"] = p["checkpoint"].clone();
                        out["exitId"] = p["exitId"].clone();
                        if let (Some(url), Some(m)) = (&root_rpc, manager) {
                            let id: B256 = serde_json::from_value(p["exitId"].clone())?;
                            if exited(url, m, id).await? {
                                out["status"] = "exited".into();
                            }
                        }
                    }
                }
                println!("{}", serde_json::to_string_pretty(&out)?);
            }
            BridgeCommand::Exit { tx_hash, child_rpc, manager, root, log_index, tx } => {
                let log = match log_index {
                    Some(i) => i,
                    None => withdrawal_log(&child_rpc, tx_hash).await?.0,
                };
                let p = match exit_payload(&child_rpc, tx_hash, log, &root).await? {
                    Ok(p) => p,
                    Err(reason) => eyre::bail!("not ready to exit yet: {reason}"),
                };
                let id: B256 = serde_json::from_value(p["exitId"].clone())?;
                if exited(&tx.rpc_url, manager, id).await? {
                    eyre::bail!("withdrawal {tx_hash} (log {log}) has already exited (exit {id})");
                }
                let payload: Bytes = serde_json::from_value(p["payload"].clone())?;
                println!(
                    "exiting {tx_hash} log {log} against checkpoint {} on root {}",
                    p["headerBlockId"], p["root"]
                );
                send_to(&tx, manager, RCM::exitCall { payload }.abi_encode(), U256::ZERO).await?;
                println!("exited: {id}");
            }
        }
        Ok(())
    })
}
