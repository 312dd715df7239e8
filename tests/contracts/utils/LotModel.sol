// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice A plain reference model of ERC-7818 lots (the rules of `loyalty_ledger/expiry.py`),
/// for fuzz and invariant tests to compare `LoyaltyPoints` against: each account holds a list of
/// (expiry epoch, amount) lots, sorted soonest first, the permanent lot (`PERMANENT`) last.
/// @dev Deliberately naive (linear lists, no packing) so that it shares no code or trick with the
/// contract. Every operation either applies completely and returns true, or changes nothing and
/// returns false (where the contract would revert).
contract LotModel {
    uint256 internal constant PERMANENT = type(uint256).max;
    uint256 internal constant LOT_MAX = type(uint64).max;

    /// @dev One account's lots with a non-zero amount, sorted by expiry.
    struct Lot {
        uint256 expiry;
        uint256 amount;
    }

    mapping(address account => Lot[]) internal _lots;

    /// @notice Points of `account` usable in `epoch` (what `balanceOf` must answer).
    function live(address account, uint256 epoch) public view returns (uint256 sum) {
        Lot[] storage lots = _lots[account];
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry > epoch) sum += lots[i].amount;
        }
    }

    /// @notice Points of `account` in lots whose expiry epoch has started by `epoch`.
    function expired(address account, uint256 epoch) public view returns (uint256 sum) {
        Lot[] storage lots = _lots[account];
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry <= epoch) sum += lots[i].amount;
        }
    }

    /// @notice The amount of `account`'s lot `expiry` (0 if none).
    function amountOf(address account, uint256 expiry) public view returns (uint256) {
        Lot[] storage lots = _lots[account];
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry == expiry) return lots[i].amount;
        }
        return 0;
    }

    /// @notice Live expiring lots of `account`, soonest first (what `lotsOf` must answer).
    function liveLots(address account, uint256 epoch)
        external
        view
        returns (uint256[] memory expiries, uint256[] memory amounts)
    {
        Lot[] storage lots = _lots[account];
        uint256 n;
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry > epoch && lots[i].expiry != PERMANENT) ++n;
        }
        expiries = new uint256[](n);
        amounts = new uint256[](n);
        n = 0;
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry > epoch && lots[i].expiry != PERMANENT) {
                expiries[n] = lots[i].expiry;
                amounts[n] = lots[i].amount;
                ++n;
            }
        }
    }

    /// @notice Credits a lot (an issue); false if an expiring lot would pass LOT_MAX.
    function credit(address account, uint256 expiry, uint256 amount) public returns (bool) {
        if (expiry != PERMANENT && amountOf(account, expiry) + amount > LOT_MAX) return false;
        _add(account, expiry, amount);
        return true;
    }

    /// @notice Takes `amount` from `from`'s live lots soonest first, and gives the same lots to
    /// `to` (zero: burn); false if `from` holds less or a lot of `to` would overflow.
    function debit(address from, address to, uint256 amount, uint256 epoch)
        external
        returns (bool)
    {
        if (live(from, epoch) < amount) return false;
        // Plan the parts first (the list is sorted, so the first live lots are the soonest).
        Lot[] storage lots = _lots[from];
        Lot[] memory parts = new Lot[](lots.length);
        uint256 n;
        uint256 left = amount;
        for (uint256 i; i < lots.length && left > 0; ++i) {
            if (lots[i].expiry <= epoch) continue;
            uint256 part = lots[i].amount < left ? lots[i].amount : left;
            parts[n++] = Lot(lots[i].expiry, part);
            left -= part;
        }
        return _apply(from, to, parts, n);
    }

    /// @notice Takes `amount` of lot `expiry` only (`transferAtEpoch`); false as `debit`, or when
    /// the lot has expired.
    function debitAt(address from, address to, uint256 expiry, uint256 amount, uint256 epoch)
        external
        returns (bool)
    {
        if (expiry <= epoch || amountOf(from, expiry) < amount) return false;
        Lot[] memory parts = new Lot[](1);
        parts[0] = Lot(expiry, amount);
        return _apply(from, to, parts, 1);
    }

    function _apply(address from, address to, Lot[] memory parts, uint256 n)
        internal
        returns (bool)
    {
        if (to != address(0) && to != from) {
            for (uint256 i; i < n; ++i) {
                if (
                    parts[i].expiry != PERMANENT
                        && amountOf(to, parts[i].expiry) + parts[i].amount > LOT_MAX
                ) return false;
            }
        }
        for (uint256 i; i < n; ++i) {
            _sub(from, parts[i].expiry, parts[i].amount);
            if (to != address(0)) _add(to, parts[i].expiry, parts[i].amount);
        }
        return true;
    }

    function _add(address account, uint256 expiry, uint256 amount) internal {
        if (amount == 0) return;
        Lot[] storage lots = _lots[account];
        uint256 i;
        while (i < lots.length && lots[i].expiry < expiry) ++i;
        if (i < lots.length && lots[i].expiry == expiry) {
            lots[i].amount += amount;
            return;
        }
        lots.push(Lot(0, 0));
        for (uint256 j = lots.length - 1; j > i; --j) {
            lots[j] = lots[j - 1];
        }
        lots[i] = Lot(expiry, amount);
    }

    function _sub(address account, uint256 expiry, uint256 amount) internal {
        Lot[] storage lots = _lots[account];
        for (uint256 i; i < lots.length; ++i) {
            if (lots[i].expiry != expiry) continue;
            lots[i].amount -= amount;
            if (lots[i].amount == 0) {
                for (uint256 j = i; j + 1 < lots.length; ++j) {
                    lots[j] = lots[j + 1];
                }
                lots.pop();
            }
            return;
        }
        revert("model: no such lot");
    }
}
