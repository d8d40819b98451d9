"""A Cosmos SDK client nobody here wrote (cosmpy, from PyPI) against a DeAI
node: reads an account and balances, sends tokens with gas estimated by
simulation, waits for the tx and checks the balances moved.

    cosmpy_check.py URL CHAIN_ID MNEMONIC RECIPIENT

URL is grpc+http://HOST:PORT or rest+http://HOST:PORT. Prints one JSON line
with what it saw; exits non-zero on the first surprise.
"""

import json
import sys
from datetime import timedelta

from cosmpy.aerial.client import LedgerClient, NetworkConfig
from cosmpy.aerial.wallet import LocalWallet
from cosmpy.crypto.address import Address

DENOM = "udeai"
AMOUNT = 1234


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
    print(
        json.dumps(
            {
                "url": url,
                "txhash": response.hash,
                "height": response.height,
                "gas_used": response.gas_used,
                "fee": fee,
                "sequence": after_account.sequence,
            }
        )
    )


if __name__ == "__main__":
    main()
