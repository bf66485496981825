//! Proof-of-work difficulty before the merge (the Ethash difficulty adjustment and the
//! difficulty bomb, as each fork defines them).
//!
//! bttc does not verify proof of work itself (the nonce and mix hash are not checked against
//! the Ethash dataset), but a pre-merge block's difficulty must be the one its parent and
//! timestamp determine, as geth's `CalcDifficulty` computes it.

use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header};
use alloy_hardforks::{EthereumHardfork, EthereumHardforks};
use alloy_primitives::U256;
use bttc_chainspec::ChainSpec;

/// Least difficulty a proof-of-work block may have.
pub const MINIMUM_DIFFICULTY: u64 = 131_072;
/// The difficulty moves by parent difficulty / this per adjustment step.
const DIFFICULTY_BOUND_DIVISOR: u64 = 2048;
/// Blocks per doubling period of the difficulty bomb.
const EXP_DIFF_PERIOD: u64 = 100_000;

/// The difficulty a pre-merge block with `timestamp` on top of `parent` must carry.
pub fn expected_difficulty(spec: &ChainSpec, timestamp: u64, parent: &Header) -> U256 {
    let number = parent.number + 1;
    // Bomb delays in blocks: EIP-649, EIP-1234, EIP-2384, EIP-3554, EIP-4345, EIP-5133.
    let delay = [
        (EthereumHardfork::GrayGlacier, 11_400_000),
        (EthereumHardfork::ArrowGlacier, 10_700_000),
        (EthereumHardfork::London, 9_700_000),
        (EthereumHardfork::MuirGlacier, 9_000_000),
        (EthereumHardfork::Constantinople, 5_000_000),
        (EthereumHardfork::Byzantium, 3_000_000),
    ]
    .into_iter()
    .find(|(fork, _)| spec.is_ethereum_fork_active_at_block(*fork, number))
    .map(|(_, delay)| delay);
    let pd = parent.difficulty;
    let step = pd / U256::from(DIFFICULTY_BOUND_DIVISOR);
    let elapsed = timestamp.saturating_sub(parent.timestamp);
    // The adjustment factor: positive raises the difficulty by that many steps.
    let (up, factor) = if delay.is_some() {
        // EIP-100: uncles count, target 9 s.
        let base: u64 = if parent.ommers_hash == EMPTY_OMMER_ROOT_HASH { 1 } else { 2 };
        signed(base, elapsed / 9)
    } else if spec.is_homestead_active_at_block(number) {
        // EIP-2: target 10 s.
        signed(1, elapsed / 10)
    } else if elapsed < 13 {
        (true, 1)
    } else {
        (false, 1)
    };
    let mut diff = if up {
        pd.saturating_add(step.saturating_mul(U256::from(factor)))
    } else {
        pd.saturating_sub(step.saturating_mul(U256::from(factor.min(99))))
    };
    diff = diff.max(U256::from(MINIMUM_DIFFICULTY));
    // The bomb: doubles every 100,000 blocks, counted from the fork's delay.
    let fake_number = match delay {
        Some(delay) => number.saturating_sub(delay),
        None => number,
    };
    let periods = fake_number / EXP_DIFF_PERIOD;
    if periods > 1 {
        let bomb = if periods - 2 >= 256 { U256::MAX } else { U256::from(1u8) << (periods - 2) };
        diff = diff.saturating_add(bomb);
    }
    diff
}

/// `base - sub` as a direction and a magnitude.
fn signed(base: u64, sub: u64) -> (bool, u64) {
    if sub <= base { (true, base - sub) } else { (false, sub - base) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(config: &str) -> ChainSpec {
        ChainSpec::from_json(&format!(
            r#"{{"config": {{"chainId": 1 {config}}}, "gasLimit": "0x1000000",
                "difficulty": "0x20000", "alloc": {{}}}}"#
        ))
        .unwrap()
    }

    fn parent(number: u64, timestamp: u64, difficulty: u64) -> Header {
        Header { number, timestamp, difficulty: U256::from(difficulty), ..Default::default() }
    }

    #[test]
    fn frontier_homestead_and_byzantium_rules() {
        let frontier = spec("");
        let d = 1_000_000_000u64;
        let step = d / 2048;
        // Frontier: +step under 13 s, -step from 13 s on.
        assert_eq!(expected_difficulty(&frontier, 112, &parent(9, 100, d)), U256::from(d + step));
        assert_eq!(expected_difficulty(&frontier, 113, &parent(9, 100, d)), U256::from(d - step));
        // Homestead: 1 - elapsed/10, at least -99.
        let homestead = spec(r#", "homesteadBlock": 0"#);
        assert_eq!(expected_difficulty(&homestead, 109, &parent(9, 100, d)), U256::from(d + step));
        assert_eq!(expected_difficulty(&homestead, 110, &parent(9, 100, d)), U256::from(d));
        assert_eq!(
            expected_difficulty(&homestead, 135, &parent(9, 100, d)),
            U256::from(d - 2 * step)
        );
        assert_eq!(
            expected_difficulty(&homestead, 100_000, &parent(9, 100, d)),
            U256::from(d - 99 * step)
        );
        // Byzantium: uncles raise the base by one, target 9 s.
        let byz = spec(
            r#", "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0"#,
        );
        assert_eq!(expected_difficulty(&byz, 109, &parent(9, 100, d)), U256::from(d));
        let mut with_uncles = parent(9, 100, d);
        with_uncles.ommers_hash = alloy_primitives::B256::repeat_byte(1);
        assert_eq!(expected_difficulty(&byz, 109, &with_uncles), U256::from(d + step));
        // Never under the minimum.
        assert_eq!(
            expected_difficulty(&frontier, 200, &parent(1, 100, MINIMUM_DIFFICULTY)),
            U256::from(MINIMUM_DIFFICULTY)
        );
    }

    #[test]
    fn the_bomb_doubles_every_period_after_its_delay() {
        let frontier = spec("");
        let d = 1u64 << 40;
        let step = d / 2048;
        // Block 200,000: period 2, bomb 2^0.
        assert_eq!(
            expected_difficulty(&frontier, 101, &parent(199_999, 100, d)),
            U256::from(d + step + 1)
        );
        assert_eq!(
            expected_difficulty(&frontier, 101, &parent(499_999, 100, d)),
            U256::from(d + step + 8)
        );
        // Byzantium delays it by 3,000,000 blocks.
        let byz = spec(
            r#", "homesteadBlock": 0, "eip150Block": 0, "eip155Block": 0, "eip158Block": 0, "byzantiumBlock": 0"#,
        );
        assert_eq!(expected_difficulty(&byz, 109, &parent(3_199_999, 100, d)), U256::from(d + 1));
        assert_eq!(expected_difficulty(&byz, 109, &parent(3_100_000, 100, d)), U256::from(d));
    }
}
