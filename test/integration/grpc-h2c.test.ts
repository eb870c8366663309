import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';

const ca = buildCertificate({ commonName: 'berth grpc CA', isCA: true });
const leaf = buildCertificate({
  commonName: 'grpc.test',
  dnsNames: ['grpc.test'],
  issuer: { commonName: 'berth grpc CA', key: ca.key },
});

const toBuffer = (s: string): Buffer => Buffer.from(s);
const fromBuffer = (b: Buffer): string => b.toString();
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/berth.test.Echo/${name}`,
  requestStream,
  responseStream,
  requestSerialize: toBuffer,
  requestDeserialize: fromBuffer,
  responseSerialize: toBuffer,
  responseDeserialize: fromBuffer,
});

/** A gRPC service without .proto files: messages are UTF-8 strings. */
const ECHO = {
  say: method('Say', false, false),
  count: method('Count', false, true),
  chat: method('Chat', true, true),
  fail: method('Fail', false, false),
} satisfies grpc.ServiceDefinition;

interface Done {
  status: grpc.StatusObject;
  messages: string[];
  headers: grpc.Metadata | undefined;
}

describe('gRPC through berth: HTTP/2 over TLS from the client, h2c to the server', { timeout: 60_000 }, () => {
  let berth: BerthProcess;
  let server: grpc.Server;
  let client: grpc.Client;

  before(async () => {
    server = new grpc.Server();
    server.addService(ECHO, {
      say(call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) {
        const headers = new grpc.Metadata();
        headers.set('x-seen-path', String(call.getPath()));
        call.sendMetadata(headers);
        const trailer = new grpc.Metadata();
        trailer.set('x-trailer', 'from-server');
        callback(null, `hello ${call.request} (${String(call.metadata.get('x-client')[0] ?? '')})`, trailer);
      },
      count(call: grpc.ServerWritableStream<string, string>) {
        for (let i = 1; i <= Number(call.request); i++) call.write(`n${i}`);
        call.end();
      },
      chat(call: grpc.ServerDuplexStream<string, string>) {
        call.on('data', (m: string) => call.write(m.toUpperCase()));
        call.on('end', () => call.end());
      },
      fail(_call: grpc.ServerUnaryCall<string, string>, callback: grpc.sendUnaryData<string>) {
        callback({ code: grpc.status.NOT_FOUND, details: 'no such echo' });
      },
    });
    const grpcPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      );
    });

    const dir = tempDir('berth-grpc-');
    writeFileSync(join(dir, 'grpc.crt'), leaf.cert);
    writeFileSync(join(dir, 'grpc.key'), leaf.key);
    writeFileSync(
      join(dir, 'dynamic.yaml'),
      stringify({
        http: {
          routers: { grpc: { rule: 'Host(`grpc.test`)', service: 'echo', entryPoints: ['websecure'], tls: {} } },
          services: { echo: { loadBalancer: { servers: [{ url: `h2c://127.0.0.1:${grpcPort}` }] } } },
        },
        tls: { certificates: [{ certFile: join(dir, 'grpc.crt'), keyFile: join(dir, 'grpc.key') }] },
      }),
    );
    const websecure = await freePort();
    berth = await startBerth({
      dir,
      config: {
        entryPoints: { websecure: { address: `127.0.0.1:${websecure}` } },
        providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      },
    });
    client = new grpc.Client(`127.0.0.1:${websecure}`, grpc.credentials.createSsl(Buffer.from(ca.cert)), {
      'grpc.ssl_target_name_override': 'grpc.test',
      'grpc.default_authority': 'grpc.test',
    });
    // The file provider applies asynchronously: wait until the router answers.
    await waitUntil(
      async () => (await unary('say', 'ready')).status.code === grpc.status.OK,
      'the gRPC route to be served',
    );
  });

  after(async () => {
    client?.close();
    await berth?.stop();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  });

  function unary(name: 'say' | 'fail', request: string, metadata = new grpc.Metadata()): Promise<Done> {
    return new Promise((resolve) => {
      const done: Done = {
        status: { code: grpc.status.UNKNOWN, details: '', metadata: new grpc.Metadata() },
        messages: [],
        headers: undefined,
      };
      const call = client.makeUnaryRequest(ECHO[name].path, toBuffer, fromBuffer, request, metadata, (_err, value) => {
        if (value !== undefined) done.messages.push(value);
      });
      call.on('metadata', (m) => {
        done.headers = m;
      });
      call.on('status', (s) => {
        done.status = s;
        resolve(done);
      });
    });
  }

  test('a unary call: the answer, the server headers and its trailers come through', async () => {
    const md = new grpc.Metadata();
    md.set('x-client', 'berth-test');
    const r = await unary('say', 'world', md);
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    assert.deepEqual(r.messages, ['hello world (berth-test)']);
    assert.deepEqual(r.headers?.get('x-seen-path'), ['/berth.test.Echo/Say']);
    assert.deepEqual(r.status.metadata.get('x-trailer'), ['from-server'], 'the trailers carry the server metadata');
  });

  test('an error status and its message are propagated', async () => {
    const r = await unary('fail', 'x');
    assert.equal(r.status.code, grpc.status.NOT_FOUND);
    assert.equal(r.status.details, 'no such echo');
  });

  test('a server-streaming call delivers every message, then the status', async () => {
    const messages: string[] = [];
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.makeServerStreamRequest(ECHO.count.path, toBuffer, fromBuffer, '200');
      call.on('data', (m: string) => messages.push(m));
      call.on('error', () => undefined);
      call.on('status', resolve);
    });
    assert.equal(status.code, grpc.status.OK, status.details);
    assert.equal(messages.length, 200);
    assert.equal(messages.at(-1), 'n200');
  });

  test('a bidirectional stream: each message answered while the call stays open', async () => {
    const call = client.makeBidiStreamRequest(ECHO.chat.path, toBuffer, fromBuffer);
    const replies: string[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    // Ping-pong: the next message goes only once the previous answer came back through berth.
    for (const word of ['one', 'two', 'three']) {
      const reply = new Promise<string>((resolve) => call.once('data', resolve));
      call.write(word);
      replies.push(await reply);
    }
    call.end();
    assert.deepEqual(replies, ['ONE', 'TWO', 'THREE']);
    assert.equal((await status).code, grpc.status.OK);
  });
});
