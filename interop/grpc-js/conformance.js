// @grpc/grpc-js (npm), a gRPC client we did not write, against the server as users run it.
//
// Every RPC of the book's service, the error codes the README promises, a deadline, a
// cancellation, health, reflection, and gzip both ways. Each check prints one line; the
// exit status is the number of failures (0: all passed).
//
// Usage: node conformance.js HOST:PORT [COMPRESSING_HOST:PORT]
//   HOST:PORT              a fresh server holding the book's orders (102 to 106)
//   COMPRESSING_HOST:PORT  one started with --compress-responses, for gzipped answers
// The packages come from NODE_PATH (scripts/interop.sh installs them).

"use strict";

const path = require("path");
const http = require("http");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [target, compressingTarget] = process.argv.slice(2);
const here = __dirname;
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const load = (file, dirs) => grpc.loadPackageDefinition(protoLoader.loadSync(file, { ...options, includeDirs: dirs }));
const ecommerce = load("order_management.proto", [path.join(here, "../../proto")]).ecommerce;
const health = load("health.proto", [path.join(here, "protos")]).grpc.health.v1;
const reflection = load("reflection.proto", [path.join(here, "protos")]).grpc.reflection.v1;

let failures = 0;
function check(condition, what) {
  console.log((condition ? "ok      " : "FAILED  ") + what);
  if (!condition) failures += 1;
}

const unary = (client, method, request, callOptions = {}) =>
  new Promise((resolve) => {
    const metadata = new grpc.Metadata();
    client[method](request, metadata, callOptions, (error, reply) => resolve({ error, reply }));
  });

const collect = (call) =>
  new Promise((resolve) => {
    const messages = [];
    call.on("data", (message) => messages.push(message));
    call.on("error", (error) => resolve({ messages, error }));
    call.on("end", () => resolve({ messages, error: null }));
  });

const deadlineIn = (ms) => new Date(Date.now() + ms);
const codeName = (error) => (error ? Object.keys(grpc.status).find((name) => grpc.status[name] === error.code) : "OK");

function metrics(address) {
  return new Promise((resolve, reject) => {
    http.get(`http://${address}/metrics`, (response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve(text));
    }).on("error", reject);
  });
}

