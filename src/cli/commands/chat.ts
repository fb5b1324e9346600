/**
 * `cria chat`: an interactive conversation in the terminal, like llama-cli's conversation mode,
 * through the same engine and request path as the app (chat completions with the model's chat
 * template, the engine's sampling defaults). The history is kept and sent whole each turn (the
 * engine reuses the cached prefix, so a turn pays for what is new). Lines starting with "/" are
 * commands: /reset, /system TEXT, /help, /exit. Ctrl-C stops the answer being written (the
 * partial answer stays in the history); at the prompt it quits, as does Ctrl-D.
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CriaError, isCriaError } from '../../shared/errors.ts';
import type { ChatMessage, SamplingRequest } from '../../protocol/api.ts';
import { FALLBACK_STOP, FALLBACK_TEMPLATE } from '../../ui/fallback-template.ts';
import type { Command } from '../command.ts';
import { checkCacheOption, parseThreads, parseEngine, stderrEngineProgress, withEngine } from '../engine.ts';
import { locateModel, numberOption } from '../model-source.ts';
import { SAMPLING_OPTIONS, samplingFlags } from './generate.ts';

const HELP = '/reset forgets the conversation, /system TEXT sets the system prompt (and resets), /exit quits; Ctrl-C stops an answer.';

export const chatCommand: Command = {
  summary: 'talk with the model in the terminal (history, a system prompt, /reset; Ctrl-C stops an answer)',
  usage:
    'cria chat --model MODEL [--system TEXT] [--chat-template FILE] [--max-tokens N] [--temperature T] [--top-k K]\n' +
    '          [--top-p P] [--min-p P] [--repeat-penalty R] [--presence-penalty X] [--frequency-penalty X] [--seed S]\n' +
    '          [--engine webgpu|cpu|reference] [--threads N] [--cache DIR] [--ctx-size N] [--ignore-eos]\n\n' +
    "  Each line you type is a user message; the answer streams back through the model's chat template (or\n" +
    '  --chat-template FILE; a model without one gets a plain "User:/Assistant:" layout, and cria says so).\n' +
    "  Sampling flags default to the engine's own, as in the app. " + HELP + '\n' +
    '  Ctrl-D (end of input) or Ctrl-C at the prompt quits. --ignore-eos writes on through end-of-turn tokens\n' +
    '  up to --max-tokens (for tests and benchmarks).',
  options: {
    model: { type: 'string' },
    cache: { type: 'string' },
    engine: { type: 'string' },
    threads: { type: 'string' },
    'ctx-size': { type: 'string' },
    system: { type: 'string' },
    'chat-template': { type: 'string' },
    'ignore-eos': { type: 'boolean' },
    ...SAMPLING_OPTIONS,
  },
  async run(values) {
    const engineName = parseEngine(values.engine);
    checkCacheOption(engineName, values.cache);
    const threads = parseThreads(values.threads, engineName);
    const location = await locateModel(values.model as string | undefined);
    const sampling: SamplingRequest = { ...samplingFlags(values), ...(values['ignore-eos'] ? { ignore_eos: true } : {}) };
    const nCtx = values['ctx-size'] === undefined ? undefined : numberOption(values, 'ctx-size', 0, { integer: true });
    let template: string | undefined;
    if (values['chat-template'] !== undefined) {
      try {
        template = await readFile(values['chat-template'] as string, 'utf8');
      } catch (e) {
        throw new CriaError('bad-argument', `--chat-template: cannot read ${values['chat-template']}: ${(e as Error).message}`);
      }
    }
    let system = (values.system as string | undefined) ?? '';
    const interactive = !!process.stdin.isTTY;
    /** the answer being written, if any (Ctrl-C stops it) */
    let answering: (() => void) | undefined;

    await withEngine(
      engineName,
      location,
      async (engine) => {
        const info = await engine.load(stderrEngineProgress('loading'), nCtx !== undefined ? { nCtx } : {});
        let stop: string[] | undefined;
        if (template === undefined && !info.hasChatTemplate) {
          template = FALLBACK_TEMPLATE;
          stop = FALLBACK_STOP;
          process.stderr.write(`cria: ${info.id} has no chat template; using a plain "User:/Assistant:" layout (--chat-template FILE to give one)\n`);
        }
        process.stderr.write(`cria: chatting with ${info.id} (${engine.name}, context ${info.nCtx} tokens). ${HELP}\n`);
        const history: ChatMessage[] = [];
        const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
        const ask = () => interactive && rl.prompt();
        rl.setPrompt('> ');
        // a terminal's Ctrl-C arrives here (raw mode), not as a process signal
        rl.on('SIGINT', () => {
          if (answering) answering();
          else rl.close();
        });
        ask();
        for await (const raw of rl) {
          const line = raw.trim();
          if (line === '') {
            ask();
            continue;
          }
          if (line === '/exit' || line === '/quit') break;
          if (line === '/help') {
            process.stderr.write(HELP + '\n');
            ask();
            continue;
          }
          if (line === '/reset' || line.startsWith('/system')) {
            if (line.startsWith('/system')) system = line.slice('/system'.length).trim();
            history.length = 0;
            process.stderr.write(`cria: conversation reset${system ? ` (system prompt: ${JSON.stringify(system)})` : ''}\n`);
            ask();
            continue;
          }
          if (line.startsWith('/')) {
            process.stderr.write(`cria: unknown command ${line.split(/\s/)[0]}; ${HELP}\n`);
            ask();
            continue;
          }
          history.push({ role: 'user', content: raw });
          const messages: ChatMessage[] = system ? [{ role: 'system', content: system }, ...history] : [...history];
          let text = '';
          answering = () => void engine.abort();
          try {
            const r = await engine.chat(
              { messages, ...sampling, ...(stop ? { stop: [...stop] } : {}), ...(template !== undefined ? { chat_template: template } : {}) },
              (t) => {
                text += t;
                process.stdout.write(t);
              },
            );
            history.push({ role: 'assistant', content: r.choices[0].message.content ?? '' });
            process.stdout.write('\n');
            const u = r.usage;
            const end = r.choices[0].finish_reason === 'length' ? `; it reached max_tokens or the end of the context (${u.total_tokens} of ${info.nCtx} tokens)` : '';
            process.stderr.write(`cria: [prompt ${u.prompt_tokens} tokens (${u.prefill_tokens} new), answer ${u.completion_tokens} tokens at ${u.decode_tokens_per_s.toFixed(1)} tok/s${end}]\n`);
          } catch (e) {
            if (isCriaError(e, 'aborted')) {
              history.push({ role: 'assistant', content: text });
              process.stdout.write('\n');
              process.stderr.write('cria: [stopped]\n');
            } else if (isCriaError(e, 'context-overflow')) {
              history.pop();
              process.stderr.write(`cria: the conversation no longer fits the context (${info.nCtx} tokens); /reset to start over\n`);
            } else if (isCriaError(e, 'bad-argument')) {
              history.pop();
              process.stderr.write(`cria: error [${e.code}]: ${e.message}\n`);
            } else throw e;
          } finally {
            answering = undefined;
          }
          ask();
        }
        rl.close();
      },
      {
        cacheDir: values.cache as string | undefined,
        ...(threads !== undefined ? { threads } : {}),
        // a signal (not a terminal's Ctrl-C, which readline takes): stop the answer, or quit at the prompt
        onInterrupt: () => {
          if (answering) {
            answering();
            return 'handled';
          }
          return 'exit';
        },
      },
    );
  },
};
