"""Synthetic real identities for benchmarks and tests: valid, distinct, and nobody's.

Each serial gives a different Resident Identity Card number (region 110105, a birth date and a
sequence number derived from the serial, the check digit computed by python-stdnum), so every
generated account passes the one-account-per-identity rule.
"""

from __future__ import annotations

from datetime import date, timedelta

from stdnum.cn import ric

FIRST_BIRTH_DATE = date(1960, 1, 1)
SEQUENCES_PER_DAY = 1000


def synthetic_identity(serial: int) -> dict[str, str]:
    birth = FIRST_BIRTH_DATE + timedelta(days=serial // SEQUENCES_PER_DAY)
    first17 = f"110105{birth:%Y%m%d}{serial % SEQUENCES_PER_DAY:03d}"
    return {
        "legal_name": "张三",
        "id_type": "cn_ric",
        "id_number": first17 + ric.calc_check_digit(first17 + "X"),
        "phone": f"+86138{serial % 100_000_000:08d}",
    }
