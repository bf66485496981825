//! `eth_` methods that read state, blocks and fees, and the two ways to send a transaction.

use crate::{
    RpcContext, RpcError, RpcResult,
    convert::{self, RpcReceipt, RpcTx},
};
use alloy_consensus::{SignableTransaction, Transaction as _, TxEnvelope};
use alloy_eips::{BlockId, BlockNumberOrTag, Decodable2718};
use alloy_network::TxSignerSync;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rpc_types_eth::{
    Block as RpcBlock, EIP1186AccountProofResponse, EIP1186StorageProof, FeeHistory,
    TransactionRequest, state::EvmOverrides,
};
use alloy_serde::storage::JsonStorageKey;
use bttc_chain::validate::expected_base_fee;
use bttc_primitives::KECCAK_EMPTY;
use bttc_storage::StateProvider;
use tracing::debug;

/// Most blocks `eth_feeHistory` covers.
const MAX_FEE_HISTORY: u64 = 1024;
/// Most storage keys one `eth_getProof` proves (geth's limit).
pub(crate) const MAX_PROOF_KEYS: usize = 1024;
/// Most slots one `eth_getStorageValues` reads (geth's limit).
pub(crate) const MAX_STORAGE_VALUES: usize = 1024;

/// A storage key as geth reads it in `eth_getStorageAt` and `eth_getProof`: hex with or
/// without `0x`, at most 32 bytes, left-padded (`"0x0"` is slot 0). Returns the slot and how
/// many bytes were given (`eth_getProof` answers a short key as a quantity).
pub(crate) fn parse_storage_key(key: &str) -> RpcResult<(B256, usize)> {
    let digits = key.strip_prefix("0x").or_else(|| key.strip_prefix("0X")).unwrap_or(key);
    let padded = if digits.len() % 2 == 1 { format!("0{digits}") } else { digits.to_string() };
    if padded.len() > 64 {
        return Err(RpcError::InvalidParams(format!(
            "storage key too long (want at most 32 bytes): {key:?}"
        )));
    }
    let bytes = alloy_primitives::hex::decode(&padded)
        .map_err(|_| RpcError::InvalidParams(format!("invalid hex in storage key: {key:?}")))?;
    Ok((B256::left_padding_from(&bytes), bytes.len()))
}
/// Most reward percentiles one `eth_feeHistory` asks for.
pub(crate) const MAX_REWARD_PERCENTILES: usize = 100;

impl RpcContext {
    /// `eth_blockNumber`.
    pub(crate) fn block_number(&self) -> RpcResult<u64> {
        Self::head_number(&self.ro()?)
    }

    /// `eth_getBalance`, `eth_getTransactionCount` and `eth_getCode` read one account.
    pub(crate) fn account_at(
        &self,
        address: Address,
        block: BlockId,
    ) -> RpcResult<Option<bttc_primitives::Account>> {
        let ro = self.ro()?;
        Ok(Self::state_at(&ro, block)?.account(&address)?)
    }

    /// `eth_getTransactionCount`: with `pending`, counts pool transactions that follow on.
    pub(crate) fn transaction_count(&self, address: Address, block: BlockId) -> RpcResult<u64> {
        let nonce = self.account_at(address, block)?.map(|a| a.nonce).unwrap_or_default();
        if block == BlockId::Number(BlockNumberOrTag::Pending) {
            return Ok(self.pool.pending_nonce(&address).unwrap_or(nonce).max(nonce));
        }
        Ok(nonce)
    }

    /// `eth_getCode`.
    pub(crate) fn code(&self, address: Address, block: BlockId) -> RpcResult<Bytes> {
        let ro = self.ro()?;
        let state = Self::state_at(&ro, block)?;
        let Some(acc) = state.account(&address)? else { return Ok(Bytes::new()) };
        if acc.code_hash == KECCAK_EMPTY {
            return Ok(Bytes::new());
        }
        Ok(state.bytecode(&acc.code_hash)?.unwrap_or_default())
    }

