//! `RootChain` (contracts/root/RootChain.sol) run in bttc's own EVM: checkpoints signed by
//! more than 2/3 of the trusted set's stake are accepted in order, with BTTC's header block
//! ids; the set is handed over when a checkpoint names a new one; and the contract refuses
//! 2 of 4 equal validators, a wrong set, a replay, a gap, a wrong chain id, a tampered root
//! hash, a duplicated signer, unsorted signatures and a high-s signature.

mod support;

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolConstructor};
use bttc_contracts::{deployed_account, root_chain::RootChain as RC};
use support::{Chain, Failed, Failing, Keys};

const CHILD: u64 = 199_199;
const ROOT: Address = Address::repeat_byte(0xc0);
const SUBMITTER: Address = Address::repeat_byte(0x5b);

/// A validator set as the root keeps it: members ascending by address, with powers.
#[derive(Clone)]
struct Set {
    keys: Vec<Keys>,
    powers: Vec<u64>,
}

impl Set {
    fn new(seeds: &[u8], powers: &[u64]) -> Self {
        let mut members: Vec<(Keys, u64)> =
            seeds.iter().map(|s| Keys::new(*s)).zip(powers.iter().copied()).collect();
        members.sort_by_key(|(k, _)| k.signer());
        Self {
            keys: members.iter().map(|(k, _)| k.clone()).collect(),
            powers: members.iter().map(|(_, p)| *p).collect(),
        }
    }
    fn signers(&self) -> Vec<Address> {
        self.keys.iter().map(Keys::signer).collect()
    }
    fn powers(&self) -> Vec<U256> {
        self.powers.iter().map(|p| U256::from(*p)).collect()
    }
    fn hash(&self) -> B256 {
        alloy_primitives::keccak256(alloy_sol_types::SolValue::abi_encode_params(&(
            self.signers(),
            self.powers(),
        )))
    }
}

/// `keccak256(0x01 ‖ abi.encode(chainId, start, end, root, current, next))`, written here
/// independently of the contract.
fn digest(chain_id: u64, start: u64, end: u64, root: B256, current: B256, next: B256) -> B256 {
    let mut b = vec![0x01];
    b.extend_from_slice(&alloy_sol_types::SolValue::abi_encode_params(&(
        U256::from(chain_id),
        U256::from(start),
        U256::from(end),
        root,
        current,
        next,
    )));
    alloy_primitives::keccak256(b)
}

struct Root {
    chain: Chain,
}

struct Checkpoint {
    chain_id: u64,
    start: u64,
    end: u64,
    root: B256,
    next: B256,
}

impl Root {
    fn deploy(set: &Set, last_child_block: u64) -> Self {
        let args = RC::constructorCall {
            childChainId_: U256::from(CHILD),
            setHash: set.hash(),
            lastChildBlock: U256::from(last_child_block),
        };
        let mut init = RC::BYTECODE.to_vec();
        init.extend_from_slice(&args.abi_encode());
        let account = deployed_account(CHILD, init).expect("RootChain deploys");
        let mut chain = Chain::from_alloc([(ROOT, account)]);
        chain.fund(SUBMITTER, U256::from(10u64).pow(U256::from(20)));
        Self { chain }
    }

    fn submit_with(&mut self, c: &Checkpoint, set: &Set, sigs: Vec<Bytes>) -> Result<U256, Failed> {
        let call = RC::submitCheckpointCall {
            chainId: U256::from(c.chain_id),
            start: U256::from(c.start),
            end: U256::from(c.end),
            root: c.root,
            nextSetHash: c.next,
            signers: set.signers(),
            powers: set.powers(),
            sigs,
        };
        self.chain.send_to(SUBMITTER, ROOT, call, U256::ZERO)
    }

    /// Signed by the members at `signing` (indices into the set's ascending order) over the
    /// digest of `c` with `signed_as` as the current set hash.
    fn sigs(c: &Checkpoint, set: &Set, signing: &[usize], signed_as: B256) -> Vec<Bytes> {
        let d = digest(c.chain_id, c.start, c.end, c.root, signed_as, c.next);
        signing.iter().map(|i| set.keys[*i].sign(d)).collect()
    }

