//! `bttc bridge …`: deposits from a root chain to bttc, withdrawals back.
//!
//! - `deposit`: locks a root token (or the root's BTT token, `--token btt`) in the root's
//!   predicate with `RootChainManager.depositFor`; the `StateSynced` record it emits is
//!   delivered on bttc by the validators once the root block is final. With `--child-rpc`
//!   the command waits until bttc has it.
//! - `withdraw`: burns a bridged token (`--token <ChildERC20>`) or locks native BTT
//!   (`--token btt`) on bttc; the receipt's `WithdrawTo` log is the withdrawal.
//! - `status`: where a withdrawal stands: waiting for a checkpoint, ready to exit on a root
//!   (its header block id), exited.
//! - `exit`: asks a bttc node for the exit payload (`bttc_getExitPayload`) and sends
//!   `RootChainManager.exit(payload)` on the root; an exit already made is reported, not sent.
//!
//! docs/bridge.md has the whole path.

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
    /// Deposit to bttc from a root chain (`--rpc-url` is the root): approve the predicate and
    /// call `RootChainManager.depositFor`; with `--child-rpc`, wait for the credit on bttc.
    Deposit {
        /// `btt` for the root token mapped to bttc's native BTT, `eth` for the root chain's
        /// native coin (`depositEtherFor`), or a root token's address.
        #[arg(long)]
        token: String,
        /// Amount in whole tokens of 18 decimals (decimals allowed).
        #[arg(long)]
        amount: String,
        /// Who receives it on bttc (default: the sender).
        #[arg(long)]
        to: Option<Address>,
        /// `RootChainManager` on the root.
        #[arg(long)]
        manager: Address,
        /// A bttc node's JSON-RPC: wait (at most `--wait-secs`) until the deposit is delivered.
        #[arg(long = "child-rpc")]
        child_rpc: Option<String>,
        /// How long to wait for the credit on bttc.
        #[arg(long = "wait-secs", default_value_t = 120)]
        wait_secs: u64,
        #[command(flatten)]
        tx: TxArgs,
    },
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

/// A view call on `to` at the chain at `url`.
async fn view<C: SolCall>(url: &str, to: Address, call: C) -> eyre::Result<C::Return> {
    let p = ProviderBuilder::new().connect_http(rpc_url(url)?);
    let req = TransactionRequest::default().with_to(to).with_input(Bytes::from(call.abi_encode()));
    let out = p.call(req).await.wrap_err_with(|| format!("{url}: eth_call {}", C::SIGNATURE))?;
    Ok(C::abi_decode_returns(&out)?)
}

/// Locks `wei` of `token` on the root and returns the root's chain id and the deposit's
/// state-sync id.
async fn deposit(
    tx: &TxArgs,
    manager: Address,
    token: &str,
    wei: U256,
    to: Address,
) -> eyre::Result<(u64, u64)> {
    use alloy_sol_types::SolEvent;
    use bttc_contracts::{bridge::DevToken, state_sync::StateSender::StateSynced};
    let ether = token.eq_ignore_ascii_case("eth");
    let root_token = if ether {
        crate::devnet_root::ETHER_ADDRESS
    } else if token.eq_ignore_ascii_case("btt") {
        let t = view(&tx.rpc_url, manager, RCM::childToRootTokenCall(BTT_TOKEN)).await?;
        eyre::ensure!(!t.is_zero(), "no root token is mapped to bttc's BTT on this root");
        t
    } else {
        token.parse().wrap_err("--token is neither `btt` nor an address")?
    };
    let child = view(&tx.rpc_url, manager, RCM::rootToChildTokenCall(root_token)).await?;
    eyre::ensure!(!child.is_zero(), "root token {root_token} is not mapped to a bttc token");
    let sent = if ether {
        send_to(tx, manager, RCM::depositEtherForCall { user: to }.abi_encode(), wei).await?
    } else {
        let predicate = view(&tx.rpc_url, manager, RCM::predicateCall {}).await?;
        let approve = DevToken::approveCall { spender: predicate, amount: wei };
        println!("approving the predicate {predicate} for {wei} wei of {root_token}");
        send_to(tx, root_token, approve.abi_encode(), U256::ZERO).await?;
        let data = Bytes::from(alloy_sol_types::SolValue::abi_encode(&wei));
        let call = RCM::depositForCall { user: to, rootToken: root_token, depositData: data };
        send_to(tx, manager, call.abi_encode(), U256::ZERO).await?
    };
    let p = ProviderBuilder::new().connect_http(rpc_url(&tx.rpc_url)?);
    let receipt = p
        .get_transaction_receipt(sent.hash)
        .await?
        .ok_or_else(|| eyre::eyre!("the root lost the deposit's receipt {}", sent.hash))?;
    let id = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| StateSynced::decode_log_data(&l.inner.data).ok())
        .ok_or_else(|| eyre::eyre!("deposit {} emitted no StateSynced record", sent.hash))?
        .id;
    let root_id = p.get_chain_id().await?;
    println!(
        "deposited: {wei} wei of {root_token} for {to} on bttc ({child}); state sync {id} of root {root_id}"
    );
    Ok((root_id, id.saturating_to()))
}

/// Waits until bttc at `child` has delivered state sync `id` of root `root_id`.
async fn wait_delivered(child: &str, root_id: u64, id: u64, within: u64) -> eyre::Result<()> {
    use bttc_contracts::{STATE_RECEIVER, state_sync::last_state_id_slot};
    let p = ProviderBuilder::new().connect_http(rpc_url(child)?);
    let slot = U256::from_be_bytes(last_state_id_slot(root_id).0);
    let start = std::time::Instant::now();
    loop {
        let last = p.get_storage_at(STATE_RECEIVER, slot).await.wrap_err("--child-rpc")?;
        if last >= U256::from(id) {
            let block = p.get_block_number().await?;
            println!(
                "credited on bttc by block {block} ({:.1} s after the deposit was mined)",
                start.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if start.elapsed().as_secs() > within {
            eyre::bail!(
                "bttc at {child} has delivered state sync {last} of root {root_id}, not yet {id}, after {within} s: \
                 the validators deliver a record once its root block is final (see bttc_getStateSyncStatus)"
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

pub(crate) fn run(cmd: BridgeCommand) -> eyre::Result<()> {
    runtime()?.block_on(async move {
        match cmd {
            BridgeCommand::Deposit { token, amount: a, to, manager, child_rpc, wait_secs, tx } => {
                let wei = amount(&a, false)?;
                let to = match to {
                    Some(t) => t,
                    None => tx.signer()?.address(),
                };
                let (root_id, id) = deposit(&tx, manager, &token, wei, to).await?;
                if let Some(child) = child_rpc {
                    wait_delivered(&child, root_id, id, wait_secs).await?;
                }
            }
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