async function handledBy(address, method, code) {
  const line = (await metrics(address))
    .split("\n")
    .find((l) => l.startsWith("grpc_server_handled_total{") && l.includes(`grpc_method="${method}"`) && l.includes(`grpc_code="${code}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function gauge(address, name) {
  const line = (await metrics(address)).split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function waitFor(what, done) {
  for (let tries = 0; tries < 200; tries += 1) {
    if (await done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  console.log(`(gave up waiting for ${what})`);
  return false;
}

const order = (id, extra = {}) => ({ id, items: ["Node widget"], description: "from grpc-js", price: 12.5, destination: "Node City, NC", ...extra });

async function everyRpc(client) {
  const added = await unary(client, "addOrder", order("js-1"));
  check(!added.error && added.reply.value === "js-1", `addOrder stores an order: ${codeName(added.error)} ${added.reply && added.reply.value}`);
  const again = await unary(client, "addOrder", order("js-1"));
  check(codeName(again.error) === "ALREADY_EXISTS", `addOrder of a taken id: ${codeName(again.error)}`);
  const invalid = await unary(client, "addOrder", order("js-bad", { price: -1 }));
  check(codeName(invalid.error) === "INVALID_ARGUMENT" && /price/.test(invalid.error.details), `addOrder of a negative price: ${codeName(invalid.error)} "${invalid.error && invalid.error.details}"`);

  const got = await unary(client, "getOrder", { value: "js-1" });
  check(!got.error && got.reply.destination === "Node City, NC" && got.reply.items[0] === "Node widget", `getOrder reads it back: ${codeName(got.error)}`);
  const missing = await unary(client, "getOrder", { value: "999" });
  check(codeName(missing.error) === "NOT_FOUND" && /999/.test(missing.error.details), `getOrder of an unknown id: ${codeName(missing.error)} "${missing.error && missing.error.details}"`);

  const found = await collect(client.searchOrders({ value: "google" }));
  const ids = found.messages.map((o) => o.id);
  const allMatch = found.messages.every((o) => o.items.some((item) => item.toLowerCase().includes("google")));
  check(!found.error && ids.includes("102") && allMatch, `searchOrders streams the matches, in id order: ${ids.join(", ")}`);

  // processOrders: the book's batch of three by destination, then the rest on half-close.
  const shipments = client.processOrders();
  const processed = collect(shipments);
  for (const id of ["102", "103", "104", "nope", "105"]) shipments.write({ value: id });
  shipments.end();
  const { messages, error } = await processed;
  const summary = messages.map((s) => (s.status === "Rejected" ? `rejected ${s.rejected_id}` : `${s.destination}: ${s.ordersList.map((o) => o.id).join(" ")}`));
  const expected = ["Mountain View, CA: 102 104", "San Jose, CA: 103", "rejected nope", "San Jose, CA: 105"];
  check(!error && JSON.stringify(summary) === JSON.stringify(expected), `processOrders ships by destination: ${JSON.stringify(summary)}`);

  const current = await Promise.all(["102", "103"].map((id) => unary(client, "getOrder", { value: id })));
  const updated = await new Promise((resolve) => {
    const call = client.updateOrders((err, reply) => resolve({ error: err, reply }));
    for (const { reply } of current) call.write({ ...reply, description: "updated by grpc-js" });
    call.end();
  });
  const stored = await unary(client, "getOrder", { value: "103" });
  check(!updated.error && updated.reply.value === "Updated orders: 102, 103" && stored.reply.description === "updated by grpc-js",
    `updateOrders replaces both: ${codeName(updated.error)} "${updated.reply && updated.reply.value}"`);
  const unknown = await new Promise((resolve) => {
    const call = client.updateOrders((err, reply) => resolve({ error: err, reply }));
    call.write(order("104", { description: "must not stick" }));
    call.write(order("998", { description: "unknown" }));
    call.end();
  });
  const kept = await unary(client, "getOrder", { value: "104" });
  check(codeName(unknown.error) === "NOT_FOUND" && kept.reply.description !== "must not stick", `updateOrders with an unknown id changes nothing: ${codeName(unknown.error)}`);
}

async function limitsDeadlinesAndCancellation(client) {
  const huge = await unary(client, "addOrder", order("js-huge", { description: "x".repeat(5 << 20) }));
  check(codeName(huge.error) === "RESOURCE_EXHAUSTED", `a 5 MB message: ${codeName(huge.error)} "${huge.error && huge.error.details.slice(0, 80)}"`);

  const unimplemented = await new Promise((resolve) => {
    client.makeUnaryRequest("/ecommerce.OrderManagement/noSuchMethod", (x) => x, (x) => x, Buffer.alloc(0), (err) => resolve(err));
  });
  check(codeName(unimplemented) === "UNIMPLEMENTED", `an unknown method: ${codeName(unimplemented)}`);

  // A processOrders that never fills its batch nor half-closes runs into its deadline.
  const waiting = client.processOrders(new grpc.Metadata(), { deadline: deadlineIn(300) });
  const outcome = collect(waiting);
  waiting.write({ value: "102" });
  const timedOut = await outcome;
  check(codeName(timedOut.error) === "DEADLINE_EXCEEDED", `a stream past its deadline: ${codeName(timedOut.error)}`);

  // A processOrders cancelled mid-batch, once the server has it open: the client hears CANCELLED and
  // the server closes the stream. (Node's HTTP/2 ends the request stream before it sends RST_STREAM,
  // so the server may take the cancellation for a half-close and end the call OK first: it cannot tell.)
  const processing = client.processOrders();
  const ended = collect(processing);
  processing.write({ value: "102" });
  await waitFor("the stream to open on the server", async () => (await gauge(target, "ordermgt_process_streams_open")) >= 1);
  processing.cancel();
  const cancelled = (await ended).error;
  const closed = await waitFor("the server to close the stream", async () => (await gauge(target, "ordermgt_process_streams_open")) === 0);
  check(codeName(cancelled) === "CANCELLED" && closed, `a cancelled processOrders: ${codeName(cancelled)}, closed on the server: ${closed}`);
}

async function healthAndReflection() {
  const checker = new health.Health(target, grpc.credentials.createInsecure());
  const serving = await unary(checker, "Check", { service: "ecommerce.OrderManagement" });
  check(!serving.error && serving.reply.status === "SERVING", `health Check: ${serving.reply && serving.reply.status}`);
  const watch = checker.Watch({ service: "no.Such" }, { deadline: deadlineIn(1000) });
  const watched = await collect(watch);
  const statuses = watched.messages.map((m) => m.status);
  check(JSON.stringify(statuses) === '["SERVICE_UNKNOWN"]' && codeName(watched.error) === "DEADLINE_EXCEEDED",
    `health Watch of an unknown service: ${JSON.stringify(statuses)}, open until the deadline (${codeName(watched.error)})`);
  checker.close();

  const reflector = new reflection.ServerReflection(target, grpc.credentials.createInsecure());
  const stream = reflector.ServerReflectionInfo();
  const answers = collect(stream);
  stream.write({ list_services: "" });
  stream.write({ file_containing_symbol: "ecommerce.NoSuch" });
  stream.write({ file_containing_symbol: "ecommerce.OrderManagement" });
  stream.end();
  const { messages, error } = await answers;
  const kinds = messages.map((m) => m.message_response);
  const services = messages[0] && messages[0].list_services_response ? messages[0].list_services_response.service.map((s) => s.name) : [];
  check(!error && JSON.stringify(kinds) === '["list_services_response","error_response","file_descriptor_response"]' && services.includes("ecommerce.OrderManagement"),
    `reflection answers in one stream, an unknown symbol included: ${JSON.stringify(kinds)} (${codeName(error)})`);
  reflector.close();
}

async function compression() {
  const zipping = new ecommerce.OrderManagement(target, grpc.credentials.createInsecure(), { "grpc.default_compression_algorithm": 2 });
  const added = await unary(zipping, "addOrder", order("js-gzip"));
  const read = await unary(zipping, "getOrder", { value: "js-gzip" });
  check(!added.error && !read.error && read.reply.id === "js-gzip", `a gzipped request: ${codeName(added.error)}, read back ${read.reply && read.reply.id}`);
  zipping.close();
  if (!compressingTarget) return;
  // grpc-js hides grpc-encoding once it has inflated a message: node's own HTTP/2 shows the answer is gzipped.
  const encoding = await new Promise((resolve, reject) => {
    const session = require("http2").connect(`http://${compressingTarget}`);
    session.on("error", reject);
    const request = session.request({
      ":method": "POST", ":path": "/ecommerce.OrderManagement/getOrder",
      "content-type": "application/grpc", te: "trailers", "grpc-accept-encoding": "identity,deflate,gzip",
    });
    request.on("response", (headers) => resolve(headers["grpc-encoding"]));
    request.on("data", () => {});
    request.on("end", () => session.close());
    request.end(Buffer.from([0, 0, 0, 0, 5, 0x0a, 0x03, 0x31, 0x30, 0x32])); // StringValue "102"
  });
  const client = new ecommerce.OrderManagement(compressingTarget, grpc.credentials.createInsecure());
  const answer = await unary(client, "getOrder", { value: "102" });
  check(encoding === "gzip" && !answer.error && answer.reply.id === "102",
    `a server with --compress-responses gzips for a client that accepts it (grpc-encoding ${encoding}), and grpc-js reads it: ${answer.reply && answer.reply.id}`);
  client.close();
}

async function main() {
  const client = new ecommerce.OrderManagement(target, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 64 << 20 });
  await everyRpc(client);
  await limitsDeadlinesAndCancellation(client);
  client.close();
  await healthAndReflection();
  await compression();
  console.log(failures ? `grpc-js: ${failures} checks failed` : "grpc-js: every check passed");
  process.exit(failures ? 1 : 0);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
