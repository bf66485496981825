// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title StakeManager: bttc's staking system contract (predeployed at 0x...1000)
/// @notice Validators stake BTT (the native token) and holders delegate to them. Stakers are
/// paid the block's base fees and new issuance, split by voting power among the validators
/// that signed; each validator's commission comes out of its delegators' share. Double signing
/// and downtime are slashed here, and the validator set of every epoch is elected here from
/// stake. The node calls `blockEnd` at the end of every block as the system address
/// (0xff..fe, no gas charged to the block) and reads the elected set with `epochSet`.
/// @dev Money model. Every delegation (a validator's self-stake is its operator's delegation)
/// holds shares of its validator's pool: `value = shares * stake / totalShares`. A slash lowers
/// `stake` and so every delegation pro-rata. Rewards do not change `stake`: they accumulate per
/// share in `acc` (scaled by 1e24, remainders carried in `carry`) and are claimed. All
/// roundings favour the contract, so `address(this).balance >= liabilities()` always holds.
/// Slashed stake (less a reporter's reward) stays locked in this contract for ever, counted in
/// `totalBurned`: a system call touches no account but this one.
contract StakeManager {
    /// @notice The caller of the node's system calls.
    address public constant SYSTEM = 0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE;
    /// @notice The governance contract, the only account that may change parameters.
    address public constant GOVERNANCE = 0x0000000000000000000000000000000000001002;
    /// @notice Basis points in one whole.
    uint256 public constant BPS = 10_000;
    /// @notice One unit of voting power: 1 BTT.
    uint256 public constant POWER_UNIT = 1 ether;
    /// @notice The largest validator set (the node passes signers as a 256-bit bitmap).
    uint256 public constant MAX_SET = 256;
    /// Scale of `acc`. With shares counted in wei, a delegation of s shares loses less than
    /// s / 1e24 wei to rounding over its whole life (under 1 gwei for 990 trillion BTT), and
    /// `shares * acc` stays far below 2^256 at that scale (see `_rewardAndTrack`).
    uint256 internal constant ACC = 1e24;

    /// @notice Parameters; governance may replace them, effective at the next epoch.
    struct Params {
        uint256 minSelfStake; // wei an operator keeps delegated to its own validator to be elected
        uint256 minDelegation; // smallest delegation, in wei
        uint32 maxValidators; // size of an elected set (<= MAX_SET)
        uint32 minValidators; // an election that yields fewer keeps the previous set
        uint64 epochLength; // blocks per epoch
        uint64 unbondingEpochs; // epochs an undelegation waits before it can be withdrawn
        uint16 maxCommissionBps; // commission cap
        uint16 maxCommissionChangeBps; // largest change per edit; one edit per epoch
        uint16 stakingApyBps; // yearly issuance on the active stake
        uint64 blocksPerYear; // issuance is spread over this many blocks
        uint64 signedBlocksWindow; // blocks over which liveness is judged
        uint64 downtimeJailBlocks; // jail time for downtime
        uint16 downtimeSlashBps; // slash for downtime
        uint16 doubleSignSlashBps; // slash for double signing (and tombstone)
        uint64 evidenceMaxAge; // oldest height evidence may concern, in blocks
        uint16 reporterRewardBps; // share of a double-sign slash paid to the reporter
    }

    /// @notice A validator.
    struct Validator {
        address operator; // holds the self-stake, edits, claims commission
        address signer; // the consensus key's address
        address pendingSigner; // takes effect at the next epoch
        uint16 commissionBps;
        uint64 commissionEpoch; // epoch of the last commission edit
        uint64 jailedUntil; // block from which `unjail` is allowed
        bool jailed;
        bool tombstoned; // double-signed: never elected again
        uint64 missed; // blocks missed within the window
        uint64 window; // the window size the liveness bitmap was kept for
        uint256 stake; // wei behind the shares
        uint256 shares;
        uint256 acc; // rewards per share, x 1e24
        uint256 carry; // remainder of the last `acc` division
        uint256 commission; // unclaimed commission (operator)
    }

    /// @notice A delegation of one delegator to one validator.
    struct Delegation {
        uint256 shares;
        uint256 debt; // shares * acc at the last settlement (unscaled)
        uint256 owed; // settled, unclaimed rewards (wei)
    }

    /// @notice Stake on its way out: withdrawable from `releaseAt`.
    struct Unbonding {
        address delegator;
        uint64 validator;
        uint64 createdAt;
        uint64 releaseAt;
        uint256 amount;
    }

    /// @notice A move between validators; slashable for the source's earlier faults until `releaseAt`.
    struct Redelegation {
        address delegator;
        uint64 src;
        uint64 dst;
        uint64 createdAt;
        uint64 releaseAt;
        uint256 amount;
    }

    /// @notice A member of an epoch's validator set.
    struct Member {
        uint64 id;
        uint64 power;
        address signer;
    }

    /// @notice A member as the node and wallets see it.
    struct MemberInfo {
        uint64 id;
        uint64 power;
        address signer;
        address operator;
        bytes pubkey; // 64 bytes, x || y
    }

    /// @notice A vote as bttc's consensus signs it (see `voteHash`).
    struct Vote {
        uint8 voteType; // 1 prevote, 2 precommit
        uint64 height;
        int64 round;
        bytes32 value; // zero when nil
        bool nil;
        bytes signature; // r || s || v, v 27 or 28
    }

    /// @notice A proposal as bttc's consensus signs it (see `proposalHash`).
    struct Proposal {
        uint64 height;
        int64 round;
        bytes32 value; // the proposed block's hash
        int64 polRound; // -1 when none
        bytes signature; // r || s || v, v 27 or 28
    }

    Params public params;
    Params internal pendingParams;
    bool public paramsPending;

    uint64 public validatorCount;
    mapping(uint64 => Validator) internal validators;
    mapping(address => uint64) public validatorOfOperator;
    mapping(address => uint64) public validatorOfSigner; // every signer ever used, never reused
    mapping(address => bytes) internal signerKeys;
    mapping(uint64 => mapping(address => Delegation)) internal delegations;
    mapping(uint64 => mapping(uint256 => uint256)) internal missedBits;

    Unbonding[] internal unbondings;
    mapping(address => uint256[]) internal unbondingsOf;
    mapping(uint64 => uint256[]) internal unbondingsFrom;
    Redelegation[] internal redelegations;
    mapping(uint64 => uint256[]) internal redelegationsFrom;

    uint64 public currentEpoch;
    uint64[] internal epochStarts; // epochStarts[e] = first block of epoch e
    mapping(uint64 => Member[]) internal sets;
    mapping(uint64 => uint256) public epochStake; // stake of the set when elected

    uint256 public totalBonded; // sum of validators' stake
    uint256 public totalUnbonding; // sum of unwithdrawn unbonding amounts
    uint256 public rewardPool; // rewards received and not yet paid out (incl. dust)
    uint256 public undistributed; // part of rewardPool not yet assigned to a validator
    uint256 public totalMinted; // issuance so far
    uint256 public totalFees; // base fees received so far
    uint256 public totalBurned; // slashed, locked here for ever

    uint256 private locked = 1;

    event ValidatorCreated(uint64 indexed id, address indexed operator, address signer, uint256 stake);
    event CommissionChanged(uint64 indexed id, uint16 commissionBps);
    event SignerChangeRequested(uint64 indexed id, address signer);
    event SignerChanged(uint64 indexed id, address oldSigner, address newSigner);
    event Delegated(uint64 indexed id, address indexed delegator, uint256 amount, uint256 shares);
    event Undelegated(uint64 indexed id, address indexed delegator, uint256 amount, uint256 unbondingId, uint64 releaseAt);
    event Redelegated(uint64 indexed src, uint64 indexed dst, address indexed delegator, uint256 amount);
    event Withdrawn(address indexed delegator, uint256 amount);
    event RewardsClaimed(uint64 indexed id, address indexed account, uint256 amount);
    event Jailed(uint64 indexed id, uint64 until, string reason);
    event Unjailed(uint64 indexed id);
    event Slashed(uint64 indexed id, uint256 amount, uint16 bps, uint64 infractionHeight, string reason);
    event Tombstoned(uint64 indexed id);
    event EpochStarted(uint64 indexed epoch, uint64 startBlock, uint256 validators, uint256 stake);
    event ElectionKeptPreviousSet(uint64 indexed epoch, uint256 eligible);
    event ParamsScheduled();
    event ParamsApplied(uint64 indexed epoch);

    error NotSystem(address caller);
    error NotGovernance(address caller);
    error Reentrant();
    error BadParams(string what);
    error BadPubkey(uint256 length);
    error BadProofOfPossession(address recovered, address expected);
    error SignerInUse(address signer, uint64 validator);
    error AlreadyValidator(address operator, uint64 validator);
    error NotOperator(address caller);
    error UnknownValidator(uint64 id);
    error StakeTooLow(uint256 got, uint256 min);
    error CommissionTooHigh(uint16 got, uint16 max);
    error CommissionChangeTooLarge(uint16 from, uint16 to, uint16 maxChange);
    error CommissionEditedThisEpoch(uint64 epoch);
    error ValidatorTombstoned(uint64 id);
    error NotJailed(uint64 id);
    error StillJailed(uint64 id, uint64 until, uint64 now_);
    error NoShares(uint64 id, address delegator);
    error AmountTooLarge(uint256 got, uint256 max);
    error ZeroAmount();
    error PoolEmptied(uint64 id);
    error SameValidator(uint64 id);
    error BadEvidence(string why);
    error EvidenceTooOld(uint64 height, uint64 now_, uint64 maxAge);
    error TransferFailed(address to, uint256 amount);
    error BitmapTooWide(uint256 setSize);
    error HeightInFuture(uint64 height);

    modifier onlySystem() {
        if (msg.sender != SYSTEM) revert NotSystem(msg.sender);
        _;
    }

    modifier nonReentrant() {
        if (locked != 1) revert Reentrant();
        locked = 2;
        _;
        locked = 1;
    }

    /// @notice Builds the genesis state. Run once by the genesis builder; the contract's balance
    /// in the genesis must equal the sum of `stakes`.
    /// @param p the initial parameters (the genesis `config.bttc` values)
    /// @param operators each genesis validator's operator (holder of its self-stake)
    /// @param pubkeys each genesis validator's 64-byte consensus public key (x || y)
    /// @param stakes each genesis validator's self-stake in wei
    /// @param commissions each genesis validator's commission in basis points
    constructor(
        Params memory p,
        address[] memory operators,
        bytes[] memory pubkeys,
        uint256[] memory stakes,
        uint16[] memory commissions
    ) {
        _checkParams(p);
        params = p;
        uint256 n = operators.length;
        if (n == 0 || pubkeys.length != n || stakes.length != n || commissions.length != n) {
            revert BadParams("genesis validator lists");
        }
        epochStarts.push(0);
        for (uint256 i = 0; i < n; i++) {
            if (stakes[i] < p.minSelfStake) revert StakeTooLow(stakes[i], p.minSelfStake);
            if (commissions[i] > p.maxCommissionBps) revert CommissionTooHigh(commissions[i], p.maxCommissionBps);
            address signer = _signerOf(pubkeys[i]);
            uint64 id = _register(operators[i], signer, pubkeys[i], commissions[i]);
            _mint(id, operators[i], stakes[i]);
            emit ValidatorCreated(id, operators[i], signer, stakes[i]);
        }
        uint256 stake = _elect(0);
        if (sets[0].length == 0) revert BadParams("no genesis validator is eligible");
        epochStake[0] = stake;
        emit EpochStarted(0, 0, sets[0].length, stake);
    }

    // ------------------------------------------------------------------ validators

    /// @notice Registers the caller as the operator of a new validator with `msg.value` self-stake.
    /// @param pubkey the consensus key, 64 bytes (x || y, uncompressed without the 0x04 prefix)
    /// @param proof the consensus key's signature (r || s || v) over `popHash(msg.sender)`,
    /// proving the key is held and is a valid secp256k1 point
    /// @param commissionBps commission on delegators' rewards, at most `maxCommissionBps`
    /// @return id the new validator's id
    function createValidator(bytes calldata pubkey, bytes calldata proof, uint16 commissionBps)
        external
        payable
        nonReentrant
        returns (uint64 id)
    {
        if (validatorOfOperator[msg.sender] != 0) {
            revert AlreadyValidator(msg.sender, validatorOfOperator[msg.sender]);
        }
        if (msg.value < params.minSelfStake) revert StakeTooLow(msg.value, params.minSelfStake);
        if (commissionBps > params.maxCommissionBps) revert CommissionTooHigh(commissionBps, params.maxCommissionBps);
        address signer = _checkKey(pubkey, proof, msg.sender);
        id = _register(msg.sender, signer, pubkey, commissionBps);
        validators[id].commissionEpoch = currentEpoch;
        _mint(id, msg.sender, msg.value);
        emit ValidatorCreated(id, msg.sender, signer, msg.value);
    }

    /// @notice Changes the caller's validator's commission: at most `maxCommissionChangeBps`
    /// up or down per edit, one edit per epoch, never above `maxCommissionBps`.
    /// @param commissionBps the new commission in basis points
    function editCommission(uint16 commissionBps) external {
        uint64 id = _operated(msg.sender);
        Validator storage v = validators[id];
        if (commissionBps > params.maxCommissionBps) revert CommissionTooHigh(commissionBps, params.maxCommissionBps);
        if (v.commissionEpoch == currentEpoch) revert CommissionEditedThisEpoch(currentEpoch);
        uint16 diff = commissionBps > v.commissionBps ? commissionBps - v.commissionBps : v.commissionBps - commissionBps;
        if (diff > params.maxCommissionChangeBps) {
            revert CommissionChangeTooLarge(v.commissionBps, commissionBps, params.maxCommissionChangeBps);
        }
        v.commissionBps = commissionBps;
        v.commissionEpoch = currentEpoch;
        emit CommissionChanged(id, commissionBps);
    }

    /// @notice Replaces the caller's validator's consensus key from the next epoch on.
    /// @param pubkey the new key, 64 bytes (x || y)
    /// @param proof the new key's signature over `popHash(msg.sender)`
    function editSigner(bytes calldata pubkey, bytes calldata proof) external {
        uint64 id = _operated(msg.sender);
        address signer = _checkKey(pubkey, proof, msg.sender);
        validatorOfSigner[signer] = id;
        signerKeys[signer] = pubkey;
        validators[id].pendingSigner = signer;
        emit SignerChangeRequested(id, signer);
    }

    /// @notice Lets the caller's jailed validator be elected again, once its jail time is over
    /// and its self-stake is at least `minSelfStake`.
    function unjail() external {
        uint64 id = _operated(msg.sender);
        Validator storage v = validators[id];
        if (v.tombstoned) revert ValidatorTombstoned(id);
        if (!v.jailed) revert NotJailed(id);
        if (block.number < v.jailedUntil) revert StillJailed(id, v.jailedUntil, uint64(block.number));
        uint256 self = _valueOf(id, msg.sender);
        if (self < params.minSelfStake) revert StakeTooLow(self, params.minSelfStake);
        v.jailed = false;
        emit Unjailed(id);
    }

    // ------------------------------------------------------------------ delegators

    /// @notice Delegates `msg.value` to validator `id` (an operator adds self-stake this way).
    /// @param id the validator
    function delegate(uint64 id) external payable nonReentrant {
        _known(id);
        if (validators[id].tombstoned) revert ValidatorTombstoned(id);
        if (msg.value < params.minDelegation) revert StakeTooLow(msg.value, params.minDelegation);
        _mint(id, msg.sender, msg.value);
    }

    /// @notice Starts unbonding `amount` wei of the caller's delegation to `id` (all of it
    /// with `type(uint256).max`); withdraw it with `withdraw` after `unbondingEpochs` epochs.
    /// @param id the validator
    /// @param amount wei to undelegate
    /// @return unbondingId the new unbonding entry
    function undelegate(uint64 id, uint256 amount) external nonReentrant returns (uint256 unbondingId) {
        uint256 paid = _burnShares(id, msg.sender, amount);
        uint64 releaseAt = uint64(block.number) + params.unbondingEpochs * params.epochLength;
        unbondingId = unbondings.length;
        unbondings.push(Unbonding(msg.sender, id, uint64(block.number), releaseAt, paid));
        unbondingsOf[msg.sender].push(unbondingId);
        unbondingsFrom[id].push(unbondingId);
        totalUnbonding += paid;
        emit Undelegated(id, msg.sender, paid, unbondingId, releaseAt);
    }

    /// @notice Moves `amount` wei (all with `type(uint256).max`) of the caller's delegation from
    /// `src` to `dst` at once. The moved stake stays slashable for `src`'s earlier faults for the
    /// unbonding period.
    /// @param src the validator delegated to now
    /// @param dst the validator to delegate to
    /// @param amount wei to move
    function redelegate(uint64 src, uint64 dst, uint256 amount) external nonReentrant {
        if (src == dst) revert SameValidator(src);
        _known(dst);
        if (validators[dst].tombstoned) revert ValidatorTombstoned(dst);
        uint256 moved = _burnShares(src, msg.sender, amount);
        if (moved < params.minDelegation) revert StakeTooLow(moved, params.minDelegation);
        _mint(dst, msg.sender, moved);
        uint64 releaseAt = uint64(block.number) + params.unbondingEpochs * params.epochLength;
        redelegationsFrom[src].push(redelegations.length);
        redelegations.push(Redelegation(msg.sender, src, dst, uint64(block.number), releaseAt, moved));
        emit Redelegated(src, dst, msg.sender, moved);
    }

    /// @notice Pays the caller every unbonding entry that has matured.
    /// @return amount wei paid
    function withdraw() external nonReentrant returns (uint256 amount) {
        uint256[] storage ids = unbondingsOf[msg.sender];
        uint256 i = 0;
        while (i < ids.length) {
            Unbonding storage u = unbondings[ids[i]];
            if (u.releaseAt <= block.number) {
                amount += u.amount;
                u.amount = 0;
                ids[i] = ids[ids.length - 1];
                ids.pop();
            } else {
                i++;
            }
        }
        if (amount == 0) revert ZeroAmount();
        totalUnbonding -= amount;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Pays the caller's rewards from validator `id` (and its commission, if the caller
    /// is the operator).
    /// @param id the validator
    /// @return amount wei paid
    function claimRewards(uint64 id) external nonReentrant returns (uint256 amount) {
        _known(id);
        Delegation storage d = delegations[id][msg.sender];
        _settle(id, d);
        amount = d.owed;
        d.owed = 0;
        Validator storage v = validators[id];
        if (v.operator == msg.sender) {
            amount += v.commission;
            v.commission = 0;
        }
        if (amount == 0) revert ZeroAmount();
        rewardPool -= amount;
        emit RewardsClaimed(id, msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ------------------------------------------------------------------ evidence

    /// @notice Slashes and tombstones the signer of two different votes of the same type for
    /// the same height and round. Anyone may submit; the reporter is paid `reporterRewardBps`
    /// of what is slashed.
    /// @param signer the validator's consensus address
    /// @param a one vote
    /// @param b a conflicting vote
    function submitDoubleSign(address signer, Vote calldata a, Vote calldata b) external nonReentrant {
        if (a.voteType != b.voteType || a.height != b.height || a.round != b.round) {
            revert BadEvidence("votes are not for the same type, height and round");
        }
        if (a.voteType != 1 && a.voteType != 2) revert BadEvidence("unknown vote type");
        if ((a.nil && a.value != 0) || (b.nil && b.value != 0)) revert BadEvidence("nil vote with a value");
        if (a.nil == b.nil && a.value == b.value) revert BadEvidence("the votes are the same");
        _checkEvidenceAge(a.height);
        address ra = _recover(voteHash(a, signer), a.signature);
        address rb = _recover(voteHash(b, signer), b.signature);
        if (ra != signer || rb != signer) revert BadEvidence("a signature is not the signer's");
        _punishEquivocation(signer, a.height);
    }

    /// @notice Slashes and tombstones a proposer that signed two different proposals for the
    /// same height and round. Anyone may submit; the reporter is paid `reporterRewardBps` of
    /// what is slashed.
    /// @param signer the proposer's consensus address
    /// @param a one proposal
    /// @param b a conflicting proposal
    function submitDoubleProposal(address signer, Proposal calldata a, Proposal calldata b)
        external
        nonReentrant
    {
        if (a.height != b.height || a.round != b.round) {
            revert BadEvidence("proposals are not for the same height and round");
        }
        if (a.value == b.value && a.polRound == b.polRound) revert BadEvidence("the proposals are the same");
        _checkEvidenceAge(a.height);
        address ra = _recover(proposalHash(a, signer), a.signature);
        address rb = _recover(proposalHash(b, signer), b.signature);
        if (ra != signer || rb != signer) revert BadEvidence("a signature is not the signer's");
        _punishEquivocation(signer, a.height);
    }

    function _checkEvidenceAge(uint64 height) internal view {
        if (height >= block.number) revert HeightInFuture(height);
        if (block.number - height > params.evidenceMaxAge) {
            revert EvidenceTooOld(height, uint64(block.number), params.evidenceMaxAge);
        }
    }

    /// Slashes, jails for ever and tombstones the validator of `signer` for an equivocation
    /// at `height`, paying the reporter (nothing when the system reports).
    function _punishEquivocation(address signer, uint64 height) internal {
        uint64 id = validatorOfSigner[signer];
        if (id == 0) revert BadEvidence("unknown signer");
        if (!_inSet(epochOf(height), id, signer)) revert BadEvidence("signer not in the set of that height");
        Validator storage v = validators[id];
        if (v.tombstoned) revert ValidatorTombstoned(id);
        uint256 slashed = _slash(id, params.doubleSignSlashBps, height, "double sign");
        v.tombstoned = true;
        v.jailed = true;
        v.jailedUntil = type(uint64).max;
        emit Jailed(id, type(uint64).max, "double sign");
        emit Tombstoned(id);
        uint256 reward = msg.sender == SYSTEM ? 0 : (slashed * params.reporterRewardBps) / BPS;
        totalBurned += slashed - reward;
        _send(msg.sender, reward);
    }

    /// @notice The hash a proposer signs for `proposal` (bttc's proposal-signing format):
    /// keccak256("bttc/proposal/v1" || chainId(8) || height(8) || round(8) || value(32) ||
    /// polRound(8) || proposer(20)).
    /// @param proposal the proposal
    /// @param signer the proposer's consensus address
    /// @return the prehash
    function proposalHash(Proposal calldata proposal, address signer) public view returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                "bttc/proposal/v1",
                uint64(block.chainid),
                proposal.height,
                proposal.round,
                proposal.value,
                proposal.polRound,
                signer
            )
        );
    }

    /// @notice The hash a validator signs for `vote` (bttc's vote-signing format):
    /// keccak256("bttc/vote/v1" || chainId(8) || type(1) || height(8) || round(8) ||
    /// value(32, zero for nil) || isNil(1) || validator(20)).
    /// @param vote the vote
    /// @param signer the validator's consensus address
    /// @return the prehash
    function voteHash(Vote calldata vote, address signer) public view returns (bytes32) {
        return keccak256(
            abi.encodePacked(
                "bttc/vote/v1",
                uint64(block.chainid),
                vote.voteType,
                vote.height,
                vote.round,
                vote.nil ? bytes32(0) : vote.value,
                vote.nil ? uint8(1) : uint8(0),
                signer
            )
        );
    }

    /// @notice The hash a consensus key signs to prove possession for `operator`.
    /// @param operator the operator registering or editing the key
    /// @return the prehash
    function popHash(address operator) public view returns (bytes32) {
        return keccak256(abi.encodePacked("bttc/signer-pop/v1", uint64(block.chainid), address(this), operator));
    }

    // ------------------------------------------------------------------ system

    /// @notice End of every block (system call). Credits the block's base fees and this block's
    /// issuance to the stakers that signed the previous block, tracks liveness (jailing and
    /// slashing validators that miss more than half of the window) and, on an epoch's last
    /// block, elects the next epoch's set. The node credits `fees` to this contract before the
    /// call and the returned `minted` right after it.
    /// @param signedBitmap bit i set: member i of the previous block's set signed its commit
    /// @param fees the block's base fees (gas used x base fee), in wei
    /// @return minted new BTT issued for this block, in wei
    function blockEnd(uint256 signedBitmap, uint256 fees) external onlySystem returns (uint256 minted) {
        uint64 height = uint64(block.number);
        minted = (epochStake[currentEpoch] * params.stakingApyBps) / BPS / params.blocksPerYear;
        totalMinted += minted;
        totalFees += fees;
        rewardPool += fees + minted;
        undistributed += fees + minted;
        if (height >= 2) _rewardAndTrack(height - 1, signedBitmap);
        if (height >= epochStarts[currentEpoch] + params.epochLength - 1) _endEpoch(height);
    }

    /// @notice Replaces the parameters from the next epoch on (governance only).
    /// @param p the new parameters
    function setParams(Params calldata p) external {
        if (msg.sender != GOVERNANCE) revert NotGovernance(msg.sender);
        _checkParams(p);
        pendingParams = p;
        paramsPending = true;
        emit ParamsScheduled();
    }

    // ------------------------------------------------------------------ views

    /// @notice The validator set of `epoch` (elected at the previous epoch's last block).
    /// @param epoch the epoch
    /// @return members in set order: power descending, then signer address ascending
    function epochSet(uint64 epoch) external view returns (MemberInfo[] memory members) {
        Member[] storage s = sets[epoch];
        members = new MemberInfo[](s.length);
        for (uint256 i = 0; i < s.length; i++) {
            members[i] = MemberInfo(s[i].id, s[i].power, s[i].signer, validators[s[i].id].operator, signerKeys[s[i].signer]);
        }
    }

    /// @notice The epoch that contains `height`.
    /// @param height a block number, at most the current epoch's last block
    /// @return epoch the epoch
    function epochOf(uint64 height) public view returns (uint64 epoch) {
        uint256 lo = 0;
        uint256 hi = epochStarts.length - 1;
        while (lo < hi) {
            uint256 mid = (lo + hi + 1) / 2;
            if (epochStarts[mid] <= height) lo = mid;
            else hi = mid - 1;
        }
        return uint64(lo);
    }

    /// @notice The first block of `epoch`.
    /// @param epoch the epoch, at most `currentEpoch`
    /// @return the block number
    function epochStart(uint64 epoch) external view returns (uint64) {
        return epochStarts[epoch];
    }

    /// @notice Validator `id`.
    /// @param id the validator
    /// @return the validator's record
    function getValidator(uint64 id) external view returns (Validator memory) {
        _known(id);
        return validators[id];
    }

    /// @notice The stake behind validator `id`'s shares (its pool), in wei.
    /// @param id the validator
    /// @return the stake
    function stakeOf(uint64 id) external view returns (uint256) {
        return validators[id].stake;
    }

    /// @notice The consensus public key registered for `signer`.
    /// @param signer a consensus address
    /// @return the 64-byte key
    function signerKey(address signer) external view returns (bytes memory) {
        return signerKeys[signer];
    }

    /// @notice A delegation: its shares, its value now and its claimable rewards.
    /// @param id the validator
    /// @param delegator the delegator
    /// @return shares the delegation's shares
    /// @return value wei the shares are worth
    /// @return rewards claimable rewards in wei (commission not included)
    function delegation(uint64 id, address delegator)
        external
        view
        returns (uint256 shares, uint256 value, uint256 rewards)
    {
        Delegation storage d = delegations[id][delegator];
        shares = d.shares;
        value = _valueOf(id, delegator);
        rewards = d.owed + (d.shares * validators[id].acc - d.debt) / ACC;
    }

    /// @notice `delegator`'s unbonding entries that are not withdrawn yet.
    /// @param delegator the delegator
    /// @return entries the entries
    function unbondingOf(address delegator) external view returns (Unbonding[] memory entries) {
        uint256[] storage ids = unbondingsOf[delegator];
        entries = new Unbonding[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            entries[i] = unbondings[ids[i]];
        }
    }

    /// @notice Which bits of the liveness window validator `id` missed, and how many.
    /// @param id the validator
    /// @return missed blocks missed in the current window
    /// @return window the window size
    function liveness(uint64 id) external view returns (uint64 missed, uint64 window) {
        Validator storage v = validators[id];
        return (v.window == params.signedBlocksWindow ? v.missed : 0, params.signedBlocksWindow);
    }

    /// @notice What the contract owes: bonded and unbonding stake and unpaid rewards. Its
    /// balance is never below this.
    /// @return the sum in wei
    function liabilities() external view returns (uint256) {
        return totalBonded + totalUnbonding + rewardPool;
    }

    /// @notice The parameters that take effect at the next epoch, if governance changed them.
    /// @return pending whether a change is scheduled
    /// @return p the scheduled parameters
    function scheduledParams() external view returns (bool pending, Params memory p) {
        return (paramsPending, pendingParams);
    }

    // ------------------------------------------------------------------ internals

    function _checkParams(Params memory p) internal pure {
        if (p.epochLength == 0) revert BadParams("epochLength is 0");
        if (p.maxValidators == 0 || p.maxValidators > MAX_SET) revert BadParams("maxValidators not in 1..256");
        if (p.minValidators == 0 || p.minValidators > p.maxValidators) revert BadParams("minValidators not in 1..maxValidators");
        if (p.maxCommissionBps > BPS || p.downtimeSlashBps > BPS || p.doubleSignSlashBps > BPS || p.reporterRewardBps > BPS) {
            revert BadParams("a basis-point value is over 10000");
        }
        if (p.blocksPerYear == 0) revert BadParams("blocksPerYear is 0");
        if (p.signedBlocksWindow == 0 || p.signedBlocksWindow > 65536) revert BadParams("signedBlocksWindow not in 1..65536");
        if (p.minDelegation == 0) revert BadParams("minDelegation is 0");
        if (p.minSelfStake < POWER_UNIT) revert BadParams("minSelfStake under 1 BTT");
        if (uint256(p.unbondingEpochs) * p.epochLength <= p.evidenceMaxAge) {
            revert BadParams("unbonding must outlast evidenceMaxAge");
        }
    }

    function _register(address operator, address signer, bytes memory pubkey, uint16 commissionBps)
        internal
        returns (uint64 id)
    {
        if (validatorOfOperator[operator] != 0) revert AlreadyValidator(operator, validatorOfOperator[operator]);
        if (validatorOfSigner[signer] != 0) revert SignerInUse(signer, validatorOfSigner[signer]);
        id = ++validatorCount;
        Validator storage v = validators[id];
        v.operator = operator;
        v.signer = signer;
        v.commissionBps = commissionBps;
        validatorOfOperator[operator] = id;
        validatorOfSigner[signer] = id;
        signerKeys[signer] = pubkey;
    }

    function _signerOf(bytes memory pubkey) internal pure returns (address) {
        if (pubkey.length != 64) revert BadPubkey(pubkey.length);
        return address(uint160(uint256(keccak256(pubkey))));
    }

    function _checkKey(bytes calldata pubkey, bytes calldata proof, address operator) internal view returns (address signer) {
        signer = _signerOf(pubkey);
        if (validatorOfSigner[signer] != 0) revert SignerInUse(signer, validatorOfSigner[signer]);
        address recovered = _recover(popHash(operator), proof);
        if (recovered != signer) revert BadProofOfPossession(recovered, signer);
    }

    function _recover(bytes32 hash, bytes calldata sig) internal pure returns (address) {
        if (sig.length != 65) return address(0);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (v < 27) v += 27;
        return ecrecover(hash, v, r, s);
    }

    function _known(uint64 id) internal view {
        if (id == 0 || id > validatorCount) revert UnknownValidator(id);
    }

    function _operated(address operator) internal view returns (uint64 id) {
        id = validatorOfOperator[operator];
        if (id == 0) revert NotOperator(operator);
    }

    function _valueOf(uint64 id, address delegator) internal view returns (uint256) {
        Validator storage v = validators[id];
        if (v.shares == 0) return 0;
        return (delegations[id][delegator].shares * v.stake) / v.shares;
    }

    /// Moves a delegation's accrued rewards into `owed`.
    function _settle(uint64 id, Delegation storage d) internal {
        uint256 accNow = validators[id].acc;
        uint256 product = d.shares * accNow;
        d.owed += (product - d.debt) / ACC;
        d.debt = product;
    }

    /// Adds `amount` wei of stake for `delegator` to validator `id`, minting shares.
    function _mint(uint64 id, address delegator, uint256 amount) internal {
        Validator storage v = validators[id];
        uint256 shares;
        if (v.shares == 0) {
            shares = amount;
        } else {
            if (v.stake == 0) revert PoolEmptied(id);
            shares = (amount * v.shares) / v.stake;
            if (shares == 0) revert StakeTooLow(amount, (v.stake + v.shares - 1) / v.shares);
        }
        Delegation storage d = delegations[id][delegator];
        _settle(id, d);
        d.shares += shares;
        d.debt = d.shares * v.acc;
        v.shares += shares;
        v.stake += amount;
        totalBonded += amount;
        emit Delegated(id, delegator, amount, shares);
    }

    /// Removes `amount` wei (all with max) of `delegator`'s stake from `id`; returns the wei removed.
    function _burnShares(uint64 id, address delegator, uint256 amount) internal returns (uint256 paid) {
        _known(id);
        Validator storage v = validators[id];
        Delegation storage d = delegations[id][delegator];
        if (d.shares == 0) revert NoShares(id, delegator);
        if (amount == 0) revert ZeroAmount();
        uint256 shares;
        if (amount == type(uint256).max) {
            shares = d.shares;
        } else {
            uint256 value = (d.shares * v.stake) / v.shares;
            if (amount > value) revert AmountTooLarge(amount, value);
            // Round the shares up so that nobody takes out more than they own.
            shares = (amount * v.shares + v.stake - 1) / v.stake;
            if (shares > d.shares) shares = d.shares;
        }
        _settle(id, d);
        paid = (shares * v.stake) / v.shares;
        if (paid == 0) revert ZeroAmount();
        d.shares -= shares;
        d.debt = d.shares * v.acc;
        v.shares -= shares;
        v.stake -= paid;
        totalBonded -= paid;
    }

    function _send(address to, uint256 amount) internal {
        if (amount == 0) return;
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed(to, amount);
    }

    function _inSet(uint64 epoch, uint64 id, address signer) internal view returns (bool) {
        Member[] storage s = sets[epoch];
        for (uint256 i = 0; i < s.length; i++) {
            if (s[i].id == id && s[i].signer == signer) return true;
        }
        return false;
    }

    /// Pays the signers of block `signed` by power and records who missed it.
    function _rewardAndTrack(uint64 signed, uint256 bitmap) internal {
        Member[] storage s = sets[epochOf(signed)];
        uint256 n = s.length;
        if (n < 256 && bitmap >> n != 0) revert BitmapTooWide(n);
        uint256 signedPower = 0;
        for (uint256 i = 0; i < n; i++) {
            Validator storage v = validators[s[i].id];
            if (v.jailed) continue;
            bool did = (bitmap >> i) & 1 == 1;
            if (did) signedPower += s[i].power;
            _track(s[i].id, v, signed, !did);
        }
        if (signedPower == 0) return;
        uint256 pot = undistributed;
        uint256 paid = 0;
        for (uint256 i = 0; i < n; i++) {
            if ((bitmap >> i) & 1 == 0) continue;
            Validator storage v = validators[s[i].id];
            if (v.jailed) continue; // jailed while tracking this block
            uint256 r = (pot * s[i].power) / signedPower;
            if (r == 0) continue;
            paid += r;
            uint256 c = (r * v.commissionBps) / BPS;
            uint256 rest = r - c;
            if (v.shares < POWER_UNIT) {
                // (Nearly) no delegations left: a pool of dust shares would make `acc` grow
                // without bound. The delegators' part goes back to the pot.
                paid -= rest;
            } else {
                uint256 num = rest * ACC + v.carry;
                v.acc += num / v.shares;
                v.carry = num % v.shares;
            }
            v.commission += c;
        }
        undistributed = pot - paid;
    }

    /// Records whether validator `id` missed block `height`; jails it past half the window.
    function _track(uint64 id, Validator storage v, uint64 height, bool missed) internal {
        uint64 w = params.signedBlocksWindow;
        if (v.window != w) {
            _clearWindow(id, v.window);
            v.window = w;
            v.missed = 0;
        }
        uint256 idx = height % w;
        uint256 word = missedBits[id][idx / 256];
        uint256 mask = uint256(1) << (idx % 256);
        bool was = word & mask != 0;
        if (was == missed) return;
        if (missed) {
            missedBits[id][idx / 256] = word | mask;
            v.missed += 1;
        } else {
            missedBits[id][idx / 256] = word & ~mask;
            v.missed -= 1;
        }
        if (v.missed > w / 2) {
            v.jailed = true;
            v.jailedUntil = uint64(block.number) + params.downtimeJailBlocks;
            _clearWindow(id, w);
            v.missed = 0;
            emit Jailed(id, v.jailedUntil, "downtime");
            totalBurned += _slash(id, params.downtimeSlashBps, height, "downtime");
        }
    }

    function _clearWindow(uint64 id, uint64 w) internal {
        for (uint256 i = 0; i * 256 < w; i++) {
            delete missedBits[id][i];
        }
    }

    /// Slashes `bps` of validator `id`'s stake, and of the stake that left it (unbonding or
    /// redelegated) after `infraction`. Returns the wei taken; the caller
    /// pays the reporter from it and counts the rest as burned.
    function _slash(uint64 id, uint16 bps, uint64 infraction, string memory reason) internal returns (uint256 total) {
        Validator storage v = validators[id];
        uint256 fromPool = (v.stake * bps) / BPS;
        v.stake -= fromPool;
        totalBonded -= fromPool;
        total = fromPool;
        uint256[] storage ub = unbondingsFrom[id];
        for (uint256 i = ub.length; i > 0; i--) {
            Unbonding storage u = unbondings[ub[i - 1]];
            if (u.createdAt <= infraction) break;
            uint256 cut = (u.amount * bps) / BPS;
            u.amount -= cut;
            totalUnbonding -= cut;
            total += cut;
        }
        uint256[] storage rd = redelegationsFrom[id];
        for (uint256 i = rd.length; i > 0; i--) {
            Redelegation storage r = redelegations[rd[i - 1]];
            if (r.createdAt <= infraction) break;
            if (r.releaseAt <= block.number) continue;
            total += _slashRedelegation(r, bps);
        }
        emit Slashed(id, total, bps, infraction, reason);
    }

    function _slashRedelegation(Redelegation storage r, uint16 bps) internal returns (uint256 taken) {
        Validator storage dst = validators[r.dst];
        Delegation storage d = delegations[r.dst][r.delegator];
        if (d.shares == 0 || dst.stake == 0) return 0;
        uint256 want = (r.amount * bps) / BPS;
        uint256 shares = (want * dst.shares + dst.stake - 1) / dst.stake;
        if (shares > d.shares) shares = d.shares;
        _settle(r.dst, d);
        taken = (shares * dst.stake) / dst.shares;
        d.shares -= shares;
        d.debt = d.shares * dst.acc;
        dst.shares -= shares;
        dst.stake -= taken;
        totalBonded -= taken;
    }

    function _endEpoch(uint64 height) internal {
        uint64 next = currentEpoch + 1;
        if (paramsPending) {
            params = pendingParams;
            paramsPending = false;
            emit ParamsApplied(next);
        }
        uint256 n = validatorCount;
        for (uint64 id = 1; id <= n; id++) {
            Validator storage v = validators[id];
            if (v.pendingSigner != address(0)) {
                emit SignerChanged(id, v.signer, v.pendingSigner);
                v.signer = v.pendingSigner;
                v.pendingSigner = address(0);
            }
        }
        uint256 stake = _elect(next);
        if (sets[next].length < params.minValidators) {
            emit ElectionKeptPreviousSet(next, sets[next].length);
            delete sets[next];
            Member[] storage prev = sets[currentEpoch];
            stake = epochStake[currentEpoch];
            for (uint256 i = 0; i < prev.length; i++) {
                sets[next].push(prev[i]);
            }
        }
        epochStake[next] = stake;
        currentEpoch = next;
        epochStarts.push(height + 1);
        emit EpochStarted(next, height + 1, sets[next].length, stake);
    }

    /// Elects the top `maxValidators` eligible validators into `sets[epoch]`; returns their stake.
    function _elect(uint64 epoch) internal returns (uint256 stake) {
        uint256 cap = params.maxValidators;
        Member[] memory top = new Member[](cap);
        uint256 count = 0;
        uint256 n = validatorCount;
        for (uint64 id = 1; id <= n; id++) {
            Validator storage v = validators[id];
            if (v.jailed || v.tombstoned) continue;
            if (_valueOf(id, v.operator) < params.minSelfStake) continue;
            uint256 p = v.stake / POWER_UNIT;
            if (p == 0) continue;
            Member memory m = Member(id, uint64(p), v.signer);
            if (count == cap && !_before(m, top[cap - 1])) continue;
            uint256 j = count < cap ? count++ : cap - 1;
            while (j > 0 && _before(m, top[j - 1])) {
                top[j] = top[j - 1];
                j--;
            }
            top[j] = m;
        }
        for (uint256 i = 0; i < count; i++) {
            sets[epoch].push(top[i]);
            stake += validators[top[i].id].stake;
        }
    }

    function _before(Member memory a, Member memory b) internal pure returns (bool) {
        return a.power > b.power || (a.power == b.power && a.signer < b.signer);
    }
}
