/**
 * @module control/xds/test-grpc-echo
 * Test support for proxyless gRPC tests: tiny echo servers that answer with their own name,
 * a unary call helper, and a poll-until helper (errors count as "not yet").
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';

const ECHO_PATH = '/strata.test.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

/** A gRPC server on 127.0.0.1 whose one method answers with the server's name. */
export async function echoServer(name: string): Promise<{ port: number; server: grpc.Server }> {
  const server = new grpc.Server();
  const method = { path: ECHO_PATH, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity };
  server.addService({ Echo: method } as grpc.ServiceDefinition, {
    Echo: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, server };
}

/** One echo call; resolves with the name of the server that answered. */
export function call(client: grpc.Client, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.from('hi'), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res!.toString()),
    );
  });
}

/** Poll `check` until it holds; a rejected check counts as not yet. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out: ${what}`);
}
