//! `bttc root deploy`: puts `RootChain` (contracts/root/) on a root chain, trusting the bttc
//! chain's current validator set, and prints where it is.

use crate::stake_cmd::{TxArgs, rpc_url, runtime};
use alloy_network::{EthereumWallet, TransactionBuilder};
use alloy_primitives::{Address, B256, U256};
use alloy_provider::{Provider, ProviderBuilder};
use alloy_rpc_types_eth::TransactionRequest;
use alloy_sol_types::{SolConstructor, SolValue};
use bttc_contracts::root_chain::RootChain as RC;
use clap::Subcommand;
use eyre::WrapErr;

/// `bttc root …`.
#[derive(Debug, Subcommand)]
pub(crate) enum RootCommand {
    /// Deploy RootChain on a root chain (`--rpc-url`, signed by `--keystore` or
    /// `--private-key`), trusting the validator set of the bttc chain at `--child-rpc`.
    Deploy {
        #[command(flatten)]
        tx: TxArgs,
        /// JSON-RPC endpoint of a node of the bttc chain to checkpoint.
        #[arg(long = "child-rpc", default_value = "http://127.0.0.1:8545")]
        child_rpc: String,
        /// The first bttc block the first checkpoint covers.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
        start: u64,
    },
}

/// The validator set as the root keeps it: `(signer, power)` ascending by signer, and its
/// hash `keccak256(abi.encode(signers, powers))`.
pub(crate) fn root_set(members: &[(Address, u64)]) -> (Vec<Address>, Vec<U256>, B256) {
    let mut sorted = members.to_vec();
    sorted.sort_by_key(|m| m.0);
    let signers: Vec<Address> = sorted.iter().map(|m| m.0).collect();
    let powers: Vec<U256> = sorted.iter().map(|m| U256::from(m.1)).collect();
    let hash = alloy_primitives::keccak256((signers.clone(), powers.clone()).abi_encode_params());
    (signers, powers, hash)
}

pub(crate) fn run(cmd: RootCommand) -> eyre::Result<()> {
    let RootCommand::Deploy { tx, child_rpc, start } = cmd;
    runtime()?.block_on(async move {
        let child = ProviderBuilder::new().connect_http(rpc_url(&child_rpc)?);
        let child_chain_id = child.get_chain_id().await.wrap_err("--child-rpc: eth_chainId")?;
        let current: serde_json::Value = child
            .raw_request("bor_getCurrentValidators".into(), serde_json::json!([]))
            .await
            .wrap_err(
                "--child-rpc: bor_getCurrentValidators (is it a bttc validator or full node?)",
            )?;
        let mut members = Vec::new();
        for m in current.as_array().into_iter().flatten() {
            let signer: Address = serde_json::from_value(m["signer"].clone())
                .wrap_err_with(|| format!("a member without a signer: {m}"))?;
            let power =
                m["power"].as_u64().ok_or_else(|| eyre::eyre!("a member without power: {m}"))?;
            members.push((signer, power));
        }
        eyre::ensure!(!members.is_empty(), "--child-rpc reports an empty validator set");
        let (signers, powers, set_hash) = root_set(&members);

        let signer = tx.signer()?;
        let from = signer.address();
        let root = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(rpc_url(&tx.rpc_url)?);
        let root_chain_id = root.get_chain_id().await.wrap_err("--rpc-url: eth_chainId")?;
        let args = RC::constructorCall {
            childChainId_: U256::from(child_chain_id),
            setHash: set_hash,
            lastChildBlock: U256::from(start - 1),
        };
        let mut init = RC::BYTECODE.to_vec();
        init.extend_from_slice(&args.abi_encode());
        let req = TransactionRequest::default().with_from(from).with_deploy_code(init);
        let pending = root.send_transaction(req).await.wrap_err("sending the deployment")?;
        let hash = *pending.tx_hash();
        println!("sent {hash} from {from} to root chain {root_chain_id}");
        let receipt = pending.get_receipt().await.wrap_err("waiting for the receipt")?;
        let address = match (receipt.status(), receipt.contract_address) {
            (true, Some(a)) => a,
            _ => eyre::bail!("the deployment {hash} failed in block {:?}", receipt.block_number),
        };
        println!("included in block {}", receipt.block_number.unwrap_or_default());
        let summary = serde_json::json!({
            "rootChain": address,
            "rootChainId": root_chain_id,
            "childChainId": child_chain_id,
            "firstCheckpointStart": start,
            "validatorSetHash": set_hash,
            "validators": signers
                .iter()
                .zip(&powers)
                .map(|(s, p)| serde_json::json!({"signer": s, "power": p.saturating_to::<u64>()}))
                .collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
        Ok(())
    })
}
