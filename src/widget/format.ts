/** Load progress as words and a fraction, for the widget's progress bar. */
import type { LoadProgress } from '../protocol/api.ts';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.max(1, Math.round(s))} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** 0..1, or undefined when the phase has no measurable size */
export function progressFraction(p: LoadProgress | undefined): number | undefined {
  if (!p || p.totalBytes <= 0) return undefined;
  return Math.min(1, p.loadedBytes / p.totalBytes);
}

export function progressText(p: LoadProgress | undefined): string {
  if (!p) return 'Starting…';
  const of = p.totalBytes > 0 ? `${formatBytes(p.loadedBytes)} of ${formatBytes(p.totalBytes)}` : '';
  switch (p.phase) {
    case 'open':
      return 'Opening the model…';
    case 'download': {
      const rate = p.bytesPerSecond ? ` · ${formatBytes(p.bytesPerSecond)}/s` : '';
      const eta = p.etaSeconds !== undefined && Number.isFinite(p.etaSeconds) ? ` · ${formatSeconds(p.etaSeconds)} left` : '';
      return `Downloading the model (once): ${of}${rate}${eta}`;
    }
    case 'verify':
      return `Checking the download: ${of}`;
    case 'repair':
      return 'Repairing the stored copy of the model…';
    case 'upload':
      return `Moving the model to the GPU: ${of}`;
    case 'compile':
      return 'Preparing the GPU…';
    case 'ready':
      return 'Ready';
  }
}
