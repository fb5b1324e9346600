/**
 * Conversations, kept in the app's own IndexedDB database (`cria-app`,
 * separate from the engine's model cache) so they survive reloads. One
 * record per conversation; conversations are small, so the list reads them
 * whole.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { AnswerFormat } from './answer-format.ts';

export interface AnswerStats {
  promptTokens: number;
  completionTokens: number;
  prefillTokensPerS: number;
  decodeTokensPerS: number;
  timeToFirstTokenMs: number;
}

export interface StoredMessage {
  role: 'user' | 'assistant';
  content: string;
  at: number;
  /** assistant: the model that wrote it */
  model?: string;
  /** assistant: from the last chunk's `usage` */
  stats?: AnswerStats;
  /** assistant: 'stop' (the model finished), 'length' (max tokens reached) */
  finish?: 'stop' | 'length' | 'tool_calls';
  /** assistant: the user stopped it */
  stopped?: boolean;
  /** assistant: the request failed */
  error?: { code: string; message: string };
  /** assistant: written through the plain-text fallback template (the model has none) */
  fallbackTemplate?: boolean;
  /** assistant: asked for JSON (json_object) or JSON under a schema (its name): shown as formatted JSON */
  format?: { kind: 'json' | 'json_schema'; name?: string };
}

export interface Conversation {
  id: string;
  title: string;
  /** the user renamed it: do not retitle from the first message */
  titled?: boolean;
  systemPrompt: string;
  /** the answers' format (absent: plain text, as in conversations stored before there was a choice) */
  answerFormat?: AnswerFormat;
  messages: StoredMessage[];
  createdAt: number;
  updatedAt: number;
}

interface AppDb extends DBSchema {
  conversations: { key: string; value: Conversation; indexes: { 'by-updated': number } };
}

export const APP_DB_NAME = 'cria-app';
let db: Promise<IDBPDatabase<AppDb>> | undefined;

function open(): Promise<IDBPDatabase<AppDb>> {
  db ??= openDB<AppDb>(APP_DB_NAME, 1, {
    upgrade(d) {
      const s = d.createObjectStore('conversations', { keyPath: 'id' });
      s.createIndex('by-updated', 'updatedAt');
    },
  });
  return db;
}

let seq = 0;
export function newConversation(systemPrompt = ''): Conversation {
  const now = Date.now();
  return { id: `c${now.toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`, title: 'New chat', systemPrompt, messages: [], createdAt: now, updatedAt: now };
}

/** a title from the first user message */
export function titleFrom(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 48 ? `${t.slice(0, 47)}…` : t || 'New chat';
}

/** newest first */
export async function listConversations(): Promise<Conversation[]> {
  const all = await (await open()).getAllFromIndex('conversations', 'by-updated');
  return all.reverse();
}

export async function saveConversation(c: Conversation): Promise<void> {
  // structuredClone drops Lit's reactive wrappers and any accidental non-clonable value
  await (await open()).put('conversations', structuredClone(c));
}

export async function deleteConversation(id: string): Promise<void> {
  await (await open()).delete('conversations', id);
}
