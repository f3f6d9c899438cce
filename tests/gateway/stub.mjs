// A stub of an OpenAI-compatible upstream for the gateway's tests and
// benchmark: it answers at once, records exactly what it received, and
// picks its behaviour from the request's `model`:
//
//   echo            the last user message back as the answer ("ECHO:" + text);
//                   streamed one character per event
//   split:K         streamed as two events cut at character K
//   esplit:K        the same with every non-alphanumeric character written as
//                   a \uXXXX escape in the JSON of the events
//   tool            a tool call whose arguments are {"query": the last user text}
//   canned          a recorded-style stream: role chunk, content in pieces that
//                   cut a placeholder, finish chunk, usage chunk, [DONE]
//   completion      /v1/completions: the prompt back as text
//   leak            an answer with a phone number the caller never sent
//   truncated       a stream that stops without [DONE]
//   badevent        a stream whose second event is not JSON
//   slow            waits 3 s before answering
//   fail            HTTP 500
//   notjson         HTTP 200 with an HTML body
//   reject          HTTP 400 whose error message quotes the prompt
//   nostream        a stream request answered with one JSON document
//   two             n=2: two choices streamed interleaved, one character per
//                   event each, the second answer reversed word by word
//   jitter          echo after a random delay of 0-20 ms (concurrency test)
//   fast            {"choices":[{"message":{"content":"ok"}}]} at once (benchmark)
//   ttft            a stream whose first content event goes out at once and
//                   the rest 20 ms later (benchmark: time to first token)
import http from 'node:http';

function lastUserText(body) {
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return m.content.map((p) => (typeof p === 'string' ? p : p.text || '')).join('');
  }
  if (typeof body.prompt === 'string') return body.prompt;
  return '';
}

function escapeAll(json) {
  // Every character that is not a letter or digit as \uXXXX, inside strings.
  let out = '';
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') { out += c + json[++i]; continue; }
      if (c === '"') { inString = false; out += c; continue; }
      if (/[A-Za-z0-9]/.test(c)) { out += c; continue; }
      out += '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
      continue;
    }
    if (c === '"') inString = true;
    out += c;
  }
  return out;
}

const base = { id: 'chatcmpl-stub', object: 'chat.completion.chunk', created: 1764000000, model: 'stub' };

function chunk(delta, finish = null, index = 0) {
  return { ...base, choices: [{ index, delta, finish_reason: finish }] };
}

