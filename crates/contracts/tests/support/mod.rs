//! A one-contract chain for `StakeManager` tests: the genesis account made by
//! `stake_manager_account`, transactions run by alloy-evm's Ethereum EVM (the node's), and
//! `blockEnd` run the way the node runs system calls (`Evm::transact_system_call`, which keeps
//! only the called contract's state).

#![allow(dead_code, unreachable_pub)]

use alloy_evm::{Evm, EvmEnv, EvmFactory, eth::EthEvmFactory};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::SolCall;
use bttc_consensus::signing::EthSignature;
use bttc_contracts::{
    GenesisStaker, STAKE_MANAGER, SYSTEM_CALLER, decode_revert,
    stake_manager::{Params, StakeManager},
    stake_manager_account,
};
use k256::ecdsa::SigningKey;
use revm::{
    DatabaseCommit,
    context::{TxEnv, result::ExecutionResult},
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::AccountInfo,
};

pub const CHAIN_ID: u64 = 1337_0001;

/// One BTT in wei.
pub fn btt(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The devnet parameters of the issue (epoch 64, window 100, 1% / 5% slashes, 6.5% a year),
/// with a minimum self-stake of 100 BTT.
pub fn devnet_params() -> Params {
    bttc_contracts::params_from(&bttc_chainspec::BttcParams {
        min_self_stake: 100,
        ..bttc_chainspec::BttcParams::devnet()
    })
    .expect("devnet parameters fit")
}

/// A validator's keys: the operator account and the consensus key.
#[derive(Debug, Clone)]
pub struct Keys {
    pub operator: Address,
    pub consensus: SigningKey,
}

impl Keys {
    /// Deterministic keys from a seed byte.
    pub fn new(seed: u8) -> Self {
        let mut sk = [seed; 32];
        sk[0] = 0x11;
        let consensus = SigningKey::from_bytes(&sk.into()).expect("a valid scalar");
        Self { operator: Address::repeat_byte(seed), consensus }
    }

    /// The 64-byte public key (x ‖ y).
    pub fn pubkey(&self) -> Bytes {
        let point = self.consensus.verifying_key().to_encoded_point(false);
        Bytes::copy_from_slice(&point.as_bytes()[1..])
    }

    /// The consensus address.
    pub fn signer(&self) -> Address {
        bttc_consensus::address_of(self.consensus.verifying_key())
    }

    /// A 65-byte signature over `hash` by the consensus key.
    pub fn sign(&self, hash: B256) -> Bytes {
        Bytes::copy_from_slice(&EthSignature::sign(&self.consensus, &hash).0)
    }
}

/// The failure of a call that must fail.
pub fn refused<T>(r: Result<T, Failed>) -> Failed {
    match r {
        Ok(_) => panic!("the call succeeded; a refusal was expected"),
        Err(e) => e,
    }
}

/// A transaction that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// Decoded revert (custom error with its values) or the halt reason.
    pub reason: String,
    /// Raw revert data.
    pub data: Bytes,
}

impl Failed {
    /// Whether this was a Solidity panic (overflow, division by zero, out-of-bounds).
    pub fn is_panic(&self) -> bool {
        self.data.len() >= 4 && self.data[..4] == [0x4e, 0x48, 0x7b, 0x71]
    }
}

/// The chain: one state, a block number, the total paid out of the contract.
#[derive(Debug)]
pub struct Chain {
    pub db: CacheDB<EmptyDB>,
    pub number: u64,
    /// Rewards credited to the contract by `end_block` (fees + minted).
    pub rewards_in: U256,
    pub fees_in: U256,
    pub minted: U256,
}

impl Chain {
    /// A chain at block 1 whose genesis holds `StakeManager` with `validators` (self-stake each).
    pub fn new(params: Params, validators: &[(Keys, U256, u16)]) -> Self {
        let stakers: Vec<GenesisStaker> = validators
            .iter()
            .map(|(k, stake, c)| GenesisStaker {
                operator: k.operator,
                pubkey: k.pubkey(),
                stake: *stake,
                commission_bps: *c,
            })
            .collect();
        let account = stake_manager_account(CHAIN_ID, &params, &stakers).expect("genesis");
        Self::from_alloc([(STAKE_MANAGER, account)])
    }

