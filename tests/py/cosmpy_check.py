"""A Cosmos SDK client nobody here wrote (cosmpy, from PyPI) against a DeAI
node: reads an account and balances, sends tokens with gas estimated by
simulation, waits for the tx and checks the balances moved. Then staking:
cosmpy's query_validators, and where there are bonded validators a
delegation cosmpy signs (delegate_tokens) and the delegator's positions.

    cosmpy_check.py URL CHAIN_ID MNEMONIC RECIPIENT

URL is grpc+http://HOST:PORT or rest+http://HOST:PORT. Prints one JSON line
with what it saw; exits non-zero on the first surprise.

After the delegation, cosmpy's query_staking_summary (which also asks the
distribution module for each delegation's rewards) must agree with
positions(), which makes the summary's staking queries itself, with the
same paging.
"""

import json
import sys
from datetime import timedelta

from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.client.utils import get_paginated
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address
from cosmpy.protos.cosmos.staking.v1beta1.query_pb2 import (
    QueryDelegatorDelegationsRequest,
    QueryDelegatorUnbondingDelegationsRequest,
)

DENOM = "udeai"
AMOUNT = 1234
STAKE = 1_000_000


def positions(client: LedgerClient, address: Address) -> dict:
    """What query_staking_summary reports, less rewards: the tokens
    delegated to and unbonding from each validator, read one delegation
    per page as the summary does."""
    delegated: dict = {}
    req = QueryDelegatorDelegationsRequest(delegator_addr=str(address))
    for resp in get_paginated(req, client.staking.DelegatorDelegations, per_page_limit=1):
        for item in resp.delegation_responses:
            assert item.balance.denom == DENOM, item
            delegated[item.delegation.validator_address] = int(item.balance.amount)
    unbonding: dict = {}
    req = QueryDelegatorUnbondingDelegationsRequest(delegator_addr=str(address))
    for resp in get_paginated(req, client.staking.DelegatorUnbondingDelegations):
        for item in resp.unbonding_responses:
            unbonding[item.validator_address] = sum(int(e.balance) for e in item.entries)
    return {"delegated": delegated, "unbonding": unbonding}


def main() -> None:
    url, chain_id, mnemonic, recipient = sys.argv[1:5]
    cfg = NetworkConfig(
        chain_id=chain_id,
        url=url,
        fee_minimum_gas_price=0.01,
        fee_denomination=DENOM,
        staking_denomination=DENOM,
    )
    client = LedgerClient(cfg, query_interval_secs=1, query_timeout_secs=30)
    wallet = LocalWallet.from_mnemonic(mnemonic, prefix="deai")
    sender = wallet.address()
    to = Address(recipient)

    account = client.query_account(sender)
    assert str(account.address) == str(sender), (account.address, sender)
    before = client.query_bank_balance(sender, DENOM)
    before_to = client.query_bank_balance(to, DENOM)
    all_balances = client.query_bank_all_balances(sender)
    assert any(c.denom == DENOM and int(c.amount) == before for c in all_balances), all_balances
    height = client.query_height()
    assert height > 0, height
    assert client.query_chain_id() == chain_id

    tx = client.send_tokens(to, AMOUNT, DENOM, wallet)
    tx.wait_to_complete(timeout=timedelta(seconds=60), poll_period=timedelta(seconds=1))
    response = tx.response
    assert response is not None and response.is_successful(), response
    after = client.query_bank_balance(sender, DENOM)
    after_to = client.query_bank_balance(to, DENOM)
    assert after_to == before_to + AMOUNT, (before_to, after_to)
    fee = before - AMOUNT - after
    assert 0 < fee < 1_000_000, (before, after)
    after_account = client.query_account(sender)
    assert after_account.sequence == account.sequence + 1, (account, after_account)

    validators = client.query_validators()
    staking = {
        "validators": [
            {
                "address": str(v.address),
                "tokens": v.tokens,
                "moniker": v.moniker,
                "status": v.status.value,
            }
            for v in validators
        ]
    }
    if validators:
        before = positions(client, sender)
        to = validators[0].address
        tx = client.delegate_tokens(to, STAKE, wallet)
        tx.wait_to_complete(timeout=timedelta(seconds=60), poll_period=timedelta(seconds=1))
        assert tx.response is not None and tx.response.is_successful(), tx.response
        after = positions(client, sender)
        want = dict(before["delegated"])
        want[str(to)] = want.get(str(to), 0) + STAKE
        assert after["delegated"] == want, (before, after)
        assert after["unbonding"] == before["unbonding"], (before, after)
        summary = client.query_staking_summary(sender)
        held = {str(p.validator): p.amount for p in summary.current_positions}
        assert held == after["delegated"], (summary, after)
        assert all(p.reward >= 0 for p in summary.current_positions), summary
        staking["total_rewards"] = summary.total_rewards
        staking.update(delegated_to=str(to), **after)
        after_account = client.query_account(sender)

    print(
        json.dumps(
            {
                "url": url,
                "txhash": response.hash,
                "height": response.height,
                "gas_used": response.gas_used,
                "fee": fee,
                "sequence": after_account.sequence,
                **staking,
            }
        )
    )


if __name__ == "__main__":
    main()