    /// `eth_getStorageAt`.
    pub(crate) fn storage_at(
        &self,
        address: Address,
        slot: &str,
        block: BlockId,
    ) -> RpcResult<B256> {
        let ro = self.ro()?;
        let state = Self::state_at(&ro, block)?;
        let (slot, _) = parse_storage_key(slot)?;
        Ok(state.storage(&address, &slot)?.into())
    }

    /// `eth_getStorageValues`: many slots of many accounts in one state.
    pub(crate) fn storage_values(
        &self,
        requests: std::collections::BTreeMap<Address, Vec<B256>>,
        block: BlockId,
    ) -> RpcResult<std::collections::BTreeMap<Address, Vec<B256>>> {
        let slots = requests.values().try_fold(0usize, |n, keys| {
            let n = n.saturating_add(keys.len());
            (n <= MAX_STORAGE_VALUES).then_some(n).ok_or_else(|| {
                RpcError::ClientLimit(format!("too many slots (max {MAX_STORAGE_VALUES})"))
            })
        })?;
        if slots == 0 {
            return Err(RpcError::InvalidParams("empty request".into()));
        }
        let ro = self.ro()?;
        let state = Self::state_at(&ro, block)?;
        requests
            .into_iter()
            .map(|(address, keys)| {
                let values = keys
                    .iter()
                    .map(|slot| Ok(state.storage(&address, slot)?.into()))
                    .collect::<RpcResult<Vec<B256>>>()?;
                Ok((address, values))
            })
            .collect()
    }

    /// `eth_getProof` (latest state only: the trie holds the current state). Keys are read
    /// as [`parse_storage_key`] reads them; a key given in fewer than 32 bytes is answered as
    /// a quantity, a 32-byte key as given (geth).
    pub(crate) fn proof(
        &self,
        address: Address,
        keys: Vec<String>,
        block: BlockId,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        if keys.len() > MAX_PROOF_KEYS {
            return Err(RpcError::InvalidParams(format!(
                "too many storage keys requested (max {MAX_PROOF_KEYS}, got {})",
                keys.len()
            )));
        }
        // Every key is checked before any state is read.
        let slots = keys.iter().map(|k| parse_storage_key(k)).collect::<RpcResult<Vec<_>>>()?;
        let ro = self.ro()?;
        let number = Self::number_required(&ro, block)?;
        let head = Self::head_number(&ro)?;
        if number != head {
            return Err(RpcError::Unsupported(format!(
                "eth_getProof is served for the head block {head} only, not block {number}"
            )));
        }
        let hashed = keccak256(address);
        let stored = bttc_trie::stored_account(&ro, hashed).map_err(RpcError::internal)?;
        let account_proof = bttc_trie::account_proof(&ro, hashed).map_err(RpcError::internal)?;
        let mut storage_proof = Vec::with_capacity(slots.len());
        for (slot, given) in slots {
            let value = ro.storage(&address, &slot)?;
            let proof = if stored.is_some() {
                bttc_trie::storage_proof(&ro, hashed, keccak256(slot))
                    .map_err(RpcError::internal)?
            } else {
                Vec::new()
            };
            let key = if given == 32 {
                JsonStorageKey::Hash(slot)
            } else {
                JsonStorageKey::Number(slot.into())
            };
            storage_proof.push(EIP1186StorageProof { key, value, proof });
        }
        Ok(match stored {
            Some(acc) => EIP1186AccountProofResponse {
                address,
                balance: acc.balance,
                code_hash: acc.code_hash,
                nonce: acc.nonce,
                storage_hash: acc.storage_root,
                account_proof,
                storage_proof,
            },
            None => EIP1186AccountProofResponse {
                address,
                balance: U256::ZERO,
                code_hash: KECCAK_EMPTY,
                nonce: 0,
                storage_hash: alloy_trie::EMPTY_ROOT_HASH,
                account_proof,
                storage_proof,
            },
        })
    }

