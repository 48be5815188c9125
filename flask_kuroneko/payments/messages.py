"""Japanese messages of the payment operations, shown to customers (checkout, SMS page) and
recorded in the history (wording: docs/glossary.md — the SMS code is 「認証番号」, as in Yamato's「SMS認証番号判定」)."""
from __future__ import annotations

MSG_DECLINED = ("申し訳ありません。今回のご注文ではクロネコ代金後払いをご利用いただけません。"
                "別のお支払い方法をお選びください。")
MSG_LIMIT = ("ご利用限度額を超えているため、クロネコ代金後払いをご利用いただけません。"
             "別のお支払い方法をお選びください。")
MSG_REVIEW = "ただいま与信審査中です。審査結果はあらためてお知らせします。"
MSG_PENDING = "決済処理中です。結果が確定しましたらお知らせします。"
MSG_UNAVAILABLE = ("ただいまクロネコ代金後払いをご利用いただけません。時間をおいて再度お試しいただくか、"
                   "別のお支払い方法をお選びください。")
MSG_SMS_WRONG = "認証番号が間違っています。"
MSG_SMS_EXPIRED = "認証番号の有効期限が切れています。認証番号を再送信してください。"
MSG_SMS_NOT_DELIVERED = "認証番号の受信に失敗しました。"
MSG_SMS_FAILED = "認証に失敗しました。"
MSG_SMS_FORMAT = "認証番号は4桁の半角数字で入力してください。"
MSG_SMS_TIMEOUT = "30分以内に認証が完了しなかったため、ご注文は決済不可となりました。"
MSG_SMS_BACK = "認証を中止されたため、ご注文は決済不可となりました。"
MSG_SMS_RETRY = "通信エラーが発生しました。もう一度認証番号を入力してください。"