    fn submit(&mut self, c: &Checkpoint, set: &Set, signing: &[usize]) -> Result<U256, Failed> {
        let sigs = Self::sigs(c, set, signing, set.hash());
        self.submit_with(c, set, sigs)
    }

    fn view<C: SolCall>(&mut self, call: C) -> C::Return {
        self.chain.send_to(Address::ZERO, ROOT, call, U256::ZERO).expect("a view")
    }
}

fn cp(start: u64, end: u64, root: u8, next: B256) -> Checkpoint {
    Checkpoint { chain_id: CHILD, start, end, root: B256::repeat_byte(root), next }
}

#[test]
fn checkpoints_need_two_thirds_of_the_stake_and_come_in_order() {
    let set = Set::new(&[1, 2, 3, 4], &[100, 100, 100, 100]);
    let mut root = Root::deploy(&set, 0);
    let h = set.hash();
    assert_eq!(root.view(RC::setHashCall { signers: set.signers(), powers: set.powers() }), h);
    let c1 = cp(1, 32, 0xaa, h);
    let want = digest(CHILD, 1, 32, c1.root, h, h);
    let got = root.view(RC::checkpointDigestCall {
        start: U256::from(1),
        end: U256::from(32),
        root: c1.root,
        currentSetHash: h,
        nextSetHash: h,
    });
    assert_eq!(got, want, "the contract's digest is the one the node signs");

    // 2 of 4 equal validators: refused; 3 of 4: accepted as header block 10,000.
    let e = root.submit(&c1, &set, &[0, 2]).failed();
    assert!(e.reason.contains("NotEnoughPower"), "{}", e.reason);
    assert_eq!(root.submit(&c1, &set, &[0, 1, 3]).unwrap(), U256::from(10_000));
    let hb = root.view(RC::headerBlocksCall(U256::from(10_000)));
    assert_eq!(
        (hb.root, hb.start, hb.end, hb.proposer),
        (c1.root, U256::from(1), U256::from(32), SUBMITTER)
    );
    assert_eq!(root.view(RC::currentHeaderBlockCall {}), U256::from(10_000));
    assert_eq!(root.view(RC::getLastChildBlockCall {}), U256::from(32));

    // A replay, an overlap and a gap are refused; the next range is accepted as 20,000.
    for (start, end) in [(1, 32), (20, 40), (34, 64)] {
        let e = root.submit(&cp(start, end, 0xbb, h), &set, &[0, 1, 2, 3]).failed();
        assert!(e.reason.contains("NotContiguous"), "{start}..{end}: {}", e.reason);
    }
    let e = root.submit(&cp(33, 32, 0xbb, h), &set, &[0, 1, 2]).failed();
    assert!(e.reason.contains("BadRange"), "{}", e.reason);
    let e = root.submit(&cp(33, 33 + (1 << 15), 0xbb, h), &set, &[0, 1, 2]).failed();
    assert!(e.reason.contains("BadRange"), "{}", e.reason);
    assert_eq!(root.submit(&cp(33, 64, 0xbb, h), &set, &[1, 2, 3]).unwrap(), U256::from(20_000));

    // Unequal stake: one validator with 70% alone is enough; the other three (30%) are not.
    let heavy = Set::new(&[5, 6, 7, 8], &[700, 100, 100, 100]);
    let mut root = Root::deploy(&heavy, 100);
    let big = heavy.powers.iter().position(|p| *p == 700).unwrap();
    let rest: Vec<usize> = (0..4).filter(|i| *i != big).collect();
    let c = cp(101, 200, 0xcc, heavy.hash());
    let e = root.submit(&c, &heavy, &rest).failed();
    assert!(e.reason.contains("NotEnoughPower"), "{}", e.reason);
    assert_eq!(root.submit(&c, &heavy, &[big]).unwrap(), U256::from(10_000));
}

