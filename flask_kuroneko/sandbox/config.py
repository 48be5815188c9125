"""Merchant registry of the simulator (spec §6.3).

Every key of §6.3 is a field here; a few extra simulator settings (strict parameter mode,
nameKana length, the shop data KAASD prints) are conventions of ours and say so.
The password is excluded from ``repr`` so a config can be logged safely.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MERCHANT_CODE = "12345678901"
DEFAULT_PASSWORD = "testpass"


@dataclass
class Contracts:
    """Option contracts of one merchant."""
    bundle: bool = False          # 同梱: sendDiv 2, KAASD, billPostCode on KAARR
    smartphone: bool = True       # スマホタイプ: sendDiv 3 + KAASA0020
    sms_validity: bool = False    # sendDiv 4
    amount_change: bool = True    # KAAKK0010


@dataclass
class SmsSettings:
    """SMS code simulation (spec §6.7)."""
    code: str = "1234"            # a 4-digit code, or "derived"
    ttl_seconds: int = 180
    max_attempts: int = 5


@dataclass
class MerchantConfig:
    """One merchant of the registry; defaults are those of spec §6.3."""
    password: str = field(default=DEFAULT_PASSWORD, repr=False)
    usable: bool = True
    contracts: Contracts = field(default_factory=Contracts)
    amount_increase: str = "allow"          # "allow" | "deny"
    credit_limit_per_buyer: int = 55000
    review_delay_seconds: int = 600
    sms: SmsSettings = field(default_factory=SmsSettings)
    notify_url: str | None = None
    auto_advance: bool = False
    error_numbering: str = "w2"             # "w2" | "eccube"
    date_fields: str = "both"               # "both" | "returnDate" | "requestDate"
    # --- simulator conventions beyond §6.3 -------------------------------------------
    strict_params: bool = False             # unknown parameter -> *001E on the short APIs
    name_kana_max: int = 80                 # 80 (field definition) or 40 (error list), §7 #5
    nonexistent_postcodes: tuple[str, ...] = ("0000000", "9999999")
    postcode_file: str | None = None        # KEN_ALL-style CSV: only its codes exist
    shop_name: str = "サンドボックスショップ"
    shop_url: str = "https://shop.example.jp/"
    shop_tel: str = "03-0000-0000"
    shop_email: str = "shop@example.jp"

    def __post_init__(self) -> None:
        if isinstance(self.contracts, dict):
            self.contracts = Contracts(**self.contracts)
        if isinstance(self.sms, dict):
            self.sms = SmsSettings(**self.sms)
        self.nonexistent_postcodes = tuple(self.nonexistent_postcodes)
        self.validate()

    def validate(self) -> None:
        """Refuse settings the simulator cannot honour, naming the fix."""
        if self.amount_increase not in ("allow", "deny"):
            raise ValueError("amount_increase must be 'allow' or 'deny'")
        if self.error_numbering not in ("w2", "eccube"):
            raise ValueError("error_numbering must be 'w2' or 'eccube'")
        if self.date_fields not in ("both", "returnDate", "requestDate"):
            raise ValueError("date_fields must be 'both', 'returnDate' or 'requestDate'")
        code = str(self.sms.code)
        if code != "derived" and not (len(code) == 4 and code.isascii() and code.isdigit()):
            raise ValueError("sms.code must be four digits or 'derived'")
        if self.sms.max_attempts < 1 or self.sms.ttl_seconds < 1:
            raise ValueError("sms.max_attempts and sms.ttl_seconds must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (password included: used only by the store)."""
        data = dataclasses.asdict(self)
        data["nonexistent_postcodes"] = list(self.nonexistent_postcodes)
        return data

    def public_dict(self) -> dict[str, Any]:
        """JSON-able form without the password, for the back-office API and the UI."""
        data = self.to_dict()
        data.pop("password")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MerchantConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def changed(self, **changes: Any) -> MerchantConfig:
        """A copy with ``changes`` applied.

        Nested settings may be given as dicts (``contracts={"bundle": True}``) or dotted
        keys (``**{"sms.ttl_seconds": 60}``) or flat aliases ``contracts_bundle`` / ``sms_code``.
        """
        data = self.to_dict()
        for key, value in changes.items():
            for prefix in ("contracts", "sms"):
                for sep in (".", "_"):
                    if key.startswith(prefix + sep) and key != prefix:
                        data[prefix][key[len(prefix) + 1:]] = value
                        break
                else:
                    continue
                break
            else:
                if key in ("contracts", "sms"):
                    if dataclasses.is_dataclass(value):
                        value = dataclasses.asdict(value)
                    data[key].update(value)
                elif key in data:
                    data[key] = value
                else:
                    raise ValueError(f"unknown merchant setting {key!r}")
        for prefix, klass in (("contracts", Contracts), ("sms", SmsSettings)):
            known = {f.name for f in dataclasses.fields(klass)}
            unknown = set(data[prefix]) - known
            if unknown:
                raise ValueError(f"unknown {prefix} setting(s): {', '.join(sorted(unknown))}")
        return MerchantConfig.from_dict(data)


def load_merchants(path: str) -> dict[str, MerchantConfig]:
    """A merchant registry from a JSON file ``{"12345678901": {"password": ..., ...}}``."""
    import json
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object keyed by merchant code")
    return {str(code): MerchantConfig.from_dict(dict(values)) for code, values in data.items()}