    /// `eth_getBlockByNumber` / `eth_getBlockByHash`.
    pub(crate) fn block_by_id(
        &self,
        id: BlockId,
        full: bool,
    ) -> RpcResult<Option<RpcBlock<RpcTx>>> {
        let ro = self.ro()?;
        let Some(number) = Self::number_of_id(&ro, id)? else { return Ok(None) };
        convert::rpc_block(&ro, number, full)
    }

    /// `eth_getBlockByNumber` / `eth_getBlockByHash` as JSON, through the block cache.
    pub(crate) fn block_json_by_id(
        &self,
        id: BlockId,
        full: bool,
    ) -> RpcResult<Option<Box<serde_json::value::RawValue>>> {
        let ro = self.ro()?;
        let Some(number) = Self::number_of_id(&ro, id)? else { return Ok(None) };
        let Some(hash) = ro.canonical_hash(number)? else { return Ok(None) };
        if let Some(hit) = self.block_cache.lock().get(&(hash, full)) {
            return Ok(Some(hit));
        }
        let Some(block) = convert::rpc_block(&ro, number, full)? else { return Ok(None) };
        let json = serde_json::value::to_raw_value(&block)
            .map_err(|e| RpcError::internal(format_args!("block JSON: {e}")))?;
        self.block_cache.lock().insert((hash, full), json.clone());
        Ok(Some(json))
    }

    /// `eth_getBlockTransactionCountBy*`.
    pub(crate) fn block_tx_count(&self, id: BlockId) -> RpcResult<Option<u64>> {
        let ro = self.ro()?;
        let Some(number) = Self::number_of_id(&ro, id)? else { return Ok(None) };
        Ok(ro.block_indices(number)?.map(|i| i.tx_count))
    }

    /// `eth_getBlockReceipts`.
    pub(crate) fn block_receipts(&self, id: BlockId) -> RpcResult<Option<Vec<RpcReceipt>>> {
        let ro = self.ro()?;
        let Some(number) = Self::number_of_id(&ro, id)? else { return Ok(None) };
        convert::block_receipts(&ro, number)
    }

    /// `eth_getTransactionByHash`: mined, else from the pool.
    pub(crate) fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTx>> {
        if let Some(tx) = convert::tx_by_hash(&self.ro()?, &hash)? {
            return Ok(Some(tx));
        }
        Ok(self.pool.get(&hash).map(|p| convert::rpc_pending_tx(p.tx.clone(), p.sender)))
    }

    /// `eth_getTransactionByBlock*AndIndex`.
    pub(crate) fn transaction_by_block_and_index(
        &self,
        id: BlockId,
        index: u64,
    ) -> RpcResult<Option<RpcTx>> {
        let ro = self.ro()?;
        let Some(number) = Self::number_of_id(&ro, id)? else { return Ok(None) };
        convert::tx_in_block(&ro, number, index)
    }

    /// `eth_getTransactionReceipt`.
    pub(crate) fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<RpcReceipt>> {
        convert::receipt_by_hash(&self.ro()?, &hash)
    }

    /// `eth_maxPriorityFeePerGas`: the median tip of the last 20 blocks' transactions, or the
    /// configured default when they carry none. Computed once per head block.
    pub(crate) fn suggested_tip(&self) -> RpcResult<u128> {
        let ro = self.ro()?;
        let Some(head) = ro.head()? else { return Ok(self.config.default_priority_fee) };
        if let Some((hash, tip)) = *self.tip_cache.lock()
            && hash == head.hash
        {
            return Ok(tip);
        }
        // Never below what the pool accepts for the next block.
        let floor = self.validation_context(&ro)?.min_priority_fee;
        let tip = self.median_tip(&ro, head.number)?.max(floor);
        *self.tip_cache.lock() = Some((head.hash, tip));
        Ok(tip)
    }