    /// A chain at block 1 whose genesis holds `alloc`.
    pub fn from_alloc(
        alloc: impl IntoIterator<Item = (Address, alloy_genesis::GenesisAccount)>,
    ) -> Self {
        let mut db = CacheDB::new(EmptyDB::default());
        for (address, account) in alloc {
            let code = account.code.clone().map(revm::state::Bytecode::new_raw);
            db.insert_account_info(
                address,
                AccountInfo {
                    balance: account.balance,
                    nonce: account.nonce.unwrap_or_default(),
                    code_hash: code
                        .as_ref()
                        .map_or(revm::primitives::KECCAK_EMPTY, |c| c.hash_slow()),
                    code,
                    ..Default::default()
                },
            );
            for (k, v) in account.storage.unwrap_or_default() {
                db.insert_account_storage(address, k.into(), v.into()).unwrap();
            }
        }
        Self { db, number: 1, rewards_in: U256::ZERO, fees_in: U256::ZERO, minted: U256::ZERO }
    }

    /// Runs `call` against `to` from `from` with `value`; commits it if it succeeds.
    pub fn send_to<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<C::Return, Failed> {
        let out = self.run_at(from, to, call.abi_encode().into(), value, true)?;
        Ok(C::abi_decode_returns(&out).expect("the return data decodes"))
    }

    fn env(&self) -> EvmEnv {
        let mut env: EvmEnv = EvmEnv::default();
        env.cfg_env.chain_id = CHAIN_ID;
        env.cfg_env.set_spec_and_mainnet_gas_params(SpecId::PRAGUE);
        env.cfg_env.disable_base_fee = true;
        env.cfg_env.disable_nonce_check = true;
        env.block_env.number = U256::from(self.number);
        env.block_env.timestamp = U256::from(1_700_000_000 + self.number);
        env.block_env.gas_limit = 1_000_000_000;
        env
    }

    /// Gives `who` `amount` wei more.
    pub fn fund(&mut self, who: Address, amount: U256) {
        let mut info = self.db.cache.accounts.get(&who).map(|a| a.info.clone()).unwrap_or_default();
        info.balance += amount;
        self.db.insert_account_info(who, info);
    }

    /// `who`'s balance.
    pub fn balance(&self, who: Address) -> U256 {
        self.db.cache.accounts.get(&who).map(|a| a.info.balance).unwrap_or_default()
    }

    fn run(
        &mut self,
        from: Address,
        data: Bytes,
        value: U256,
        commit: bool,
    ) -> Result<Bytes, Failed> {
        self.run_at(from, STAKE_MANAGER, data, value, commit)
    }

    fn run_at(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
        value: U256,
        commit: bool,
    ) -> Result<Bytes, Failed> {
        let env = self.env();
        let mut evm = EthEvmFactory::default().create_evm(&mut self.db, env);
        let tx = TxEnv {
            caller: from,
            kind: TxKind::Call(to),
            data,
            value,
            gas_limit: 100_000_000,
            gas_price: 0,
            chain_id: Some(CHAIN_ID),
            ..Default::default()
        };
        let out = match evm.transact(tx) {
            Ok(out) => out,
            Err(e) => {
                return Err(Failed {
                    reason: format!("invalid transaction: {e}"),
                    data: Bytes::new(),
                });
            }
        };
        let result = match out.result {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => {
                Err(Failed { reason: decode_revert(&output), data: output })
            }
            ExecutionResult::Halt { reason, .. } => {
                Err(Failed { reason: format!("halt: {reason:?}"), data: Bytes::new() })
            }
        };
        if commit && result.is_ok() {
            evm.db_mut().commit(out.state);
        }
        result
    }

    /// Sends `call` from `from` with `value`; commits it if it succeeds.
    pub fn send<C: SolCall>(
        &mut self,
        from: Address,
        call: C,
        value: U256,
    ) -> Result<C::Return, Failed> {
        let out = self.run(from, call.abi_encode().into(), value, true)?;
        Ok(C::abi_decode_returns(&out).expect("the return data decodes"))
    }

    /// Like `send`, panicking with the revert reason on failure.
    pub fn ok<C: SolCall>(&mut self, from: Address, call: C, value: U256) -> C::Return {
        let name = C::SIGNATURE;
        self.send(from, call, value).unwrap_or_else(|e| panic!("{name} failed: {}", e.reason))
    }

