"""Reflection and health driven by grpcio's own tools, as people point them at a server.

  reflection   grpcio-reflection's DescriptorPool, with no proto on this side:
               it finds OrderManagement, takes a symbol the server does not know
               for a KeyError (the server answers error_response in the open
               stream, as grpc-go does, not a failed call), and the descriptors
               it fetched make a getOrder call that reads the book's order 102.
  health       grpcio-health-checking: Check says SERVING; a Watch of a service
               the server does not know says SERVICE_UNKNOWN and stays open
               (it ends only at the client's own deadline).

Usage: reflection_health.py HOST:PORT
"""

import sys

import grpc
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

failures = []


def check(condition, what):
    print(("ok      " if condition else "FAILED  ") + what)
    if not condition:
        failures.append(what)


def reflection(channel):
    database = ProtoReflectionDescriptorDatabase(channel)
    check("ecommerce.OrderManagement" in database.get_services(), "reflection lists ecommerce.OrderManagement")
    pool = descriptor_pool.DescriptorPool(database)
    service = pool.FindServiceByName("ecommerce.OrderManagement")
    methods = [method.name for method in service.methods]
    check(methods == ["addOrder", "getOrder", "searchOrders", "updateOrders", "processOrders"],
          f"reflection describes the book's five methods: {methods}")
    try:
        pool.FindMessageTypeByName("ecommerce.NoSuchMessage")
        check(False, "an unknown symbol raises KeyError")
    except KeyError:
        check(True, "an unknown symbol raises KeyError (error_response NOT_FOUND in the stream)")
    except grpc.RpcError as error:
        check(False, f"an unknown symbol raises KeyError, not RpcError {error.code().name}: {error.details()}")

    get_order = service.FindMethodByName("getOrder")
    request_class = message_factory.GetMessageClass(get_order.input_type)
    reply_class = message_factory.GetMessageClass(get_order.output_type)
    call = channel.unary_unary(f"/{service.full_name}/{get_order.name}",
                               request_serializer=request_class.SerializeToString,
                               response_deserializer=reply_class.FromString)
    order = call(request_class(value="102"), timeout=10)
    check(order.id == "102" and order.destination == "Mountain View, CA",
          f"getOrder through reflected descriptors reads order 102 ({order.destination})")


def health(channel):
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    check(reply.status == health_pb2.HealthCheckResponse.SERVING, "Check of the server says SERVING")
    try:
        stub.Check(health_pb2.HealthCheckRequest(service="no.SuchService"), timeout=10)
        check(False, "Check of an unknown service fails NOT_FOUND")
    except grpc.RpcError as error:
        check(error.code() == grpc.StatusCode.NOT_FOUND, f"Check of an unknown service fails {error.code().name}")

    watch = stub.Watch(health_pb2.HealthCheckRequest(service="no.SuchService"), timeout=2)
    statuses = []
    try:
        for reply in watch:
            statuses.append(reply.status)
        ended = "OK"
    except grpc.RpcError as error:
        ended = error.code().name
    check(statuses == [health_pb2.HealthCheckResponse.SERVICE_UNKNOWN],
          f"a Watch of an unknown service says SERVICE_UNKNOWN once: {statuses}")
    check(ended == "DEADLINE_EXCEEDED", f"and stays open until the client's deadline (ended {ended})")


def main():
    with grpc.insecure_channel(sys.argv[1]) as channel:
        reflection(channel)
        health(channel)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