    fn median_tip(
        &self,
        ro: &bttc_storage::Provider<bttc_storage::Ro>,
        head: u64,
    ) -> RpcResult<u128> {
        let mut tips = Vec::new();
        for number in head.saturating_sub(19)..=head {
            let Some(block) = ro.block(number)? else { continue };
            let base = block.header.base_fee_per_gas.unwrap_or_default();
            tips.extend(
                block.body.transactions.iter().filter_map(|t| t.effective_tip_per_gas(base)),
            );
        }
        if tips.is_empty() {
            return Ok(self.config.default_priority_fee);
        }
        tips.sort_unstable();
        Ok(tips[tips.len() / 2].max(1))
    }

    /// `eth_gasPrice`: the suggested tip on top of the larger of the latest block's base fee
    /// and the next block's. Never below the latest base fee (as geth), so a call, an estimate
    /// or a legacy transaction priced with it is accepted even while the base fee falls.
    pub(crate) fn gas_price(&self) -> RpcResult<u128> {
        let ro = self.ro()?;
        let (_, head) = ro.head_header()?;
        let base = self.next_base_fee(&ro)?.max(head.base_fee_per_gas.unwrap_or_default());
        Ok(u128::from(base).saturating_add(self.suggested_tip()?))
    }

    /// `eth_capabilities`: what this node serves. It keeps every block, transaction,
    /// receipt and log and the state after every block; `eth_getProof` serves the head only.
    pub(crate) fn capabilities(&self) -> RpcResult<serde_json::Value> {
        let (head, _) = self.ro()?.head_header()?;
        let all = serde_json::json!({ "disabled": false, "oldestBlock": "0x0" });
        let number = U256::from(head.number);
        Ok(serde_json::json!({
            "head": { "number": number, "hash": head.hash },
            "state": all,
            "tx": all,
            "logs": all,
            "receipts": all,
            "blocks": all,
            "stateproofs": { "disabled": false, "oldestBlock": number },
        }))
    }

    /// `eth_baseFee`: the base fee of the next block; `None` before London.
    pub(crate) fn base_fee(&self) -> RpcResult<Option<u64>> {
        let ro = self.ro()?;
        let (head, parent) = ro.head_header()?;
        Ok(expected_base_fee(self.chain.spec(), &parent, head.number + 1))
    }

    /// `eth_blobBaseFee`: the blob base fee of the next block (the last entry of
    /// `eth_feeHistory`'s `baseFeePerBlobGas`); `None` before Cancun.
    pub(crate) fn blob_base_fee(&self) -> RpcResult<Option<u128>> {
        let (_, head) = self.ro()?.head_header()?;
        Ok(next_blob_base_fee(self.chain.spec(), &head))
    }

    /// `eth_feeHistory`.
    pub(crate) fn fee_history(
        &self,
        count: u64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        if let Some(p) = &percentiles
            && p.len() > MAX_REWARD_PERCENTILES
        {
            return Err(RpcError::InvalidParams(format!(
                "too many reward percentiles: {} > {MAX_REWARD_PERCENTILES}",
                p.len()
            )));
        }
        if let Some(p) = &percentiles
            && (p.iter().any(|x| !(0.0..=100.0).contains(x)) || p.windows(2).any(|w| w[0] > w[1]))
        {
            return Err(RpcError::InvalidParams(
                "reward percentiles must be ascending values in 0..=100".into(),
            ));
        }
        let ro = self.ro()?;
        let newest = Self::number_of_tag(&ro, newest)?.ok_or(RpcError::HeaderNotFound)?;
        let count = count.clamp(0, MAX_FEE_HISTORY).min(newest + 1);
        if count == 0 {
            return Ok(FeeHistory::default());
        }
        let oldest = newest + 1 - count;
        let spec = self.chain.spec();
        let mut h = FeeHistory { oldest_block: oldest, ..Default::default() };
        let mut rewards = Vec::new();
        let mut last = None;
        for number in oldest..=newest {
            let block = ro.block(number)?.ok_or(RpcError::HeaderNotFound)?;
            let header = &block.header;
            h.base_fee_per_gas.push(u128::from(header.base_fee_per_gas.unwrap_or_default()));
            h.gas_used_ratio.push(header.gas_used as f64 / header.gas_limit.max(1) as f64);
            let blob_params = spec.blob_params_at(header.timestamp);
            h.base_fee_per_blob_gas.push(
                header
                    .excess_blob_gas
                    .zip(blob_params)
                    .map(|(e, p)| p.calc_blob_fee(e))
                    .unwrap_or_default(),
            );
            h.blob_gas_used_ratio.push(
                header
                    .blob_gas_used
                    .zip(blob_params)
                    .map(|(u, p)| u as f64 / p.max_blob_gas_per_block().max(1) as f64)
                    .unwrap_or_default(),
            );
            if let Some(p) = &percentiles {
                rewards.push(block_rewards(&ro, &block, p)?);
            }
            last = Some(block.header);
        }
        let last = last.expect("count > 0");
        let next_base = bttc_chain::validate::expected_base_fee(spec, &last, last.number + 1)
            .unwrap_or_default();
        h.base_fee_per_gas.push(u128::from(next_base));
        h.base_fee_per_blob_gas.push(next_blob_base_fee(spec, &last).unwrap_or_default());
        h.reward = percentiles.map(|_| rewards);
        Ok(h)
    }

