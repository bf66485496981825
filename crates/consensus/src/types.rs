//! The consensus messages over our types: heights, validator addresses, the value (a block,
//! identified by its hash), proposals, votes and proposal parts.

use crate::BttcContext;
use alloy_primitives::{Address, B256, Bytes};
use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_core_types::{self as mct, NilOrVal, Round, SignedExtension, VoteType};
use std::fmt;

/// A block number as a consensus height. Height 0 is genesis, which is never decided; the
/// first decided height is 1.
#[derive(
    Copy,
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct BlockHeight(pub u64);

impl fmt::Display for BlockHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mct::Height for BlockHeight {
    const ZERO: Self = Self(0);
    const INITIAL: Self = Self(1);

    fn increment_by(&self, n: u64) -> Self {
        Self(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Self)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's Ethereum address (keccak of its secp256k1 public key).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mct::Address for ValidatorAddress {}

impl BorshSerialize for ValidatorAddress {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(self.0.as_slice())
    }
}

impl BorshDeserialize for ValidatorAddress {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let mut b = [0u8; 20];
        reader.read_exact(&mut b)?;
        Ok(Self(Address::from(b)))
    }
}

pub(crate) fn write_b256<W: std::io::Write>(h: &B256, w: &mut W) -> std::io::Result<()> {
    w.write_all(h.as_slice())
}

pub(crate) fn read_b256<R: std::io::Read>(r: &mut R) -> std::io::Result<B256> {
    let mut b = [0u8; 32];
    r.read_exact(&mut b)?;
    Ok(B256::from(b))
}

/// The value consensus decides on: a block, identified by its hash. The block itself travels
/// as [`ProposalPart`]s and is kept by the application until it is decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockValue(pub B256);

impl BlockValue {
    /// The block hash.
    pub const fn hash(&self) -> B256 {
        self.0
    }
}

impl fmt::Display for BlockValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl mct::Value for BlockValue {
    type Id = Self;

    fn id(&self) -> Self::Id {
        *self
    }
}

impl BorshSerialize for BlockValue {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        write_b256(&self.0, writer)
    }
}

impl BorshDeserialize for BlockValue {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        read_b256(reader).map(Self)
    }
}

/// A proposal: `proposer` proposes block `value` at `height`/`round`; `pol_round` is the round
/// of the proof of lock it re-proposes (nil for a fresh block).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height.
    pub height: BlockHeight,
    /// Round.
    pub round: Round,
    /// The block's hash.
    pub value: BlockValue,
    /// Proof-of-lock round, or nil.
    pub pol_round: Round,
    /// Who proposes.
    pub proposer: ValidatorAddress,
}

impl mct::Proposal<BttcContext> for Proposal {
    fn height(&self) -> BlockHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockValue {
        &self.value
    }
    fn take_value(self) -> BlockValue {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// A prevote or precommit for a block hash or nil.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub vote_type: VoteType,
    /// Height.
    pub height: BlockHeight,
    /// Round.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockValue>,
    /// The voter.
    pub validator: ValidatorAddress,
    /// A precommit's vote extension (a checkpoint signature at checkpoint heights), signed
    /// apart from the vote and bound to its scope ([`crate::extension_signing_hash`]).
    pub extension: Option<SignedExtension<BttcContext>>,
}

impl mct::Vote<BttcContext> for Vote {
    fn height(&self) -> BlockHeight {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockValue> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockValue> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<BttcContext>> {
        self.extension.as_ref()
    }
    fn take_extension(&mut self) -> Option<SignedExtension<BttcContext>> {
        self.extension.take()
    }
    fn extend(self, extension: SignedExtension<BttcContext>) -> Self {
        Self { extension: Some(extension), ..self }
    }
}

/// One piece of a streamed proposal: `Init`, then the block's RLP in `Data` chunks, then
/// `Fin` with the proposer's signature over the proposal (height, round, block hash).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ProposalPart {
    /// Opens the stream.
    Init {
        /// Height.
        height: BlockHeight,
        /// Round.
        round: Round,
        /// Proof-of-lock round (nil for a fresh block).
        pol_round: Round,
        /// Who proposes.
        proposer: ValidatorAddress,
    },
    /// A chunk of the block's RLP encoding.
    Data(#[borsh(serialize_with = "ser_bytes", deserialize_with = "de_bytes")] Bytes),
    /// Closes the stream: the proposer's signature over [`crate::proposal_signing_hash`].
    Fin(crate::EthSignature),
}

fn ser_bytes<W: std::io::Write>(b: &Bytes, w: &mut W) -> std::io::Result<()> {
    BorshSerialize::serialize(&b.as_ref(), w)
}

fn de_bytes<R: std::io::Read>(r: &mut R) -> std::io::Result<Bytes> {
    let v: Vec<u8> = BorshDeserialize::deserialize_reader(r)?;
    Ok(Bytes::from(v))
}

impl mct::ProposalPart<BttcContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init { .. })
    }
    fn is_last(&self) -> bool {
        matches!(self, Self::Fin(_))
    }
}
