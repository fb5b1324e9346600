/**
 * The chat template the widget uses for models that ship none (base models
 * such as stories260K). Never silent: the widget shows a notice while it is in
 * use, and `usesFallbackTemplate` on the element says so to scripts. It writes
 * "User: …" / "Assistant: …" lines, and answers stop at the next "User:" so
 * the model does not write the user's turn too. (The app has the same format,
 * src/app/fallback-template.ts; the two should move to src/ui/ together.)
 */
export const FALLBACK_TEMPLATE =
  "{% for message in messages %}{% if message.role == 'system' %}{{ message.content }}\n\n" +
  "{% elif message.role == 'user' %}User: {{ message.content }}\n" +
  "{% else %}Assistant: {{ message.content }}\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

export const FALLBACK_STOP = ['\nUser:'];
