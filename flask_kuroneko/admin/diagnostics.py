"""接続テスト and the diagnostics list (M24/M26): what the manual's troubleshooting chapter
asks the merchant to check, answered by the extension itself."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .. import payments
from ..payments import journal
from ..errors import ApiConnectionError, ApiError, AuthenticationError, ConfigurationError
from ..hooks import HOOK_CONTRACTS
from . import common

logger = logging.getLogger(__name__)

#: A リンクキー no real order uses: Yamato answers "not found" (kaast008E) when the merchant
#: code and password are right, an authentication error when they are wrong.
PROBE_ORDER_NO = "0000000000"
ENV_LABELS = {"sandbox": "サンドボックス（オフライン）", "test": "テスト環境", "production": "本番環境"}


@dataclass(frozen=True)
class Check:
    ok: bool
    label: str
    detail: str


def connection_test() -> Check:
    """KAAST0010 for a dummy orderNo with the settings in force."""
    st = common.state()
    env = ENV_LABELS.get(st.environment(), st.environment())
    try:
        st.client().get_status(PROBE_ORDER_NO)
    except AuthenticationError as exc:
        logger.info("connection test: authentication refused (%s)", exc.code)
        return Check(False, "接続テスト", f"{env}：加盟店コードまたはパスワードが正しくありません"
                                        f"（{exc.code}：{exc.message}）。ヤマトとの契約内容を確認してください。")
    except ApiConnectionError as exc:
        logger.info("connection test: no answer (%s)", type(exc).__name__)
        return Check(False, "接続テスト", f"{env}：ヤマトに接続できませんでした。ファイアウォール・"
                                        "プロキシ・SSL証明書の設定を確認してください。")
    except ApiError as exc:
        if exc.code == "kaast008E":
            return Check(True, "接続テスト", f"{env}：接続・認証に成功しました（加盟店コードとパスワードは正しく設定されています）。")
        return Check(False, "接続テスト", f"{env}：ヤマトがエラーを返しました（{exc.code}：{exc.message}）。")
    except ConfigurationError as exc:
        return Check(False, "接続テスト", f"{env}：加盟店コードとパスワードを設定してください。（{exc}）")
    return Check(True, "接続テスト", f"{env}：接続・認証に成功しました。")


def checks(request: Any) -> list[Check]:
    """Static health of the installation (no Yamato call)."""
    st = common.state()
    current = st.settings()
    result = []
    if current.environment == "sandbox":
        result.append(Check(True, "動作環境", "サンドボックス（ヤマトには接続しません）。テスト環境に切り替えて接続テストを行ってください。"))
    else:
        result.append(Check(current.has_credentials, "加盟店コード・パスワード",
                            "設定済みです。" if current.has_credentials else "未設定です。"))
    if current.environment == "production":
        secure = not st.insecure_checkout(request)   # the checkout pages' own rule (M14)
        result.append(Check(secure, "SSL",
                            "https で表示されています。" if secure else
                            "本番環境ではSSL（https）が必須です。サーバーの証明書設定を確認してください。"))
    hooks = st.hooks
    missing = [name for name in HOOK_CONTRACTS if name not in hooks]
    result.append(Check(not missing, "アプリケーションのフック",
                        "すべて登録されています。" if not missing else
                        "未登録: " + ", ".join(f"@kuroneko.{n}" for n in missing)))
    session, models = st.db.session, st.models
    open_ops = session.scalar(sa.select(sa.func.count(models.Operation.id)).where(
        models.Operation.state.in_(journal.OPEN_STATES))) or 0
    result.append(Check(open_ops == 0, "未確定の処理",
                        "ありません。" if not open_ops else
                        f"{open_ops}件あります。「flask kuroneko worker」（ワーカー）が動いているか確認してください。"))
    drift = payments.open_drift_count()
    result.append(Check(drift == 0, "ヤマトとの差異",
                        "ありません。" if not drift else
                        f"{drift}件の決済で当店とヤマトの状況に差異があります（差異一覧で対応してください）。"))
    return result