    /// Runs a view (nothing committed).
    pub fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        let out = self
            .run(Address::ZERO, call.abi_encode().into(), U256::ZERO, false)
            .unwrap_or_else(|e| panic!("view {} failed: {}", C::SIGNATURE, e.reason));
        C::abi_decode_returns(&out).expect("the return data decodes")
    }

    /// Ends the current block as the node does: credits `fees`, runs `blockEnd` as a system
    /// call, credits what it minted, and moves to the next block. Returns what was minted.
    pub fn end_block(&mut self, signed_bitmap: U256, fees: U256) -> Result<U256, Failed> {
        self.fund(STAKE_MANAGER, fees);
        let env = self.env();
        let data: Bytes =
            StakeManager::blockEndCall { signedBitmap: signed_bitmap, fees }.abi_encode().into();
        let mut evm = EthEvmFactory::default().create_evm(&mut self.db, env);
        let out =
            evm.transact_system_call(SYSTEM_CALLER, STAKE_MANAGER, data).expect("system call runs");
        let minted = match out.result {
            ExecutionResult::Success { output, .. } => {
                let touched: Vec<_> = out.state.keys().copied().collect();
                assert_eq!(touched, vec![STAKE_MANAGER], "blockEnd touches only StakeManager");
                evm.db_mut().commit(out.state);
                StakeManager::blockEndCall::abi_decode_returns(output.data()).unwrap()
            }
            ExecutionResult::Revert { output, .. } => {
                self.number += 1;
                return Err(Failed { reason: decode_revert(&output), data: output });
            }
            ExecutionResult::Halt { reason, .. } => {
                self.number += 1;
                return Err(Failed { reason: format!("halt: {reason:?}"), data: Bytes::new() });
            }
        };
        self.fund(STAKE_MANAGER, minted);
        self.fees_in += fees;
        self.minted += minted;
        self.rewards_in += fees + minted;
        self.number += 1;
        Ok(minted)
    }

    /// Ends the current block with every member of the previous block's set signing.
    pub fn next_block(&mut self, fees: U256) -> Result<U256, Failed> {
        let all = self.all_signed();
        self.end_block(all, fees)
    }

    /// Ends blocks until the current block is the first of the next epoch, every member signing.
    pub fn finish_epoch(&mut self) {
        let epoch = self.view(StakeManager::currentEpochCall {});
        while self.view(StakeManager::currentEpochCall {}) == epoch {
            let all = self.all_signed();
            self.end_block(all, U256::ZERO).expect("blockEnd");
        }
    }

    /// The bitmap in which every member of the previous block's set signed.
    pub fn all_signed(&mut self) -> U256 {
        let n = self.set_of(self.number.saturating_sub(1)).len();
        if n == 256 { U256::MAX } else { (U256::from(1) << n) - U256::from(1) }
    }

    /// The set that signs `height`.
    pub fn set_of(&mut self, height: u64) -> Vec<StakeManager::MemberInfo> {
        let epoch = self.view(StakeManager::epochOfCall { height });
        self.view(StakeManager::epochSetCall { epoch })
    }

    /// The set of the current epoch.
    pub fn current_set(&mut self) -> Vec<StakeManager::MemberInfo> {
        let epoch = self.view(StakeManager::currentEpochCall {});
        self.view(StakeManager::epochSetCall { epoch })
    }

    /// Registers a validator for `keys` with `stake`, proving possession of its key.
    pub fn create_validator(
        &mut self,
        keys: &Keys,
        stake: U256,
        commission: u16,
    ) -> Result<u64, Failed> {
        let pop = self.view(StakeManager::popHashCall { operator: keys.operator });
        self.fund(keys.operator, stake);
        self.send(
            keys.operator,
            StakeManager::createValidatorCall {
                pubkey: keys.pubkey(),
                proof: keys.sign(pop),
                commissionBps: commission,
            },
            stake,
        )
    }

    /// The contract's balance minus what it owes (never negative).
    pub fn surplus(&mut self) -> U256 {
        let owed = self.view(StakeManager::liabilitiesCall {});
        let balance = self.balance(STAKE_MANAGER);
        assert!(balance >= owed, "insolvent: balance {balance} < liabilities {owed}");
        balance - owed
    }
}

/// keccak256, for tests that build hashes.
pub fn hash(data: &[u8]) -> B256 {
    keccak256(data)
}

/// `unwrap_err` for results whose success type has no `Debug` (void calls).
pub trait Failing<E> {
    /// The error; panics if the call succeeded.
    fn failed(self) -> E;
}

impl<T, E> Failing<E> for Result<T, E> {
    fn failed(self) -> E {
        match self {
            Ok(_) => panic!("expected a failure, the call succeeded"),
            Err(e) => e,
        }
    }
}