    /// `eth_sendRawTransaction`.
    pub(crate) fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        if raw.len() > 128 * 1024 {
            return Err(RpcError::Pool(bttc_txpool::PoolError::Oversized {
                size: raw.len(),
                max: 128 * 1024,
            }));
        }
        let mut slice = raw.as_ref();
        let tx = TxEnvelope::decode_2718(&mut slice)
            .map_err(|e| RpcError::InvalidParams(format!("invalid transaction: {e}")))?;
        if !slice.is_empty() {
            return Err(RpcError::InvalidParams(format!(
                "invalid transaction: {} trailing bytes",
                slice.len()
            )));
        }
        self.submit(tx)
    }

    /// Validates `tx` against the latest state, adds it to the pool, announces it on
    /// [`ChainEvents::new_pending`](crate::ChainEvents). Transactions gossiped by peers
    /// enter here too.
    pub fn submit(&self, tx: TxEnvelope) -> RpcResult<B256> {
        let outcome = {
            // The state must be opened under the admission guard (see `TxPool::admission`).
            let _admission = self.pool.admission();
            let ro = self.ro()?;
            let ctx = self.validation_context(&ro)?;
            self.pool.add(tx, &ro, &ctx)?
        };
        debug!(target: "bttc::rpc", hash = %outcome.hash, pending = outcome.pending, "transaction accepted");
        let _ = self.events.new_pending.send(outcome.hash);
        Ok(outcome.hash)
    }

    /// `eth_sendTransaction`: fills in nonce, gas and fees, signs with an unlocked account.
    pub(crate) fn send_transaction(&self, mut req: TransactionRequest) -> RpcResult<B256> {
        let from = req.from.ok_or_else(|| RpcError::InvalidParams("missing `from`".into()))?;
        let signer = self.signer(&from).ok_or(RpcError::UnknownAccount(from))?;
        let chain_id = self.chain.spec().chain_id();
        if let Some(id) = req.chain_id
            && id != chain_id
        {
            return Err(RpcError::InvalidParams(format!(
                "chainId {id} does not match this chain's {chain_id}"
            )));
        }
        req.chain_id = Some(chain_id);
        if req.to.is_none() {
            // No recipient: a contract creation.
            req.to = Some(alloy_primitives::TxKind::Create);
        }
        if req.nonce.is_none() {
            req.nonce = Some(self.transaction_count(from, BlockId::pending())?);
        }
        if req.gas_price.is_none() && req.max_fee_per_gas.is_none() {
            let tip = match req.max_priority_fee_per_gas {
                Some(t) => t,
                None => self.suggested_tip()?,
            };
            let base = self.next_base_fee(&self.ro()?)?;
            req.max_priority_fee_per_gas = Some(tip);
            // geth's default fee cap: twice the base fee plus the tip.
            let cap = u128::from(base).checked_mul(2).and_then(|b| b.checked_add(tip));
            req.max_fee_per_gas = Some(cap.ok_or_else(|| {
                RpcError::InvalidParams(format!(
                    "maxPriorityFeePerGas {tip} is too large: 2 × base fee {base} + tip \
                     exceeds 2^128 - 1; set maxFeePerGas"
                ))
            })?);
        } else if req.max_fee_per_gas.is_some() && req.max_priority_fee_per_gas.is_none() {
            req.max_priority_fee_per_gas =
                Some(self.suggested_tip()?.min(req.max_fee_per_gas.unwrap_or_default()));
        }
        if req.gas.is_none() {
            let mut est = req.clone();
            est.nonce = None;
            req.gas = Some(self.estimate_gas(est, BlockId::latest(), EvmOverrides::default())?);
        }
        let mut tx = req
            .build_typed_tx()
            .map_err(|_| RpcError::InvalidParams("incomplete transaction request".into()))?;
        let sig = signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| RpcError::Internal(format!("signing failed: {e}")))?;
        let signed: TxEnvelope = tx.into_signed(sig).into();
        self.submit(signed)
    }
}

