/**
 * The plain-text chat template offered for models that ship none (base
 * models such as stories260K), shared by the app and the widget. It is never
 * applied silently: both say so while it is in use (the app lets the user turn
 * it off and marks every answer written through it; the widget shows a notice
 * and exposes `usesFallbackTemplate`). It writes "User: …" / "Assistant: …"
 * lines, and requests stop at the next "User:" so the model does not write the
 * user's turn too.
 */
export const FALLBACK_TEMPLATE =
  "{% for message in messages %}{% if message.role == 'system' %}{{ message.content }}\n\n" +
  "{% elif message.role == 'user' %}User: {{ message.content }}\n" +
  "{% else %}Assistant: {{ message.content }}\n{% endif %}{% endfor %}" +
  '{% if add_generation_prompt %}Assistant:{% endif %}';

export const FALLBACK_STOP = ['\nUser:'];

/** how the template lays out a conversation, for the UI */
export const FALLBACK_EXAMPLE = 'System prompt\n\nUser: Hello!\nAssistant: Hi, how can I help?\nUser: …\nAssistant:';
