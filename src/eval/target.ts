/**
 * Adapters: a loaded model as an `EvalTarget`. In the browser that is the
 * client (`fromClient`), so evaluation goes through exactly the path users
 * get: the worker, the WebGPU engine, its prefix cache. Node tests wrap the
 * CPU reference engine in the same client shape (test/unit/helpers/).
 *
 * A target belongs to the model loaded when it is used: after another
 * `load()`, the same target talks to the new model.
 */
import type { CriaClient } from '../client/index.ts';
import type { EvalTarget, GenerationOutput } from './types.ts';

/**
 * For models without a chat template: plain "User:/Assistant:" turns, a system prompt as a
 * leading paragraph (the same layout the app falls back to). Generation stops at "\nUser:".
 */
export const PLAIN_CHAT_TEMPLATE =
  "{% for message in messages %}{% if message.role == 'system' %}{{ message.content }}\n\n" +
  "{% elif message.role == 'user' %}User: {{ message.content }}\n" +
  "{% else %}Assistant: {{ message.content }}\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';
export const PLAIN_CHAT_STOP = ['\nUser:'];

export interface FromClientOptions {
  /**
   * The chat template used when the model has none: by default PLAIN_CHAT_TEMPLATE with its
   * stop string; `null` uses none (chat then fails with the engine's error, which says so).
   * A request's own `chat_template` always wins.
   */
  fallbackTemplate?: { template: string; stop: string[] } | null;
}

export function fromClient(client: CriaClient, opts: FromClientOptions = {}): EvalTarget {
  const fallback = opts.fallbackTemplate === undefined ? { template: PLAIN_CHAT_TEMPLATE, stop: PLAIN_CHAT_STOP } : opts.fallbackTemplate;
  return {
    modelInfo: () => client.modelInfo(),
    deviceInfo: () => client.deviceInfo(),
    tokenize: (text, o) => client.tokenize(text, o),
    detokenize: (ids) => client.detokenize(ids),
    score: (req, o = {}) => client.score(req, { signal: o.signal }),
    stats: () => client.stats(),
    async chat(req, o = {}): Promise<GenerationOutput> {
      let { chat_template, stop } = req;
      if (chat_template === undefined && fallback && !(await client.modelInfo())?.hasChatTemplate) {
        chat_template = fallback.template;
        stop = [...(stop ?? []), ...fallback.stop];
      }
      const r = await client.chat.completions.create(
        { messages: req.messages, max_tokens: req.max_tokens, temperature: req.temperature, seed: req.seed, stop, chat_template, ...(req.grammar !== undefined ? { grammar: req.grammar } : {}), stream: false },
        { signal: o.signal },
      );
      // eval sends no tools: a text answer (tool_calls cannot come back)
      const f = r.choices[0].finish_reason;
      return { text: r.choices[0].message.content ?? '', finish_reason: f === 'length' ? 'length' : 'stop', usage: r.usage };
    },
    async complete(req, o = {}): Promise<GenerationOutput> {
      const r = await client.completions.create(
        { prompt: req.prompt, max_tokens: req.max_tokens, temperature: req.temperature, seed: req.seed, stop: req.stop, ignore_eos: req.ignore_eos, stream: false },
        { signal: o.signal },
      );
      return { text: r.choices[0].text, finish_reason: r.choices[0].finish_reason, usage: r.usage };
    },
  };
}
