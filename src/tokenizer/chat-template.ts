/**
 * Chat templates: the model's Jinja `tokenizer.chat_template`, rendered with
 * @huggingface/jinja and the variables HF transformers passes
 * (`messages`, `add_generation_prompt`, `bos_token`, `eos_token`,
 * `raise_exception`, plus any extras such as `tools`).
 *
 * The rendered prompt already contains the template's BOS text if it writes
 * `{{ bos_token }}`; encode it with `addSpecial: false` and `parseSpecial: true`
 * so that BOS is not added twice and "<|im_start|>" becomes its token.
 */
import { Template } from '@huggingface/jinja';
import { CriaError } from '../shared/errors.ts';

export interface ChatMessage {
  role: string;
  content: string;
  /** Extra fields (tool_calls, name, …) are passed through to the template. */
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** End with the header of an assistant turn, so the model writes the reply. Default true. */
  addGenerationPrompt?: boolean;
  /** More template variables (e.g. `tools`, `date_string`). */
  extra?: Record<string, unknown>;
}

/** Thrown by the template's own `raise_exception(...)`: the conversation breaks the template's rules. */
class TemplateRaised extends Error {}

const cache = new Map<string, Template>();

/**
 * @huggingface/jinja defines its own `raise_exception` (a plain Error) and refuses
 * to redefine globals, so the template's calls are renamed to ours; that is how a
 * deliberate rejection is told apart from a broken template.
 */
const RAISE = 'cria_raise_exception';

function compile(source: string): Template {
  let t = cache.get(source);
  if (!t) {
    try {
      t = new Template(source.replace(/\braise_exception\b/g, RAISE));
    } catch (e) {
      throw new CriaError('bad-file', `the model's chat template cannot be parsed: ${(e as Error).message}. Pass your own template, or format the prompt yourself.`);
    }
    if (cache.size > 16) cache.clear();
    cache.set(source, t);
  }
  return t;
}

export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  tokens: { bos: string; eos: string },
  opts: ChatTemplateOptions = {},
): string {
  const template = compile(source);
  try {
    return template.render({
      ...opts.extra,
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: tokens.bos,
      eos_token: tokens.eos,
      [RAISE]: (message: unknown) => {
        throw new TemplateRaised(String(message));
      },
    });
  } catch (e) {
    if (e instanceof TemplateRaised) {
      throw new CriaError('bad-argument', `the model's chat template rejected the conversation: ${e.message}`, { roles: messages.map((m) => m.role) });
    }
    throw new CriaError('bad-file', `the model's chat template failed while rendering: ${(e as Error).message}. Pass your own template, or format the prompt yourself.`);
  }
}

export function missingTemplateError(): CriaError {
  return new CriaError(
    'missing-key',
    'this model has no chat template (metadata key tokenizer.chat_template). Pass a template in the options, or format the prompt yourself and call encode().',
    { key: 'tokenizer.chat_template' },
  );
}