#[test]
fn forged_and_malformed_submissions_are_refused() {
    let set = Set::new(&[1, 2, 3, 4], &[100, 100, 100, 100]);
    let h = set.hash();
    let mut root = Root::deploy(&set, 0);
    let c = cp(1, 10, 0xaa, h);
    let reason = |r: Result<U256, Failed>| r.failed().reason;

    // A wrong chain id, even if the validators signed it.
    let mut other = cp(1, 10, 0xaa, h);
    other.chain_id = CHILD + 1;
    assert!(reason(root.submit(&other, &set, &[0, 1, 2])).contains("WrongChainId"));
    // A wrong set: other keys, or the right keys with other powers.
    let impostors = Set::new(&[9, 10, 11, 12], &[100, 100, 100, 100]);
    assert!(reason(root.submit(&c, &impostors, &[0, 1, 2, 3])).contains("SetMismatch"));
    let inflated = Set { powers: vec![100, 100, 100, 1000], ..set.clone() };
    assert!(reason(root.submit(&c, &inflated, &[3])).contains("SetMismatch"));
    // A tampered root hash: the signatures are over another digest, so they recover to
    // addresses outside the set.
    let sigs = Root::sigs(&c, &set, &[0, 1, 2], h);
    let tampered = cp(1, 10, 0xab, h);
    assert!(reason(root.submit_with(&tampered, &set, sigs.clone())).contains("SignerNotInSet"));
    // A duplicated signer, and signatures out of order.
    let dup = vec![sigs[0].clone(), sigs[0].clone(), sigs[1].clone()];
    assert!(reason(root.submit_with(&c, &set, dup)).contains("SignersNotAscending"));
    let unsorted = vec![sigs[1].clone(), sigs[0].clone(), sigs[2].clone()];
    assert!(reason(root.submit_with(&c, &set, unsorted)).contains("SignersNotAscending"));
    // A high-s copy of a valid signature (s' = n - s, v flipped): refused.
    let n = U256::from_str_radix(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
        16,
    )
    .unwrap();
    let mut high = sigs[0].to_vec();
    let s = U256::from_be_slice(&high[32..64]);
    high[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    high[64] = if high[64] == 27 { 28 } else { 27 };
    let e = reason(root.submit_with(&c, &set, vec![high.into(), sigs[1].clone(), sigs[2].clone()]));
    assert!(e.contains("HighS"), "{e}");
    // A short signature and a bad v.
    let short = Bytes::copy_from_slice(&sigs[0][..64]);
    assert!(reason(root.submit_with(&c, &set, vec![short])).contains("BadSignature"));
    let mut bad_v = sigs[0].to_vec();
    bad_v[64] = 1;
    assert!(reason(root.submit_with(&c, &set, vec![bad_v.into()])).contains("BadSignature"));
    // Nothing was stored by any of that; the honest submission still goes through.
    assert_eq!(root.view(RC::currentHeaderBlockCall {}), U256::ZERO);
    assert_eq!(root.submit_with(&c, &set, sigs).unwrap(), U256::from(10_000));
}

#[test]
fn a_new_set_takes_over_and_the_old_one_can_no_longer_submit() {
    let old = Set::new(&[1, 2, 3, 4], &[100, 100, 100, 100]);
    let new = Set::new(&[1, 2, 3, 4, 5], &[100, 100, 100, 100, 250]);
    let mut root = Root::deploy(&old, 0);
    // The old set signs the epoch's last checkpoint naming the new set.
    root.submit(&cp(1, 64, 0x01, new.hash()), &old, &[0, 1, 2]).unwrap();
    assert_eq!(root.view(RC::validatorSetHashCall {}), new.hash());
    // The old set signs the next range as if nothing changed: refused (its hash is no
    // longer trusted), even with all four signatures.
    let c = cp(65, 128, 0x02, old.hash());
    let e = root.submit(&c, &old, &[0, 1, 2, 3]).failed();
    assert!(e.reason.contains("SetMismatch"), "{}", e.reason);
    // The old members' signatures under the new set's hash are not enough (400 of 650).
    let four: Vec<usize> = (0..5).filter(|i| new.powers[*i] == 100).collect();
    let c = cp(65, 128, 0x02, new.hash());
    let e = root.submit(&c, &new, &four).failed();
    assert!(e.reason.contains("NotEnoughPower"), "{}", e.reason);
    // The new set with its heavy member: accepted.
    let mut with_new: Vec<usize> = four[..2].to_vec();
    with_new.push(new.powers.iter().position(|p| *p == 250).unwrap());
    with_new.sort();
    assert_eq!(root.submit(&c, &new, &with_new).unwrap(), U256::from(20_000));
}
