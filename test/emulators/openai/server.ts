import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible chat completions server for tests, built from the documented payloads
 * (POST /v1/chat/completions). Each request is answered by the test's `respond` function, which
 * sees the parsed request and returns the assistant's message content, or an HTTP error.
 */
export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  response_format?: { type: string; json_schema?: { name: string; schema: unknown; strict?: boolean } };
  temperature?: number;
}

export type FakeAnswer = string | { status: number; body?: unknown; headers?: Record<string, string> };

export interface FakeOpenAI {
  readonly baseUrl: string;
  readonly requests: ChatRequest[];
  /** Replaces how requests are answered. */
  respondWith(respond: (request: ChatRequest) => FakeAnswer | Promise<FakeAnswer>): void;
  close(): Promise<void>;
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
}

export async function createFakeOpenAI(initial?: (request: ChatRequest) => FakeAnswer | Promise<FakeAnswer>): Promise<FakeOpenAI> {
  const requests: ChatRequest[] = [];
  let respond = initial ?? (() => '{}');
  let counter = 0;
  const server: Server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      send(404, { error: { message: `Unknown request URL: ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      return;
    }
    if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
      send(401, { error: { message: 'You didn’t provide an API key.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      return;
    }
    readJson(req)
      .then(async (body) => {
        const request = body as ChatRequest;
        requests.push(request);
        const answer = await respond(request);
        if (typeof answer !== 'string') {
          send(answer.status, answer.body ?? { error: { message: `status ${answer.status}`, type: 'server_error' } }, answer.headers);
          return;
        }
        counter += 1;
        send(200, {
          id: `chatcmpl-fake-${counter}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer, refusal: null }, finish_reason: 'stop', logprobs: null }],
          usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
        });
      })
      .catch((error: unknown) => send(400, { error: { message: String(error), type: 'invalid_request_error' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    respondWith(next) {
      respond = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
