"""processOrders driven by grpcio, the Python gRPC client from PyPI.

grpcio sends each request message in an HTTP/2 DATA frame of its own. This
streams COUNT ids into one processOrders call and checks that every one comes
back shipped and that the call ends OK, two ways:

  while-reading    shipments are read as the ids go out;
  after-windows    nothing is read until the server's windows are full and
                   the sender is held back; only then are shipments read.

A server that closes the connection instead of holding the client back with
flow control (GOAWAY ENHANCE_YOUR_CALM) fails both.

Usage: frame_per_message.py HOST:PORT COUNT   (stubs generated into GENERATED_DIR)
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.environ["GENERATED_DIR"])

import grpc  # noqa: E402
from google.protobuf import wrappers_pb2  # noqa: E402

import order_management_pb2_grpc as rpc  # noqa: E402

BOOK_IDS = ["102", "103", "104", "105", "106"]


def process(stub, count, read_after_windows):
    sent = 0
    done_sending = threading.Event()

    def ids():
        nonlocal sent
        for n in range(count):
            yield wrappers_pb2.StringValue(value=BOOK_IDS[n % len(BOOK_IDS)])
            sent += 1
        done_sending.set()

    started = time.monotonic()
    shipments = stub.processOrders(ids())
    unread_peak = 0
    if read_after_windows:
        # Read nothing until the sender stops advancing: the windows are full.
        last, still_since = -1, time.monotonic()
        while not done_sending.is_set():
            time.sleep(0.05)
            if sent != last:
                last, still_since = sent, time.monotonic()
            elif time.monotonic() - still_since > 1.0:
                break
        unread_peak = sent
    orders = rejections = 0
    for shipment in shipments:
        if shipment.ordersList:
            orders += len(shipment.ordersList)
        else:
            rejections += 1
    seconds = time.monotonic() - started
    return orders, rejections, unread_peak, seconds


def main():
    target, count = sys.argv[1], int(sys.argv[2])
    options = [("grpc.max_receive_message_length", 64 * 1024 * 1024)]
    failures = 0
    for name, read_after in [("while-reading", False), ("after-windows", True)]:
        with grpc.insecure_channel(target, options=options) as channel:
            stub = rpc.OrderManagementStub(channel)
            try:
                orders, rejections, unread, seconds = process(stub, count, read_after)
            except grpc.RpcError as error:
                print(f"grpcio {name}: the call failed: {error.code().name}: {error.details()}")
                failures += 1
                continue
        held = f", {unread} ids sent before the first read" if read_after else ""
        print(f"grpcio {name}: {count} ids in frames of their own, {orders} orders shipped, "
              f"{rejections} rejections{held}, {seconds:.1f} s ({count / seconds:.0f} ids/s)")
        if orders != count or rejections:
            print(f"grpcio {name}: expected {count} orders shipped and no rejections")
            failures += 1
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
