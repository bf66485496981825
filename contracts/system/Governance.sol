// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// StakeManager's parameters (the same layout as `StakeManager.Params`).
struct StakingParams {
    uint256 minSelfStake;
    uint256 minDelegation;
    uint32 maxValidators;
    uint32 minValidators;
    uint64 epochLength;
    uint64 unbondingEpochs;
    uint16 maxCommissionBps;
    uint16 maxCommissionChangeBps;
    uint16 stakingApyBps;
    uint64 blocksPerYear;
    uint64 signedBlocksWindow;
    uint64 downtimeJailBlocks;
    uint16 downtimeSlashBps;
    uint16 doubleSignSlashBps;
    uint64 evidenceMaxAge;
    uint16 reporterRewardBps;
}

/// The part of StakeManager that governance reads and drives.
interface IStakeManager {
    function setParams(StakingParams calldata p) external;
    function totalBonded() external view returns (uint256);
    function validatorCount() external view returns (uint64);
    function validatorOfOperator(address operator) external view returns (uint64);
    function stakeOf(uint64 id) external view returns (uint256);
    function delegation(uint64 id, address delegator)
        external
        view
        returns (uint256 shares, uint256 value, uint256 rewards);
}

/// @title Governance: stakers vote on the staking parameters (predeployed at 0x...1002)
/// @notice Anyone may propose a complete new parameter set for StakeManager with a deposit of
/// at least `MIN_DEPOSIT`. For `votingPeriod()` blocks, stakers vote Yes, No, NoWithVeto or
/// Abstain, weighted by stake: a validator's operator votes with its whole pool, and a
/// delegator who votes moves its own delegations from its validator's vote to its own. Once
/// the period is over anyone may `finalize`:
/// - passed: at least `QUORUM_BPS` of all bonded stake voted, Yes is over `THRESHOLD_BPS` of
///   the non-abstaining votes, and NoWithVeto is under `VETO_BPS` of all votes. The parameters
///   are sent to StakeManager (which applies them at its next epoch boundary) and the deposit
///   is refunded;
/// - rejected with quorum and without veto: the deposit is refunded;
/// - no quorum, or vetoed: the deposit is burned (stays locked here);
/// - passed, but StakeManager refused the parameters (they break one of its rules): Failed,
///   the deposit is refunded and nothing changes.
/// @dev Weights are read when the proposal is finalized (stake that moved during the vote
/// counts where it is then). Finalizing costs gas in the number of voters times validators.
contract Governance {
    /// The staking contract (0x...1000).
    IStakeManager internal constant STAKE_MANAGER = IStakeManager(0x0000000000000000000000000000000000001000);
    /// @notice Smallest deposit of a proposal: 1,000 BTT.
    uint256 public constant MIN_DEPOSIT = 1_000 ether;
    /// @notice Voting period when the genesis sets none, in blocks.
    uint64 public constant DEFAULT_VOTING_PERIOD = 256;
    /// Where the genesis puts the voting period (`config.bttc.governanceVotingPeriod`): a
    /// fixed slot, apart from the compiler's layout.
    bytes32 internal constant VOTING_PERIOD_SLOT = keccak256("bttc.governance.votingPeriod");
    /// @notice Share of all bonded stake that must vote.
    uint256 public constant QUORUM_BPS = 3_334;
    /// @notice Share of the non-abstaining votes that must be Yes (strictly more).
    uint256 public constant THRESHOLD_BPS = 5_000;
    /// @notice Share of all votes at which NoWithVeto rejects and burns the deposit.
    uint256 public constant VETO_BPS = 3_340;
    uint256 internal constant BPS = 10_000;

    /// @notice How a voter votes.
    enum VoteOption {
        None,
        Yes,
        No,
        NoWithVeto,
        Abstain
    }

    /// @notice Where a proposal stands.
    enum Status {
        None,
        Voting,
        Passed,
        Rejected,
        RejectedBurned,
        Failed
    }

    /// @notice A proposal.
    struct Proposal {
        address proposer;
        uint256 deposit;
        uint64 votingEnds; // last block votes are accepted
        Status status;
        StakingParams params;
        string description;
    }

    /// @notice The tally of a finalized proposal, in wei of stake.
    struct Tally {
        uint256 yes;
        uint256 no;
        uint256 veto;
        uint256 abstain;
        uint256 bonded;
    }

    Proposal[] internal proposals;
    mapping(uint256 => address[]) internal voters;
    mapping(uint256 => mapping(address => VoteOption)) public voteOf;
    mapping(uint256 => Tally) internal tallies;
    uint256 public totalBurned;
    /// Re-entrancy guard: 0 or 1 free, 2 taken (the predeployed code starts with 0).
    uint256 private locked;

    event Proposed(uint256 indexed id, address indexed proposer, uint256 deposit, uint64 votingEnds, string description);
    event Voted(uint256 indexed id, address indexed voter, VoteOption option);
    event Finalized(uint256 indexed id, Status status, uint256 yes, uint256 no, uint256 veto, uint256 abstain, uint256 bonded);

    error DepositTooLow(uint256 got, uint256 min);
    error UnknownProposal(uint256 id);
    error VotingClosed(uint256 id, uint64 votingEnds);
    error VotingOpen(uint256 id, uint64 votingEnds);
    error BadOption();
    error NoStake(address voter);
    error AlreadyFinalized(uint256 id, Status status);
    error TransferFailed(address to, uint256 amount);
    error Reentrant();

    modifier nonReentrant() {
        if (locked == 2) revert Reentrant();
        locked = 2;
        _;
        locked = 1;
    }

    /// @notice Blocks a proposal is open for votes: the genesis's
    /// `config.bttc.governanceVotingPeriod`, or `DEFAULT_VOTING_PERIOD` if it sets none.
    /// @return blocks the voting period
    function votingPeriod() public view returns (uint64 blocks) {
        bytes32 slot = VOTING_PERIOD_SLOT;
        assembly {
            blocks := and(sload(slot), 0xffffffffffffffff)
        }
        if (blocks == 0) blocks = DEFAULT_VOTING_PERIOD;
    }

    /// @notice Proposes `p` as the next staking parameters, with `msg.value` as deposit.
    /// @param p the complete parameter set (StakeManager checks it when it is applied)
    /// @param description what and why, for voters
    /// @return id the proposal's id
    function propose(StakingParams calldata p, string calldata description)
        external
        payable
        returns (uint256 id)
    {
        if (msg.value < MIN_DEPOSIT) revert DepositTooLow(msg.value, MIN_DEPOSIT);
        id = proposals.length;
        uint64 ends = uint64(block.number) + votingPeriod();
        proposals.push(Proposal(msg.sender, msg.value, ends, Status.Voting, p, description));
        emit Proposed(id, msg.sender, msg.value, ends, description);
    }

    /// @notice Votes on proposal `id` (again to change the vote). The caller must operate a
    /// validator or hold a delegation.
    /// @param id the proposal
    /// @param option Yes, No, NoWithVeto or Abstain
    function vote(uint256 id, VoteOption option) external {
        Proposal storage p = _proposal(id);
        if (p.status != Status.Voting || block.number > p.votingEnds) revert VotingClosed(id, p.votingEnds);
        if (option == VoteOption.None) revert BadOption();
        if (STAKE_MANAGER.validatorOfOperator(msg.sender) == 0 && _delegated(msg.sender) == 0) {
            revert NoStake(msg.sender);
        }
        if (voteOf[id][msg.sender] == VoteOption.None) voters[id].push(msg.sender);
        voteOf[id][msg.sender] = option;
        emit Voted(id, msg.sender, option);
    }

    /// @notice Counts the votes of proposal `id` once its voting period is over, applies it if
    /// it passed and settles the deposit.
    /// @param id the proposal
    /// @return status the outcome
    function finalize(uint256 id) external nonReentrant returns (Status status) {
        Proposal storage p = _proposal(id);
        if (p.status != Status.Voting) revert AlreadyFinalized(id, p.status);
        if (block.number <= p.votingEnds) revert VotingOpen(id, p.votingEnds);
        Tally memory t = _tally(id);
        uint256 cast = t.yes + t.no + t.veto + t.abstain;
        bool quorum = cast * BPS >= t.bonded * QUORUM_BPS && cast > 0;
        bool vetoed = quorum && t.veto * BPS >= cast * VETO_BPS;
        bool passed = quorum && !vetoed && t.yes * BPS > (t.yes + t.no + t.veto) * THRESHOLD_BPS;
        if (passed) {
            status = Status.Passed;
        } else if (quorum && !vetoed) {
            status = Status.Rejected;
        } else {
            status = Status.RejectedBurned;
        }
        if (passed) {
            try STAKE_MANAGER.setParams(p.params) {}
            catch {
                status = Status.Failed;
            }
        }
        p.status = status;
        tallies[id] = t;
        emit Finalized(id, status, t.yes, t.no, t.veto, t.abstain, t.bonded);
        if (status == Status.RejectedBurned) {
            totalBurned += p.deposit;
        } else {
            (bool ok,) = p.proposer.call{value: p.deposit}("");
            if (!ok) revert TransferFailed(p.proposer, p.deposit);
        }
    }

    /// @notice Proposal `id`.
    /// @param id the proposal
    /// @return the proposal
    function getProposal(uint256 id) external view returns (Proposal memory) {
        return _proposal(id);
    }

    /// @notice The tally of a finalized proposal `id`.
    /// @param id the proposal
    /// @return the tally
    function getTally(uint256 id) external view returns (Tally memory) {
        return tallies[id];
    }

    /// @notice How many proposals were made.
    /// @return the count
    function proposalCount() external view returns (uint256) {
        return proposals.length;
    }

    function _proposal(uint256 id) internal view returns (Proposal storage) {
        if (id >= proposals.length) revert UnknownProposal(id);
        return proposals[id];
    }

    /// A delegator's stake over all validators.
    function _delegated(address who) internal view returns (uint256 sum) {
        uint64 n = STAKE_MANAGER.validatorCount();
        for (uint64 v = 1; v <= n; v++) {
            (, uint256 value,) = STAKE_MANAGER.delegation(v, who);
            sum += value;
        }
    }

    /// Operators vote their validator's pool; a delegator that voted takes its own part out
    /// of its validator's vote.
    function _tally(uint256 id) internal view returns (Tally memory t) {
        uint64 n = STAKE_MANAGER.validatorCount();
        // Weight each validator's operator casts: its pool, less delegators that voted.
        uint256[] memory pool = new uint256[](n + 1);
        VoteOption[] memory opVote = new VoteOption[](n + 1);
        address[] storage vs = voters[id];
        for (uint256 i = 0; i < vs.length; i++) {
            uint64 op = STAKE_MANAGER.validatorOfOperator(vs[i]);
            if (op != 0) opVote[op] = voteOf[id][vs[i]];
        }
        for (uint64 v = 1; v <= n; v++) {
            if (opVote[v] != VoteOption.None) pool[v] = STAKE_MANAGER.stakeOf(v);
        }
        for (uint256 i = 0; i < vs.length; i++) {
            address voter = vs[i];
            VoteOption o = voteOf[id][voter];
            uint64 op = STAKE_MANAGER.validatorOfOperator(voter);
            for (uint64 v = 1; v <= n; v++) {
                if (v == op) continue; // the operator's own stake is in its pool's vote
                (, uint256 value,) = STAKE_MANAGER.delegation(v, voter);
                if (value == 0) continue;
                _add(t, o, value);
                if (opVote[v] != VoteOption.None) pool[v] -= value > pool[v] ? pool[v] : value;
            }
        }
        for (uint64 v = 1; v <= n; v++) {
            if (opVote[v] != VoteOption.None) _add(t, opVote[v], pool[v]);
        }
        t.bonded = STAKE_MANAGER.totalBonded();
    }

    function _add(Tally memory t, VoteOption o, uint256 w) internal pure {
        if (o == VoteOption.Yes) t.yes += w;
        else if (o == VoteOption.No) t.no += w;
        else if (o == VoteOption.NoWithVeto) t.veto += w;
        else if (o == VoteOption.Abstain) t.abstain += w;
    }
}