export function startStub({ record = true } = {}) {
  const received = [];
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', async () => {
      const raw = Buffer.concat(parts).toString('utf8');
      if (record) received.push({ path: req.url, authorization: req.headers.authorization || '', body: raw });
      let body = {};
      try { body = JSON.parse(raw); } catch { /* answered below */ }
      const model = String(body.model || 'echo');
      const text = lastUserText(body);
      const sse = (events, { done = true, escape = false } = {}) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        let out = '';
        for (const e of events) {
          const j = typeof e === 'string' ? e : JSON.stringify(e);
          out += 'data: ' + (escape ? escapeAll(j) : j) + '\n\n';
        }
        if (done) out += 'data: [DONE]\n\n';
        res.end(out);
      };
      const json = (status, obj) => {
        const s = typeof obj === 'string' ? obj : JSON.stringify(obj);
        res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(s) });
        res.end(s);
      };
      if (model === 'slow') await new Promise((r) => setTimeout(r, 3000));
      if (model === 'jitter') await new Promise((r) => setTimeout(r, Math.random() * 20));
      if (model === 'fail') return json(500, { error: { message: 'upstream exploded', type: 'server_error' } });
      if (model === 'notjson') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return res.end('<html>oops</html>');
      }
      if (model === 'reject') return json(400, { error: { message: 'cannot process: ' + text, type: 'invalid_request_error', param: null, code: 'content_rejected' } });
      if (model === 'nostream') return json(200, { id: 'chatcmpl-stub', object: 'chat.completion', created: 1, model: 'stub', choices: [{ index: 0, message: { role: 'assistant', content: 'ECHO:' + text }, finish_reason: 'stop' }] });
      if (model === 'fast') return json(200, { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] });
      if (req.url === '/v1/embeddings') {
        return json(200, { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'stub', usage: { prompt_tokens: 1, total_tokens: 1 } });
      }
      if (req.url === '/v1/completions') {
        const answer = 'ECHO:' + text;
        if (body.stream) {
          const chars = Array.from(answer);
          return sse(chars.map((c) => ({ id: 'cmpl-stub', object: 'text_completion', created: 1, model: 'stub', choices: [{ index: 0, text: c, finish_reason: null }] }))
            .concat([{ id: 'cmpl-stub', object: 'text_completion', created: 1, model: 'stub', choices: [{ index: 0, text: '', finish_reason: 'stop' }] }]));
        }
        return json(200, { id: 'cmpl-stub', object: 'text_completion', created: 1, model: 'stub', choices: [{ index: 0, text: answer, finish_reason: 'stop' }] });
      }
      let answer = 'ECHO:' + text;
      if (model === 'leak') answer = '请联系客服 13912345678，或发邮件。';
      if (model === 'tool') {
        const args = JSON.stringify({ query: text });
        if (body.stream) {
          const events = [chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '' } }] })];
          for (const c of Array.from(args)) events.push(chunk({ tool_calls: [{ index: 0, function: { arguments: c } }] }));
          events.push(chunk({}, 'tool_calls'));
          return sse(events);
        }
        return json(200, { id: 'chatcmpl-stub', object: 'chat.completion', created: 1, model: 'stub', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: args } }] }, finish_reason: 'tool_calls' }] });
      }
      if (!body.stream) {
        return json(200, { id: 'chatcmpl-stub', object: 'chat.completion', created: 1, model: 'stub', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
      }
      const chars = Array.from(answer);
      if (model.startsWith('split:') || model.startsWith('esplit:')) {
        const k = Number(model.split(':')[1]);
        return sse([chunk({ role: 'assistant', content: '' }), chunk({ content: chars.slice(0, k).join('') }),
          chunk({ content: chars.slice(k).join('') }), chunk({}, 'stop')], { escape: model[0] === 'e' });
      }
      if (model === 'canned') {
        // Cut where real tokenizers cut: inside the placeholder's name and number.
        const parts = answer.split(/(?<=<cn_mob|ile_phone|_1|>)/);
        return sse([chunk({ role: 'assistant', content: '' }), ...parts.map((p) => chunk({ content: p })),
          chunk({}, 'stop'), { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } }]);
      }
      if (model === 'ttft') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        // The first token is a word, as models start ("Hello"), not "ECHO:".
        res.write('data: ' + JSON.stringify(chunk({ role: 'assistant', content: '' })) + '\n\n' +
                  'data: ' + JSON.stringify(chunk({ content: 'Hello' })) + '\n\n');
        setTimeout(() => res.end(chars.map((c) => 'data: ' + JSON.stringify(chunk({ content: c })) + '\n\n').join('') +
          'data: ' + JSON.stringify(chunk({}, 'stop')) + '\n\ndata: [DONE]\n\n'), 20);
        return;
      }
      if (model === 'two') {
        const second = Array.from('TWO:' + text.split(' ').reverse().join(' '));
        const events = [chunk({ role: 'assistant', content: '' }, null, 0), chunk({ role: 'assistant', content: '' }, null, 1)];
        for (let k = 0; k < Math.max(chars.length, second.length); k++) {
          if (k < chars.length) events.push(chunk({ content: chars[k] }, null, 0));
          if (k < second.length) events.push(chunk({ content: second[k] }, null, 1));
        }
        events.push(chunk({}, 'stop', 1), chunk({}, 'stop', 0));
        return sse(events);
      }
      if (model === 'truncated') return sse([chunk({ role: 'assistant', content: '' }), chunk({ content: chars.slice(0, 8).join('') })], { done: false });
      if (model === 'badevent') return sse([chunk({ role: 'assistant', content: '' }), '{"choices": [', chunk({}, 'stop')]);
      return sse([chunk({ role: 'assistant', content: '' }), ...chars.map((c) => chunk({ content: c })), chunk({}, 'stop')]);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ port: server.address().port, received, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) });
    });
  });
}
