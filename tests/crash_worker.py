"""A shop process that dies (SIGKILL) in the middle of one payment operation.

    python tests/crash_worker.py DATABASE_URL STATE_FILE MOMENT API OPERATION [ARGS...]

It builds the simple_shop host on the shared database and sandbox state file, wraps the
sandbox transport so that the process kills itself when the request for ``API`` (e.g.
KAASL0010) is ``before`` sent, or ``after`` Yamato's answer arrived and before our commit, then
runs OPERATION through the public payments API. Nothing of our own code is replaced: the crash
is injected in the transport, as a power cut or an OOM kill would strike.

Operations: authorize METHOD_ID [PHONE] | verify_sms PAYMENT_ID CODE | capture PAYMENT_ID SLIP |
change_tracking PAYMENT_ID SLIP | cancel_shipment PAYMENT_ID | cancel PAYMENT_ID |
change_amount PAYMENT_ID TOTAL | reissue_invoice PAYMENT_ID | restart_sms PAYMENT_ID
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from flask_kuroneko import payments  # noqa: E402
from flask_kuroneko.sandbox.adapter import SandboxAdapter  # noqa: E402
from hosts import simple_shop  # noqa: E402


def arm(moment: str, api: str) -> None:
    original = SandboxAdapter.send

    def send(self, request, *args, **kwargs):
        if api in request.url and moment == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        response = original(self, request, *args, **kwargs)
        if api in request.url and moment == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    SandboxAdapter.send = send


def run(operation: str, args: list[str]) -> None:
    if operation == "authorize":
        order = simple_shop.make_order(delivery_method_id=1)
        form = {"sms_phone": args[1]} if len(args) > 1 else None
        simple_shop.kuroneko.start_payment(order, int(args[0]), form)
        return
    pid = int(args[0])
    calls = {
        "verify_sms": lambda: payments.verify_sms(pid, args[1]),
        "restart_sms": lambda: payments.restart_sms(pid),
        "capture": lambda: payments.capture(pid, carrier="クロネコヤマト", tracking_no=args[1]),
        "change_tracking": lambda: payments.change_tracking(pid, args[1]),
        "cancel_shipment": lambda: payments.cancel_shipment(pid),
        "cancel": lambda: payments.cancel(pid),
        "change_amount": lambda: payments.change_amount(pid),
        "reissue_invoice": lambda: payments.reissue_invoice(pid, 1),
    }
    calls[operation]()


def main() -> None:
    database_url, state_file, moment, api, operation, *args = sys.argv[1:]
    app = simple_shop.create_app(database_url, KURONEKO_SANDBOX_STATE=state_file)
    arm(moment, api)
    with app.app_context():
        run(operation, args)
    sys.exit(3)            # the crash did not happen: the test fails on this exit code


if __name__ == "__main__":
    main()
