"""grpcio (PyPI), a gRPC client we did not write, against the server as users run it.

Every RPC of the book's service, the error codes the README promises, a
deadline, a cancellation, and gzip both ways (reflection and health are
reflection_health.py's). Each check prints one line; the exit status is 1 if
any failed.

Usage: conformance.py HOST:PORT COMPRESSING_HOST:PORT   (stubs generated into GENERATED_DIR)
  HOST:PORT              a server holding the book's orders (102 to 106)
  COMPRESSING_HOST:PORT  one started with --compress-responses
"""

import os
import queue
import sys
import time
import urllib.request

sys.path.insert(0, os.environ["GENERATED_DIR"])

import grpc  # noqa: E402
from google.protobuf import wrappers_pb2  # noqa: E402

import order_management_pb2 as pb  # noqa: E402
import order_management_pb2_grpc as rpc  # noqa: E402

failures = []


def check(condition, what):
    print(("ok      " if condition else "FAILED  ") + what)
    if not condition:
        failures.append(what)


def order(order_id, **extra):
    fields = dict(id=order_id, items=["Python widget"], description="from grpcio", price=12.5,
                  destination="Python City, PY")
    fields.update(extra)
    return pb.Order(**fields)


def code_of(call):
    try:
        return "OK", call()
    except grpc.RpcError as error:
        return error.code().name, error


def gauge(address, name):
    text = urllib.request.urlopen(f"http://{address}/metrics").read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def wait_for(done):
    for _ in range(200):
        if done():
            return True
        time.sleep(0.05)
    return False


def every_rpc(stub):
    code, reply = code_of(lambda: stub.addOrder(order("py-1"), timeout=10))
    check(code == "OK" and reply.value == "py-1", f"addOrder stores an order: {code}")
    code, _ = code_of(lambda: stub.addOrder(order("py-1"), timeout=10))
    check(code == "ALREADY_EXISTS", f"addOrder of a taken id: {code}")
    code, error = code_of(lambda: stub.addOrder(order("py-bad", price=float("nan")), timeout=10))
    check(code == "INVALID_ARGUMENT" and "price" in error.details(), f"addOrder of a NaN price: {code}")

    code, read = code_of(lambda: stub.getOrder(wrappers_pb2.StringValue(value="py-1"), timeout=10))
    check(code == "OK" and read == order("py-1"), f"getOrder reads it back: {code}")
    code, error = code_of(lambda: stub.getOrder(wrappers_pb2.StringValue(value="999"), timeout=10))
    check(code == "NOT_FOUND" and "999" in error.details(), f"getOrder of an unknown id: {code}")

    found = list(stub.searchOrders(wrappers_pb2.StringValue(value="mac book"), timeout=10))
    ids = [o.id for o in found]
    matching = all(any("mac book" in item.lower() for item in o.items) for o in found)
    check(ids == sorted(ids) and "102" in ids and matching, f"searchOrders streams the matches in id order: {ids}")

    ids = iter(wrappers_pb2.StringValue(value=i) for i in ["102", "103", "104", "nope", "105"])
    shipments = list(stub.processOrders(ids, timeout=10))
    summary = [f"rejected {s.rejected_id}" if s.status == "Rejected"
               else f"{s.destination}: {' '.join(o.id for o in s.ordersList)}" for s in shipments]
    expected = ["Mountain View, CA: 102 104", "San Jose, CA: 103", "rejected nope", "San Jose, CA: 105"]
    check(summary == expected, f"processOrders ships by destination: {summary}")

    updates = [stub.getOrder(wrappers_pb2.StringValue(value=i), timeout=10) for i in ["102", "103"]]
    for update in updates:
        update.description = "updated by grpcio"
    code, reply = code_of(lambda: stub.updateOrders(iter(updates), timeout=10))
    stored = stub.getOrder(wrappers_pb2.StringValue(value="103"), timeout=10)
    check(code == "OK" and reply.value == "Updated orders: 102, 103" and stored == updates[1],
          f"updateOrders replaces both: {code} {getattr(reply, 'value', reply)!r}")
    code, _ = code_of(lambda: stub.updateOrders(iter([order("104", description="must not stick"), order("998")]),
                                                 timeout=10))
    kept = stub.getOrder(wrappers_pb2.StringValue(value="104"), timeout=10)
    check(code == "NOT_FOUND" and kept.description != "must not stick", f"updateOrders with an unknown id: {code}")


def limits_deadlines_and_cancellation(stub, channel, address):
    code, _ = code_of(lambda: stub.addOrder(order("py-huge", description="x" * (5 << 20)), timeout=10))
    check(code == "RESOURCE_EXHAUSTED", f"a 5 MB message: {code}")
    unknown = channel.unary_unary("/ecommerce.OrderManagement/noSuchMethod")
    code, _ = code_of(lambda: unknown(b"", timeout=10))
    check(code == "UNIMPLEMENTED", f"an unknown method: {code}")

    # A processOrders that never fills its batch nor half-closes runs into its deadline.
    held = queue.Queue()
    held.put(wrappers_pb2.StringValue(value="102"))
    code, _ = code_of(lambda: list(stub.processOrders(iter(held.get, None), timeout=0.3)))
    check(code == "DEADLINE_EXCEEDED", f"a stream past its deadline: {code}")
    held.put(None)  # lets grpcio's sending thread finish

    # Cancelled mid-batch once the server has it open: grpcio resets the stream, and the server closes it.
    ids = queue.Queue()
    ids.put(wrappers_pb2.StringValue(value="102"))
    call = stub.processOrders(iter(ids.get, None))
    opened = wait_for(lambda: gauge(address, "ordermgt_process_streams_open") >= 1)
    call.cancel()
    code, _ = code_of(lambda: list(call))
    closed = wait_for(lambda: gauge(address, "ordermgt_process_streams_open") == 0)
    check(opened and code == "CANCELLED" and closed, f"a cancelled processOrders: {code}, closed on the server: {closed}")
    ids.put(None)


def compression(address, compressing_address):
    with grpc.insecure_channel(address, compression=grpc.Compression.Gzip) as channel:
        stub = rpc.OrderManagementStub(channel)
        code, _ = code_of(lambda: stub.addOrder(order("py-gzip"), timeout=10))
        read = stub.getOrder(wrappers_pb2.StringValue(value="py-gzip"), timeout=10)
        check(code == "OK" and read.id == "py-gzip", f"a gzipped request: {code}")
    with grpc.insecure_channel(compressing_address, compression=grpc.Compression.Gzip) as channel:
        stub = rpc.OrderManagementStub(channel)
        reply, call = stub.getOrder.with_call(wrappers_pb2.StringValue(value="102"), timeout=10)
        encoding = dict(call.initial_metadata()).get("grpc-encoding")
        check(reply.id == "102", f"an answer from --compress-responses reads back (grpc-encoding {encoding})")


def main():
    address, compressing_address = sys.argv[1], sys.argv[2]
    options = [("grpc.max_receive_message_length", 64 << 20), ("grpc.max_send_message_length", 64 << 20)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = rpc.OrderManagementStub(channel)
        every_rpc(stub)
        limits_deadlines_and_cancellation(stub, channel, address)
    compression(address, compressing_address)
    print(f"grpcio: {len(failures)} checks failed" if failures else "grpcio: every check passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