/// The blob base fee of the block after `parent` (taken one second after it); `None` before
/// Cancun.
fn next_blob_base_fee(
    spec: &bttc_chainspec::ChainSpec,
    parent: &bttc_primitives::Header,
) -> Option<u128> {
    let ts = parent.timestamp.saturating_add(1);
    bttc_chain::validate::expected_excess_blob_gas(spec, parent, ts)
        .zip(spec.blob_params_at(ts))
        .map(|(e, p)| p.calc_blob_fee(e))
}

/// Effective tips at `percentiles` of gas used in `block`.
fn block_rewards(
    ro: &bttc_storage::Provider<bttc_storage::Ro>,
    block: &bttc_primitives::Block,
    percentiles: &[f64],
) -> RpcResult<Vec<u128>> {
    let txs = &block.body.transactions;
    if txs.is_empty() {
        return Ok(vec![0; percentiles.len()]);
    }
    let base = block.header.base_fee_per_gas.unwrap_or_default();
    let receipts = ro.receipts(block.header.number)?.unwrap_or_default();
    let mut prev = 0u64;
    let mut items: Vec<(u128, u64)> = txs
        .iter()
        .zip(&receipts)
        .map(|(tx, r)| {
            let used = r.cumulative_gas_used() - prev;
            prev = r.cumulative_gas_used();
            (tx.effective_tip_per_gas(base).unwrap_or_default(), used)
        })
        .collect();
    items.sort_unstable_by_key(|i| i.0);
    let total: u64 = items.iter().map(|i| i.1).sum();
    Ok(percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0u64;
            for (tip, used) in &items {
                sum += used;
                if sum >= threshold {
                    return *tip;
                }
            }
            items.last().map(|i| i.0).unwrap_or_default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::parse_storage_key;
    use alloy_primitives::B256;

    #[test]
    fn storage_keys_are_read_as_geth_reads_them() {
        let slot = |n: u8| B256::with_last_byte(n);
        assert_eq!(parse_storage_key("0x0").unwrap(), (slot(0), 1));
        // Hex, with or without the prefix, never decimal.
        assert_eq!(parse_storage_key("10").unwrap(), (slot(0x10), 1));
        assert_eq!(parse_storage_key("0X1").unwrap(), (slot(1), 1));
        assert_eq!(
            parse_storage_key(&format!("0x{}", "00".repeat(31) + "07")).unwrap(),
            (slot(7), 32)
        );
        // Leading zeros count: 33 bytes is too long even if the value fits.
        let long = format!("0x{}", "0".repeat(65));
        assert!(parse_storage_key(&long).unwrap_err().to_string().contains("too long"));
        assert!(parse_storage_key("0xasdf").unwrap_err().to_string().contains("invalid hex"));
    }
}
